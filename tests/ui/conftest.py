"""Browser test fixtures: the real production server, one headless Chromium, the page.

The server is what ``make serve`` runs (``python app.py``: gunicorn workers) on a free port of
127.0.0.1, with both shipped models (or $SKETCHBOOK_MODELS, $SKETCHBOOK_MODEL). One Chromium serves the whole
session; every test starts from a fresh load of the drawing page (``testkit.browser``). A
failing test leaves a screenshot and the page source in test-artifacts/ui/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from testkit.browser import ANSWER_TIMEOUT, Sketchbook
from testkit.paths import REPO
from testkit.server import ProductionServer, get

ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1200, 1000)
SERVER_START_TIMEOUT = 90      # seconds: importing TensorFlow and loading the model

DRIVER_KEY = pytest.StashKey[object]()


# --- the server -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def taught_db(tmp_path_factory) -> str:
    """The database the browser tests' server keeps taught drawings in (never the repo's)."""
    return f"sqlite:///{tmp_path_factory.mktemp('taught') / 'feedback.sqlite3'}"


@pytest.fixture(scope="session")
def server_process(taught_db):
    """The production server (``python app.py``, as ``make serve``) starting on a free port
    of 127.0.0.1; ``server`` waits for it. Stopped after the session."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    process = ProductionServer(log_path=ARTIFACTS / "server.log", workers=2,
                               start_timeout=SERVER_START_TIMEOUT,
                               env={"SKETCHBOOK_DB": taught_db,
                                    "SKETCHBOOK_SECRET": "browser-tests",
                                    # /play?seconds= honoured: rounds short enough to test
                                    "SKETCHBOOK_TEST_ROUNDS": "1"})
    try:
        yield process.launch()
    finally:
        process.stop()


@pytest.fixture(scope="session")
def server(server_process):
    """Base URL of the production server once /healthz answers 200 (the models are loaded)."""
    try:
        server_process.wait_until_answers()
    except RuntimeError as error:
        pytest.fail(f"{error}\n(the log: {server_process.log_path})")
    return server_process.url


@pytest.fixture(scope="session")
def health(server) -> dict:
    status, body, _ = get(server + "/healthz")
    assert status == 200
    return json.loads(body)


# --- the browser ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser(request):
    """One headless Chromium for the session (Debian's, never one Selenium Manager fetches)."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail("Chromium is missing: run `make browser` (apt-get install chromium "
                    f"chromium-driver); not found: {', '.join(missing)}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="sketchbook-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = None
    try:
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        driver.set_page_load_timeout(ANSWER_TIMEOUT)
        driver.set_script_timeout(10)
        driver.get("about:blank")
        request.config.stash[DRIVER_KEY] = driver
        yield driver
    finally:
        request.config.stash[DRIVER_KEY] = None
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def sketchbook(server_process, browser, server, health):
    """The drawing page, freshly loaded in a 1200x1000 window, browser logs emptied first.

    (The server starts first so that TensorFlow loads while Chromium starts.)"""
    page = Sketchbook(browser, server, health["classes"])
    browser.set_window_size(*WINDOW)
    browser.get("about:blank")
    page.forget_logs()
    page.open("/")  # a plain visit: draw.js restores a saved drawing only for #keep or Back
    yield page
    browser.set_window_size(*WINDOW)


# --- a screenshot and the page source of every failure ---------------------------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when not in ("setup", "call") or not report.failed:
        return
    driver = item.config.stash.get(DRIVER_KEY, None)
    if driver is None:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_")
    picture, source = ARTIFACTS / f"{name}.png", ARTIFACTS / f"{name}.html"
    try:
        driver.save_screenshot(str(picture))
        source.write_text(f"<!-- {driver.current_url} -->\n{driver.page_source}",
                          encoding="utf-8")
        where = f"screenshot: {picture.resolve()}\npage source: {source.resolve()}"
    except Exception as error:  # the browser itself may be what failed
        where = f"no screenshot: {type(error).__name__}: {error}"
    report.sections.append(("browser", where))
    reporter = item.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\n[ui] {item.nodeid} failed; {where}")
