"""Helpers for the page tests: passwords for demo members, logging in, reading CSRF tokens."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from workflow.base.db import unit_of_work
from workflow.org.members import set_password, user_by_name

PASSWORD = "correct horse battery"


def give_password(engine: Engine, name: str, password: str = PASSWORD) -> None:
    """Set a demo member's password."""
    with unit_of_work(engine) as session:
        set_password(user_by_name(session, name), password)


def csrf_of(html: str) -> str:
    """Return the CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(client: FlaskClient, engine: Engine, name: str) -> None:
    """Give a member a password and log in with it through the form."""
    give_password(engine, name)
    page = client.get("/login")
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 302, response.text


class Browser:
    """One person's browser: a test client with its own cookies, reading the pages in English."""

    def __init__(self, app: Any, engine: Engine | None, name: str | None = None) -> None:
        self.client: FlaskClient = app.test_client()
        # The assertions read English; the language tests ask for the others explicitly.
        self.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        if name:
            assert engine is not None
            log_in(self.client, engine, name)

    def get(self, path: str, **kw: Any) -> Any:
        """GET a page."""
        return self.client.get(path, **kw)

    def post_form(self, page: str, action: str, data: dict[str, Any], **kw: Any) -> Any:
        """Open ``page``, take its CSRF token and post ``data`` to ``action``."""
        token = csrf_of(self.client.get(page).text)
        return self.client.post(action, data={"csrf_token": token, **data}, **kw)
