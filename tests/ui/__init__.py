"""Browser tests: Selenium driving Debian's headless Chromium against the real server."""
