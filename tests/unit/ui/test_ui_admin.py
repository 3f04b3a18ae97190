"""The administrator's pages through Flask's test client: org tree, units, members, subscriptions, policy."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.unit.ui_helpers import PASSWORD, Browser, csrf_of
from workflow.base.db import unit_of_work
from workflow.cases.categories import CATEGORIES
from workflow.clock.policy import current_policy
from workflow.notices.models import Subscription
from workflow.org.models import Unit, User

ADMIN, LEADER, OTHER_LEADER = "xy.admin", "xy01a1.leader", "xy01a2.leader"
NEW_PASSWORD = "a brand new password"


@pytest.fixture
def admin(app: Any, engine: Engine) -> Browser:
    """The demo administrator, reading the pages in English (the messages checked below are English)."""
    browser = Browser(app, engine, ADMIN)
    browser.get("/lang/en")
    return browser


def unit_count(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Unit)) or 0)


def user_row(engine: Engine, name: str) -> tuple[str, str, bool, str | None, str | None, str | None]:
    with unit_of_work(engine) as session:
        user = session.scalars(select(User).where(User.name == name)).one()
        return user.role, user.unit.code, user.active, user.email, user.language, user.password_hash


def member_data(**changes: Any) -> dict[str, Any]:
    """The member form as an administrator would fill it for the other grid leader, with ``changes``."""
    data = {"display_name": "周立新", "role": "grid_leader", "unit": "XY-01-A-2", "phone": "13804761234",
            "email": "", "language": "", "active": "y", "password": "", "again": ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def log_in_with(app: Any, name: str, password: str) -> Any:
    client = app.test_client()
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


# --- who may open the pages -------------------------------------------------------------------

ADMIN_PAGES = ["/admin/org", "/admin/units/XY-01-A-1", "/admin/members/new", f"/admin/members/{LEADER}",
               "/admin/subscriptions", "/admin/subscriptions/1/remove", "/admin/policy", "/admin/audit"]
ADMIN_POSTS = ["/admin/units/XY-01-A-1/rename", "/admin/units/XY-01-A-1/children", "/admin/members/new",
               f"/admin/members/{OTHER_LEADER}", "/admin/subscriptions", "/admin/subscriptions/1/remove"]


def test_admin_starts_at_the_org_tree_and_every_admin_page_opens(admin: Browser) -> None:
    assert admin.get("/").headers["Location"] == "/admin/org"
    for path in ADMIN_PAGES:
        response = admin.get(path)
        assert response.status_code == 200, path
        for link in ("/admin/org", "/admin/members/new", "/admin/subscriptions", "/admin/policy"):
            assert f'href="{link}"' in response.text, (path, link)


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant", "en"])
def test_every_admin_page_opens_in_every_language(admin: Browser, language: str) -> None:
    admin.get(f"/lang/{language}")
    for path in ADMIN_PAGES:
        assert admin.get(path).status_code == 200, (language, path)


def test_a_member_who_is_not_admin_gets_403_on_every_admin_page(app: Any, engine: Engine) -> None:
    leader = Browser(app, engine, LEADER)
    for path in ADMIN_PAGES:
        assert leader.get(path).status_code == 403, path
    token = csrf_of(leader.get("/queue").text)
    for path in ADMIN_POSTS:
        response = leader.client.post(path, data={"csrf_token": token, **member_data(active=None)})
        assert response.status_code == 403, path
    assert user_row(engine, OTHER_LEADER)[2] is True


@pytest.mark.parametrize("path", ADMIN_POSTS)
def test_every_admin_post_without_its_csrf_token_is_refused(admin: Browser, engine: Engine, path: str) -> None:
    before = unit_count(engine)
    response = admin.client.post(path, data={"child-code": "XY-99", "child-name": "x", "rename-name": "x",
                                             **member_data(active=None)})
    assert response.status_code == 400 and "CSRF" in response.text
    assert unit_count(engine) == before and user_row(engine, OTHER_LEADER)[2] is True


# --- the tree and its units -------------------------------------------------------------------

def test_admin_sees_the_tree_with_every_unit_and_its_members(admin: Browser, engine: Engine) -> None:
    page = admin.get("/admin/org").text
    with unit_of_work(engine) as session:
        codes = list(session.scalars(select(Unit.code)))
        names = list(session.scalars(select(User.name)))
    for code in codes:
        assert f'href="/admin/units/{code}"' in page, code
    for name in names:
        assert f'href="/admin/members/{name}"' in page, name
    # Nested: the grid sits inside its branch's list, which sits inside its community's.
    assert page.index("XY-01") < page.index("XY-01-A") < page.index("XY-01-A-1") < page.index("XY-01-A-1-H1")
    assert "李秀英" in page and "xy01a1.leader" in page


def test_add_a_unit_below_another_and_see_it_in_the_tree(admin: Browser, engine: Engine) -> None:
    response = admin.post_form("/admin/units/XY-01-A", "/admin/units/XY-01-A/children",
                               {"child-code": "XY-01-A-9", "child-name": "新楼栋党小组"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/units/XY-01-A-9"
    with unit_of_work(engine) as session:
        unit = session.scalars(select(Unit).where(Unit.code == "XY-01-A-9")).one()
        assert (unit.level, unit.name, unit.parent and unit.parent.code) == ("grid", "新楼栋党小组", "XY-01-A")
    assert "新楼栋党小组" in admin.get("/admin/org").text
    # A grid's children are households.
    response = admin.post_form("/admin/units/XY-01-A-9", "/admin/units/XY-01-A-9/children",
                               {"child-code": "XY-01-A-9-H1", "child-name": "中心户"})
    assert response.status_code == 302
    with unit_of_work(engine) as session:
        assert session.scalars(select(Unit.level).where(Unit.code == "XY-01-A-9-H1")).one() == "household"


def test_a_duplicate_code_is_refused_with_422_naming_the_field_and_nothing_is_stored(
        admin: Browser, engine: Engine) -> None:
    before = unit_count(engine)
    response = admin.post_form("/admin/units/XY-01-A", "/admin/units/XY-01-A/children",
                               {"child-code": "XY-01-B", "child-name": "重复"})
    assert response.status_code == 422
    assert 'id="child-code-error"' in response.text and "exists already" in response.text
    assert unit_count(engine) == before and "重复" not in admin.get("/admin/org").text


def test_a_malformed_code_is_refused(admin: Browser, engine: Engine) -> None:
    before = unit_count(engine)
    response = admin.post_form("/admin/units/XY-01-A", "/admin/units/XY-01-A/children",
                               {"child-code": "no spaces please", "child-name": "x"})
    assert response.status_code == 422 and 'id="child-code-error"' in response.text
    assert unit_count(engine) == before


def test_a_household_gets_no_unit_below_it(admin: Browser, engine: Engine) -> None:
    before = unit_count(engine)
    page = admin.get("/admin/units/XY-01-A-1-H1").text
    assert "child-code" not in page and "A household has no units below it." in page
    response = admin.post_form("/admin/units/XY-01-A-1-H1", "/admin/units/XY-01-A-1-H1/children",
                               {"child-code": "XY-01-A-1-H1-X", "child-name": "x"})
    assert response.status_code == 422 and "household has no units below it" in response.text
    assert unit_count(engine) == before


def test_rename_a_unit(admin: Browser, engine: Engine) -> None:
    response = admin.post_form("/admin/units/XY-01-A-1", "/admin/units/XY-01-A-1/rename",
                               {"rename-name": "一号楼党小组（新）"})
    assert response.status_code == 302
    with unit_of_work(engine) as session:
        assert session.scalars(select(Unit.name).where(Unit.code == "XY-01-A-1")).one() == "一号楼党小组（新）"
    empty = admin.post_form("/admin/units/XY-01-A-1", "/admin/units/XY-01-A-1/rename", {"rename-name": " "})
    assert empty.status_code == 422


def test_a_unit_that_does_not_exist_is_404(admin: Browser) -> None:
    assert admin.get("/admin/units/NOPE").status_code == 404
    assert admin.get("/admin/members/nobody").status_code == 404


# --- members ----------------------------------------------------------------------------------

def test_add_a_member_with_a_password_who_can_then_log_in(admin: Browser, app: Any, engine: Engine) -> None:
    page = admin.get("/admin/members/new?unit=XY-01-A-2").text
    assert '<option selected value="XY-01-A-2">' in page
    data = member_data(name="xy01a2.deputy", display_name="陈晓", password=NEW_PASSWORD, again=NEW_PASSWORD,
                       email="chen@example.org", language="en")
    response = admin.post_form("/admin/members/new", "/admin/members/new", data)
    assert response.status_code == 302, response.text
    role, unit, active, email, language, stored = user_row(engine, "xy01a2.deputy")
    assert (role, unit, active, email, language) == ("grid_leader", "XY-01-A-2", True, "chen@example.org", "en")
    assert stored is not None and stored.startswith("$argon2id$")
    assert "陈晓" in admin.get("/admin/org").text
    login = log_in_with(app, "xy01a2.deputy", NEW_PASSWORD)
    assert login.status_code == 302 and login.headers["Location"] == "/queue"


def test_a_new_member_needs_a_free_name_and_a_long_enough_password(admin: Browser, engine: Engine) -> None:
    taken = admin.post_form("/admin/members/new", "/admin/members/new",
                            member_data(name=LEADER, password=NEW_PASSWORD, again=NEW_PASSWORD))
    assert taken.status_code == 422 and 'id="name-error"' in taken.text and "exists already" in taken.text
    short = admin.post_form("/admin/members/new", "/admin/members/new",
                            member_data(name="someone.new", password="short", again="short"))
    assert short.status_code == 422 and 'id="password-error"' in short.text
    differ = admin.post_form("/admin/members/new", "/admin/members/new",
                             member_data(name="someone.new", password=NEW_PASSWORD, again="something else"))
    assert differ.status_code == 422 and 'id="again-error"' in differ.text
    with unit_of_work(engine) as session:
        assert session.scalars(select(User).where(User.name == "someone.new")).one_or_none() is None


def test_change_a_members_role_and_unit(admin: Browser, engine: Engine) -> None:
    page = admin.get(f"/admin/members/{OTHER_LEADER}").text
    assert '<option selected value="XY-01-A-2">' in page and '<option selected value="grid_leader">' in page
    response = admin.post_form(f"/admin/members/{OTHER_LEADER}", f"/admin/members/{OTHER_LEADER}",
                               member_data(role="branch_secretary", unit="XY-01-B", email="zhou@example.org"))
    assert response.status_code == 302, response.text
    role, unit, active, email, _language, _hash = user_row(engine, OTHER_LEADER)
    assert (role, unit, active, email) == ("branch_secretary", "XY-01-B", True, "zhou@example.org")
    bad = admin.post_form(f"/admin/members/{OTHER_LEADER}", f"/admin/members/{OTHER_LEADER}",
                          member_data(email="not an address"))
    assert bad.status_code == 422 and user_row(engine, OTHER_LEADER)[3] == "zhou@example.org"


def test_a_deactivated_member_is_logged_out_and_cannot_log_in(admin: Browser, app: Any, engine: Engine) -> None:
    leader = Browser(app, engine, LEADER)
    assert leader.get("/queue").status_code == 200
    response = admin.post_form(f"/admin/members/{LEADER}", f"/admin/members/{LEADER}",
                               member_data(display_name="刘明", unit="XY-01-A-1", active=None))
    assert response.status_code == 302, response.text
    assert user_row(engine, LEADER)[2] is False
    after = leader.get("/queue")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    assert log_in_with(app, LEADER, PASSWORD).status_code == 401
    assert "inactive" in admin.get("/admin/org").text


def test_a_new_password_set_by_the_admin_ends_the_members_sessions(admin: Browser, app: Any, engine: Engine) -> None:
    leader = Browser(app, engine, LEADER)
    response = admin.post_form(f"/admin/members/{LEADER}", f"/admin/members/{LEADER}",
                               member_data(display_name="刘明", unit="XY-01-A-1", password=NEW_PASSWORD,
                                           again=NEW_PASSWORD))
    assert response.status_code == 302, response.text
    assert "/login" in leader.get("/queue").headers["Location"]
    assert log_in_with(app, LEADER, NEW_PASSWORD).status_code == 302


def test_an_admin_cannot_deactivate_themselves_or_drop_their_own_admin_role(admin: Browser, engine: Engine) -> None:
    mine = {"display_name": "李秀英", "unit": "XY", "role": "admin"}
    off = admin.post_form(f"/admin/members/{ADMIN}", f"/admin/members/{ADMIN}", member_data(**mine, active=None))
    assert off.status_code == 403 and "cannot deactivate yourself" in off.text
    demoted = admin.post_form(f"/admin/members/{ADMIN}", f"/admin/members/{ADMIN}",
                              member_data(**{**mine, "role": "street_staff"}))
    assert demoted.status_code == 403 and "cannot remove your own administrator role" in demoted.text
    assert user_row(engine, ADMIN)[:3] == ("admin", "XY", True)
    # Still logged in, and other changes to oneself go through.
    ok = admin.post_form(f"/admin/members/{ADMIN}", f"/admin/members/{ADMIN}",
                         member_data(**mine, email="li@example.org"))
    assert ok.status_code == 302 and user_row(engine, ADMIN)[3] == "li@example.org"
    assert admin.get("/admin/org").status_code == 200


def test_an_admin_changing_their_own_password_stays_logged_in(admin: Browser, engine: Engine) -> None:
    mine = member_data(display_name="李秀英", unit="XY", role="admin", password=NEW_PASSWORD, again=NEW_PASSWORD)
    assert admin.post_form(f"/admin/members/{ADMIN}", f"/admin/members/{ADMIN}", mine).status_code == 302
    assert admin.get("/admin/org").status_code == 200


# --- subscriptions ----------------------------------------------------------------------------

ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRETROBOTKEY"


def test_add_and_remove_a_subscription(admin: Browser, engine: Engine) -> None:
    page = admin.get("/admin/subscriptions")
    assert page.status_code == 200 and "case.escalated" in page.text
    response = admin.post_form("/admin/subscriptions", "/admin/subscriptions", {
        "unit": "XY-01", "topics": ["case.escalated", "case.supervised"], "subtree": "y", "categories": ["NOI"],
        "severities": ["P0", "P1"], "channel": "wecom", "target": ROBOT, "secret": "s3cret", "language": ""})
    assert response.status_code == 302, response.text
    with unit_of_work(engine) as session:
        sub = session.scalars(select(Subscription).order_by(Subscription.id.desc())).first()
        assert sub is not None
        sub_id = sub.id
        assert (sub.unit.code, sub.topics, sub.subtree, sub.categories, sub.severities, sub.channel, sub.target,
                sub.secret) == ("XY-01", ["case.escalated", "case.supervised"], True, ["NOI"], ["P0", "P1"],
                                "wecom", ROBOT, "s3cret")
    listing = admin.get("/admin/subscriptions").text
    assert f'id="subscription-{sub_id}"' in listing and "https://qyapi.weixin.qq.com/cgi-bin/webhook/send" in listing
    assert "SECRETROBOTKEY" not in listing and "s3cret" not in listing
    confirm = admin.get(f"/admin/subscriptions/{sub_id}/remove")
    assert confirm.status_code == 200 and "SECRETROBOTKEY" not in confirm.text
    removed = admin.post_form(f"/admin/subscriptions/{sub_id}/remove", f"/admin/subscriptions/{sub_id}/remove", {})
    assert removed.status_code == 302
    with unit_of_work(engine) as session:
        assert session.get(Subscription, sub_id) is None
    assert f'id="subscription-{sub_id}"' not in admin.get("/admin/subscriptions").text


def test_a_subscription_without_the_target_its_channel_needs_is_refused(admin: Browser, engine: Engine) -> None:
    with unit_of_work(engine) as session:
        before = session.scalar(select(func.count()).select_from(Subscription))
    response = admin.post_form("/admin/subscriptions", "/admin/subscriptions",
                               {"unit": "XY-01", "topics": ["*"], "channel": "dingtalk", "target": ""})
    assert response.status_code == 422 and 'id="target-error"' in response.text
    no_topic = admin.post_form("/admin/subscriptions", "/admin/subscriptions", {"unit": "XY-01", "channel": "members"})
    assert no_topic.status_code == 422 and 'id="topics-error"' in no_topic.text
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == before


def test_sms_targets_are_masked_in_the_list(admin: Browser) -> None:
    response = admin.post_form("/admin/subscriptions", "/admin/subscriptions",
                               {"unit": "XY", "topics": ["case.emergency"], "channel": "sms", "target": "13912345678"})
    assert response.status_code == 302, response.text
    listing = admin.get("/admin/subscriptions").text
    assert "139****5678" in listing and "13912345678" not in listing


def test_removing_a_subscription_that_does_not_exist_is_404(admin: Browser) -> None:
    assert admin.get("/admin/subscriptions/9999/remove").status_code == 404


# --- categories and policy --------------------------------------------------------------------

def test_policy_page_lists_every_category_and_the_times_of_each_severity(admin: Browser) -> None:
    page = admin.get("/admin/policy").text
    for code, info in CATEGORIES.items():
        assert f'id="category-{code.value}"' in page and info.en in page, code
    for severity in ("P0", "P1", "P2", "P3"):
        assert f'id="severity-{severity}"' in page
    policy = current_policy()
    for times in policy.spec.severity.values():
        assert times.first_contact.text in page and times.resolve.text in page
    assert "15 minutes" in page and "4 hours" in page and "3 hours" in page  # P0: contact, resolve, warning
    assert policy.digest in page and policy.source in page
