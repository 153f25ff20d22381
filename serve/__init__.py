"""Serving the web app: ``python app.py`` (``cli``) in production with gunicorn's forked
worker processes (``forked``), or with waitress in one process for a model that has no LiteRT
export (``threaded``)."""
