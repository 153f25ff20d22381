"""The web app: pages, API, errors and logs in-process, and the production server."""
