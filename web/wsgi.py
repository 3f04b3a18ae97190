"""The WSGI entry point for gunicorn: ``gunicorn web.wsgi:app``."""

from __future__ import annotations

from web import create_app
from workflow.base import logs

# JSON lines whatever gunicorn's own settings (web/gunicorn_conf.py also routes gunicorn's lines).
logs.configure("web")
app = create_app()
