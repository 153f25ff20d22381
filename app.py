"""Sketchbook: draw an animal, and the model says what it is and how sure it is.

    python app.py [--host 127.0.0.1] [--port 5000] [--workers N] [--debug]

serves it in production (``serve.cli``: gunicorn, one process more than there are CPU cores,
forked from a process that has loaded the model). ``create_app`` (``web``) is the WSGI
application factory for any other server: ``waitress-serve --call app:create_app``,
``gunicorn 'app:create_app()'``.
"""

import sys

from serve.cli import main
from web import create_app

__all__ = ["create_app", "main"]

if __name__ == "__main__":
    sys.exit(main())
