"""The administrator's integrator keys page: a key shown once, listed by its prefix only, revoked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.unit.ui_helpers import Browser, csrf_of
from workflow.base.db import unit_of_work
from workflow.integrators.keys import authenticate

PAGE = "/admin/integrators"


@pytest.fixture
def admin(app: Any, engine: Engine) -> Browser:
    browser = Browser(app, engine, "xy.admin")
    browser.get("/lang/en")
    return browser


def test_admin_makes_a_key_sees_it_once_and_revokes_it(admin: Browser, engine: Engine) -> None:
    made = admin.post_form(PAGE, PAGE, {"name": "hotline", "scopes": ["submit", "webhook"], "rate": "30/minute",
                                        "answer": "realtime", "webhook": "https://hook.example/in"})
    assert made.status_code == 201, made.text
    key = re.search(r'<code class="key">(gck_[^<]+)</code>', made.text)
    assert key and "Webhook HMAC key" in made.text
    with unit_of_work(engine) as session:
        assert authenticate(session, key.group(1)) is not None
    listed = admin.get(PAGE)
    assert "hotline" in listed.text and key.group(1)[:10] in listed.text and key.group(1) not in listed.text
    assert "/integrators/hotline" in listed.text and "30/minute" in listed.text
    confirm = admin.get(f"{PAGE}/hotline/revoke")
    assert confirm.status_code == 200 and "Revoke the key of hotline?" in confirm.text
    done = admin.client.post(f"{PAGE}/hotline/revoke", data={"csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 302
    with unit_of_work(engine) as session:
        assert authenticate(session, key.group(1)) is None
    assert "revoked" in admin.get(PAGE).text


@pytest.mark.parametrize(("data", "says"), [
    ({"name": "x", "rate": "60/minute", "answer": "realtime"}, "Choose at least one."),
    ({"name": "x", "scopes": ["submit"], "rate": "lots", "answer": "realtime"}, "rate &#39;lots&#39;"),
    ({"name": "x", "scopes": ["webhook"], "rate": "60/minute", "answer": "realtime"}, "webhook"),
])
def test_a_bad_key_is_refused_saying_why_and_nothing_is_made(admin: Browser, engine: Engine, data: dict[str, Any],
                                                             says: str) -> None:
    refused = admin.post_form(PAGE, PAGE, data)
    assert refused.status_code in (400, 422) and says in refused.text and "Nothing was saved" in refused.text
    assert 'class="key"' not in refused.text


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant", "en"])
def test_the_page_opens_in_every_language_and_only_for_admins(app: Any, engine: Engine, admin: Browser,
                                                              language: str) -> None:
    admin.get(f"/lang/{language}")
    assert admin.get(PAGE).status_code == 200
    leader = Browser(app, engine, "xy01a1.leader")
    assert leader.get(PAGE).status_code == 403
    assert admin.client.post(PAGE, data={"name": "x", "scopes": ["submit"]}).status_code == 400  # no CSRF token
