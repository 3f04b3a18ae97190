"""The pages through Flask's test client on SQLite: logins, scope, masking, actions, the resident's page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update

from tests.conftest import Published
from tests.unit.helpers import REPORTER_PHONE, run_worker
from tests.unit.ui_helpers import PASSWORD, Browser, csrf_of, give_password
from workflow.base import wallclock
from workflow.base.db import unit_of_work
from workflow.cases.models import Attachment, Case, CaseEvent, Evaluation

LEADER, OTHER_LEADER = "xy01a1.leader", "xy01a2.leader"
BRANCH, GENERAL, STREET = "xy01a.secretary", "xy01.secretary", "xy.street"
GRID = "XY-01-A-1"
OTHER_PHONE = "13987654321"
# The smallest valid PNG: the photo check reads the bytes, not the name.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082")


@pytest.fixture
def leader(app: Any, engine: Engine) -> Browser:
    return Browser(app, engine, LEADER)


def log_case(leader: Browser, engine: Engine, published: Published, **extra: Any) -> int:
    """Log a case through the grid leader's form and let the worker dispatch it; return its id."""
    data = {"category": "NOI", "grid": GRID, "severity": "", "description": "楼上夜间装修噪音",
            "reporter_name": "王小明", "reporter_phone": REPORTER_PHONE, "other_name": "赵大海",
            "other_phone": OTHER_PHONE, **extra}
    response = leader.post_form("/cases/new", "/cases/new", data)
    assert response.status_code == 302, response.text
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    run_worker(engine, published.events)
    return case_id


def act(browser: Browser, case_id: int, trigger: str, **fields: str) -> Any:
    page = browser.get(f"/cases/{case_id}").text
    version = re.search(r'name="expected_version" value="(\d+)"', page)
    data = {**fields, "expected_version": version.group(1) if version else ""}
    return browser.post_form(f"/cases/{case_id}", f"/cases/{case_id}/actions/{trigger}", data)


def steps(engine: Engine, case_id: int) -> list[str]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))


# --- logging in ------------------------------------------------------------------------------

def test_pages_for_staff_send_visitors_to_the_login(client: FlaskClient) -> None:
    for path in ("/queue", "/inbox", "/cases/new", "/cases/1", "/admin/org"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_wrong_password_is_refused_and_right_one_opens_the_queue(client: FlaskClient, engine: Engine) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    give_password(engine, LEADER)
    token = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"name": LEADER, "password": "not the password", "csrf_token": token})
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    right = client.post("/login", data={"name": LEADER, "password": PASSWORD, "csrf_token": token})
    assert right.status_code == 302 and right.headers["Location"] == "/queue"


def test_a_member_without_a_password_cannot_log_in(client: FlaskClient) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"name": LEADER, "password": "anything at all", "csrf_token": token})
    assert response.status_code == 401


def test_login_attempts_are_throttled_per_name(client: FlaskClient, engine: Engine) -> None:
    give_password(engine, LEADER)
    token = csrf_of(client.get("/login").text)
    codes = [client.post("/login", data={"name": LEADER, "password": f"guess {i}", "csrf_token": token}).status_code
             for i in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    # Even the right password waits until the window passes: a guesser learns nothing.
    assert client.post("/login", data={"name": LEADER, "password": PASSWORD, "csrf_token": token}).status_code == 429


def test_stored_password_is_an_argon2id_hash(engine: Engine) -> None:
    give_password(engine, LEADER)
    with unit_of_work(engine) as session:
        from workflow.org.members import user_by_name
        stored = user_by_name(session, LEADER).password_hash
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_party_levels_start_at_their_inbox_and_leaders_at_their_queue(app: Any, engine: Engine) -> None:
    for name, home in ((BRANCH, "/inbox"), (LEADER, "/queue")):
        browser = Browser(app, engine, name)
        assert browser.get("/").headers["Location"] == home


def test_logout_ends_the_session(leader: Browser) -> None:
    response = leader.post_form("/queue", "/logout", {})
    assert response.status_code == 302
    assert "/login" in leader.get("/queue").headers["Location"]


# --- CSRF and headers ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/logout", "/cases/new", "/cases/1/actions/note",
                                  "/cases/1/parties/1/reveal", "/track", "/track/ABCD-EFGH/evaluation",
                                  "/account/language", "/account/password"])
def test_every_form_refuses_a_post_without_its_csrf_token(leader: Browser, path: str) -> None:
    response = leader.client.post(path, data={"message": "x", "name": LEADER, "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.text


def test_a_forged_csrf_token_is_refused(leader: Browser, engine: Engine, published: Published) -> None:
    case_id = log_case(leader, engine, published)
    response = leader.client.post(f"/cases/{case_id}/actions/note", data={"message": "x", "csrf_token": "forged"})
    assert response.status_code == 400
    assert steps(engine, case_id) == ["submitted", "dispatch"]


def test_pages_send_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_load_nothing_from_other_sites(leader: Browser, engine: Engine, published: Published) -> None:
    case_id = log_case(leader, engine, published)
    for path in ("/login", "/queue", "/cases/new", f"/cases/{case_id}", f"/cases/{case_id}/slip", "/track"):
        html = leader.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path
        assert "<script>" not in html and " style=" not in html, path


def test_vendored_assets_are_served(client: FlaskClient) -> None:
    for path in ("/static/vendor/htmx-2.0.11.min.js", "/static/vendor/pico-2.1.1.min.css", "/static/app.js"):
        with client.get(path) as response:
            assert response.status_code == 200, path


# --- the grid leader -------------------------------------------------------------------------

def test_logged_case_is_in_the_leaders_queue_at_once(leader: Browser, engine: Engine, published: Published) -> None:
    response = leader.post_form("/cases/new", "/cases/new", {
        "category": "NEI", "grid": GRID, "severity": "", "description": "邻居占用楼道",
        "reporter_name": "王小明", "reporter_phone": REPORTER_PHONE})
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    # Before any worker runs, the case is there, collected.
    assert f'data-case="{case_id}"' in leader.get("/queue/rows").text
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.severity == "P2" and case.channel == "grid_patrol"


def test_new_case_form_offers_only_the_leaders_own_grid(leader: Browser) -> None:
    html = leader.get("/cases/new").text
    assert 'value="XY-01-A-1"' in html and 'value="XY-01-A-2"' not in html


def test_a_grid_outside_the_leaders_subtree_is_refused(leader: Browser, engine: Engine) -> None:
    response = leader.post_form("/cases/new", "/cases/new", {
        "category": "NEI", "grid": "XY-01-A-2", "description": "x", "severity": ""})
    assert response.status_code == 422 and 'id="grid-error"' in response.text
    with unit_of_work(engine) as session:
        assert session.scalars(select(Case)).first() is None


def test_missing_description_is_named_and_nothing_stored(leader: Browser, engine: Engine) -> None:
    response = leader.post_form("/cases/new", "/cases/new", {"category": "NEI", "grid": GRID, "severity": ""})
    assert response.status_code == 422 and 'id="description-error"' in response.text
    with unit_of_work(engine) as session:
        assert session.scalars(select(Case)).first() is None


def test_severity_chosen_by_the_leader_wins_over_the_category(leader: Browser, engine: Engine,
                                                              published: Published) -> None:
    case_id = log_case(leader, engine, published, severity="P1")
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.severity == "P1"


def test_photo_is_kept_and_shown_only_to_staff_on_the_path(app: Any, leader: Browser, engine: Engine,
                                                           published: Published) -> None:
    case_id = log_case(leader, engine, published, photo=(__import__("io").BytesIO(PNG), "door.png"))
    with unit_of_work(engine) as session:
        photo = session.scalars(select(Attachment)).one()
        assert photo.case_id == case_id and photo.content_type == "image/jpeg"  # the viewing copy
    url = f"/cases/{case_id}/photos/{photo.id}"
    assert url in leader.get(f"/cases/{case_id}").text
    with leader.get(url) as shown:
        assert shown.status_code == 200 and shown.data.startswith(b"\xff\xd8\xff")
    assert Browser(app, engine, OTHER_LEADER).get(url).status_code == 404  # as if there were no such case


def test_a_file_that_is_not_an_image_is_refused_with_the_form_kept(leader: Browser, engine: Engine) -> None:
    data = {"category": "NOI", "grid": GRID, "severity": "", "description": "楼上夜间装修噪音",
            "photo": (__import__("io").BytesIO(b"MZ\x90\x00 not a picture"), "x.png")}
    response = leader.post_form("/cases/new", "/cases/new", data)
    assert response.status_code == 422 and "is not a JPEG, PNG, WebP or HEIC picture" in response.text
    assert "楼上夜间装修噪音" in response.text
    with unit_of_work(engine) as session:
        assert session.scalars(select(Attachment)).first() is None and session.scalars(select(Case)).first() is None


def test_queue_puts_overdue_cases_first_and_marks_them(leader: Browser, engine: Engine, published: Published) -> None:
    first = log_case(leader, engine, published)
    second = log_case(leader, engine, published)
    with unit_of_work(engine) as session:
        session.execute(update(Case).where(Case.id == second).values(deadline_at=wallclock.now() - timedelta(hours=1)))
    rows = leader.get("/queue/rows").text
    assert rows.index(f'data-case="{second}"') < rows.index(f'data-case="{first}"')
    overdue_row = re.search(rf'<tr class="([^"]*)" data-case="{second}"', rows)
    assert overdue_row and "overdue" in overdue_row.group(1)


def test_queue_refreshes_itself_with_htmx(leader: Browser) -> None:
    html = leader.get("/queue").text
    assert 'hx-get="/queue/rows"' in html and 'hx-trigger="every 15s"' in html


def test_case_page_offers_only_what_the_machine_allows(leader: Browser, engine: Engine, published: Published) -> None:
    case_id = log_case(leader, engine, published)
    html = leader.get(f"/cases/{case_id}").text
    offered = set(re.findall(r'data-action="([a-z_]+)"', html))
    assert {"accept", "note", "resolve", "escalate"} <= offered
    assert not offered & {"report_back", "take_over", "send_back", "urge", "supervise", "approve_pause"}
    assert '<li class="current" aria-current="step"><strong>Grid</strong>' in html


def test_a_refused_action_says_why(leader: Browser, engine: Engine, published: Published) -> None:
    case_id = log_case(leader, engine, published)
    response = act(leader, case_id, "escalate", reason="")
    assert response.status_code == 422 and 'id="action-error"' in response.text and "reason" in response.text
    leader.get("/lang/zh_Hans")
    response = act(leader, case_id, "report_back", message="x")
    # Was "does not apply" in English inside the Chinese page (issue 11, item 9).
    assert response.status_code == 409 and "案件处于「网格处置」时不能「向居民反馈」" in response.text
    assert "does not apply" not in response.text
    assert steps(engine, case_id) == ["submitted", "dispatch"]


def test_acting_on_a_stale_page_is_refused(leader: Browser, engine: Engine, published: Published) -> None:
    case_id = log_case(leader, engine, published)
    leader.get("/lang/zh_Hans")
    response = leader.post_form(f"/cases/{case_id}", f"/cases/{case_id}/actions/note",
                                {"message": "x", "expected_version": "1"})
    assert response.status_code == 409 and "请刷新后重试" in response.text and "reload" not in response.text


def test_a_leader_of_another_grid_cannot_open_the_case(app: Any, leader: Browser, engine: Engine,
                                                       published: Published) -> None:
    case_id = log_case(leader, engine, published)
    other = Browser(app, engine, OTHER_LEADER)
    # The answer of a case that does not exist: another grid cannot tell that this one does.
    assert other.get(f"/cases/{case_id}").status_code == 404
    assert other.get(f"/cases/{case_id}/slip").status_code == 404
    assert act(other, case_id, "note", message="x").status_code == 404
    assert f'data-case="{case_id}"' not in other.get("/queue/rows").text


def test_slip_carries_the_code_address_and_qr(leader: Browser, engine: Engine, published: Published) -> None:
    case_id = log_case(leader, engine, published)
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        code = "-".join(case.tracking_code[i:i + 4] for i in range(0, len(case.tracking_code), 4))
    html = leader.get(f"/cases/{case_id}/slip").text
    assert code in html and f"/track?code={code}" in html and "<svg" in html


# --- masking and reveal ----------------------------------------------------------------------

def test_no_full_phone_for_a_role_without_need(app: Any, leader: Browser, engine: Engine,
                                               published: Published) -> None:
    case_id = log_case(leader, engine, published)
    for name in (BRANCH, GENERAL, STREET, "xy01.mediator"):
        html = Browser(app, engine, name).get(f"/cases/{case_id}").text
        assert REPORTER_PHONE not in html and OTHER_PHONE not in html, name
        assert "138****5678" in html and "王*明" in html, name
        assert "Show in full" not in html, name


def test_numbers_in_the_description_are_masked_for_all_but_the_holder(app: Any, leader: Browser, engine: Engine,
                                                                       published: Published) -> None:
    case_id = log_case(leader, engine, published, description="楼上噪音，物业电话13911112222，身份证110101199003071234")
    assert "13911112222" in leader.get(f"/cases/{case_id}").text
    assert "13911112222" in leader.get("/queue/rows").text
    general = Browser(app, engine, GENERAL)
    for page in (f"/cases/{case_id}", "/queue/rows"):
        html = general.get(page).text
        assert "13911112222" not in html and "110101199003071234" not in html, page
        assert "139****2222" in html, page


def test_an_id_too_large_for_the_database_is_a_404_page(leader: Browser, engine: Engine,
                                                        published: Published) -> None:
    case_id = log_case(leader, engine, published)
    for path in ("/cases/9223372036854775808", f"/cases/{case_id}/photos/9223372036854775808",
                 "/cases/2147483648/slip"):
        assert leader.get(path).status_code == 404, path
    page = leader.post_form(f"/cases/{case_id}", "/cases/9223372036854775808/actions/note", {"message": "x"})
    assert page.status_code == 404


def test_handler_sees_masked_until_a_logged_reveal(leader: Browser, engine: Engine, published: Published) -> None:
    case_id = log_case(leader, engine, published)
    html = leader.get(f"/cases/{case_id}").text
    assert REPORTER_PHONE not in html and "Show in full" in html
    party_id = re.search(r'data-party="(\d+)"', html)
    assert party_id
    shown = leader.post_form(f"/cases/{case_id}", f"/cases/{case_id}/parties/{party_id.group(1)}/reveal", {})
    assert shown.status_code == 200 and REPORTER_PHONE in shown.text and "王小明" in shown.text
    assert OTHER_PHONE not in shown.text  # one click shows one person
    assert steps(engine, case_id)[-1] == "reveal"
    with unit_of_work(engine) as session:
        last = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                               .order_by(CaseEvent.seq.desc())).first()
        assert last is not None and last.actor == LEADER and not last.public
    # The next view is masked again.
    assert REPORTER_PHONE not in leader.get(f"/cases/{case_id}").text


def test_reveal_by_a_unit_that_does_not_handle_the_case_is_refused(app: Any, leader: Browser, engine: Engine,
                                                                    published: Published) -> None:
    case_id = log_case(leader, engine, published)
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        party_id = case.parties[0].id
    branch = Browser(app, engine, BRANCH)
    response = branch.post_form(f"/cases/{case_id}", f"/cases/{case_id}/parties/{party_id}/reveal", {})
    assert response.status_code == 403 and REPORTER_PHONE not in response.text
    assert "reveal" not in steps(engine, case_id)


# --- party levels ----------------------------------------------------------------------------

def test_escalated_case_reaches_the_branch_inbox_and_back_down(app: Any, leader: Browser, engine: Engine,
                                                               published: Published) -> None:
    case_id = log_case(leader, engine, published)
    branch = Browser(app, engine, BRANCH)
    assert f'data-case="{case_id}"' not in branch.get("/inbox/rows").text
    assert act(leader, case_id, "escalate", reason="楼上拒不配合").status_code == 302
    assert f'data-case="{case_id}"' in branch.get("/inbox/rows").text
    offered = set(re.findall(r'data-action="([a-z_]+)"', branch.get(f"/cases/{case_id}").text))
    assert {"send_back", "resolve", "escalate"} <= offered
    assert act(branch, case_id, "send_back", reason="请先上门调解").status_code == 302
    assert f'data-case="{case_id}"' not in branch.get("/inbox/rows").text
    assert steps(engine, case_id)[-2:] == ["escalate", "send_back"]


def test_a_level_above_may_urge_and_supervise_the_one_below(app: Any, leader: Browser, engine: Engine,
                                                            published: Published) -> None:
    case_id = log_case(leader, engine, published)
    general = Browser(app, engine, GENERAL)
    offered = set(re.findall(r'data-action="([a-z_]+)"', general.get(f"/cases/{case_id}").text))
    assert {"urge", "supervise", "take_over"} <= offered
    assert act(general, case_id, "urge", message="请今天内联系居民").status_code == 302
    assert act(general, case_id, "supervise", message="列入督办").status_code == 302
    html = leader.get(f"/cases/{case_id}").text
    assert "请今天内联系居民" in html and 'data-kind="supervise"' in html
    assert 'class="badge supervised"' in leader.get("/queue/rows").text


def test_grid_leader_has_no_inbox(leader: Browser) -> None:
    assert leader.get("/inbox").status_code == 403


# --- the resident ----------------------------------------------------------------------------

def _tracking_code(engine: Engine, case_id: int) -> str:
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.tracking_code


def test_resident_follows_answers_and_the_case_closes(app: Any, leader: Browser, engine: Engine,
                                                      published: Published) -> None:
    case_id = log_case(leader, engine, published)
    assert act(leader, case_id, "note", message="内部备注：楼上住户态度差").status_code == 302
    assert act(leader, case_id, "resolve", summary="已协调楼上住户").status_code == 302
    assert act(leader, case_id, "report_back", message="已协调，晚十点后不再施工").status_code == 302
    code = _tracking_code(engine, case_id)
    resident = Browser(app, engine)
    found = resident.post_form("/track", "/track", {"code": code.lower(), "phone_last4": REPORTER_PHONE[-4:]})
    assert found.status_code == 302
    page = resident.get(found.headers["Location"]).text
    assert "晚十点后不再施工" in page and "内部备注" not in page and LEADER not in page
    assert REPORTER_PHONE not in page and OTHER_PHONE not in page and "赵大海" not in page
    assert 'id="evaluation"' in page
    answered = resident.post_form(found.headers["Location"], f"/track/{code}/evaluation",
                                  {"resolved": "yes", "satisfaction": "5"})
    assert answered.status_code == 302
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.state == "closed"
        assert session.scalars(select(Evaluation.satisfaction)).one() == 5
    assert 'id="evaluation"' not in resident.get(found.headers["Location"]).text


def test_wrong_digits_show_nothing(app: Any, leader: Browser, engine: Engine, published: Published) -> None:
    case_id = log_case(leader, engine, published)
    code = _tracking_code(engine, case_id)
    resident = Browser(app, engine)
    wrong = resident.post_form("/track", "/track", {"code": code, "phone_last4": "0000"})
    unknown = resident.post_form("/track", "/track", {"code": "AAAA-BBBB-CCCC-DDDD", "phone_last4": "5678"})
    assert wrong.status_code == unknown.status_code == 404
    assert "No case matches" in wrong.text and "No case matches" in unknown.text
    # Without a matching lookup, the status page sends the visitor to the form.
    assert "/track?code=" in resident.get(f"/track/{code}").headers["Location"]


def test_resident_lookups_are_rate_limited(app: Any) -> None:
    resident = Browser(app, None)
    token = csrf_of(resident.get("/track").text)
    # Four codes, five tries each (under the lock), then the address has used its twenty a minute.
    codes = [resident.client.post("/track", data={"csrf_token": token, "code": f"AAAA{i // 5}",
                                                  "phone_last4": f"{i:04d}"}).status_code for i in range(21)]
    assert codes[:20] == [404] * 20 and codes[20] == 429


def test_five_wrong_digits_lock_the_code_and_the_page_says_whom_to_call(app: Any, leader: Browser, engine: Engine,
                                                                         published: Published) -> None:
    case_id = log_case(leader, engine, published)
    code = _tracking_code(engine, case_id)
    resident = Browser(app, engine)
    for guess in range(5):
        assert resident.post_form("/track", "/track", {"code": code, "phone_last4": f"{guess:04d}"}).status_code == 404
    locked = resident.post_form("/track", "/track", {"code": code, "phone_last4": REPORTER_PHONE[-4:]})
    assert locked.status_code == 429 and "call your grid leader" in locked.text
    assert "/track?code=" in resident.get(f"/track/{code}").headers["Location"]  # nothing shown


def test_resident_page_masks_numbers_in_the_report_back(app: Any, leader: Browser, engine: Engine,
                                                        published: Published) -> None:
    case_id = log_case(leader, engine, published)
    act(leader, case_id, "resolve", summary="已协调")
    act(leader, case_id, "report_back", message="物业经理电话13911112222，身份证110101199003071234")
    code = _tracking_code(engine, case_id)
    resident = Browser(app, engine)
    found = resident.post_form("/track", "/track", {"code": code, "phone_last4": REPORTER_PHONE[-4:]})
    page = resident.get(found.headers["Location"]).text
    assert "13911112222" not in page and "110101199003071234" not in page
    assert "139****2222" in page and "1101**********1234" in page


def test_a_nul_in_the_residents_comment_is_refused_and_nothing_recorded(app: Any, leader: Browser, engine: Engine,
                                                                         published: Published) -> None:
    case_id = log_case(leader, engine, published)
    act(leader, case_id, "resolve", summary="已协调")
    act(leader, case_id, "report_back", message="已协调")
    code = _tracking_code(engine, case_id)
    resident = Browser(app, engine)
    found = resident.post_form("/track", "/track", {"code": code, "phone_last4": REPORTER_PHONE[-4:]})
    answered = resident.post_form(found.headers["Location"], f"/track/{code}/evaluation",
                                  {"resolved": "no", "satisfaction": "1", "comment": "还在\x00吵"})
    assert answered.status_code == 302
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.state == "reported_back"
        assert session.scalars(select(Evaluation)).all() == []


def test_a_no_reopens_the_case(app: Any, leader: Browser, engine: Engine, published: Published) -> None:
    case_id = log_case(leader, engine, published)
    act(leader, case_id, "resolve", summary="已协调")
    act(leader, case_id, "report_back", message="已协调")
    code = _tracking_code(engine, case_id)
    resident = Browser(app, engine)
    found = resident.post_form("/track", "/track", {"code": code, "phone_last4": REPORTER_PHONE[-4:]})
    resident.post_form(found.headers["Location"], f"/track/{code}/evaluation",
                       {"resolved": "no", "satisfaction": "1", "comment": "还在吵"})
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.state == "grid_handling" and case.reopen_count == 1
    # Staff read what the resident wrote, not just "resolved=no, satisfaction=1" (issue 11, item 5).
    leader.get("/lang/zh_Hans")
    page = leader.get(f"/cases/{case_id}").text
    assert "还在吵" in page and "居民评价:未解决;非常不满意(1/5)。" in page
    assert "resolved=no" not in page


# --- languages -------------------------------------------------------------------------------

@pytest.mark.parametrize(("accept", "expected"), [
    ("zh-TW,zh;q=0.9", "zh-Hant"), ("zh-HK", "zh-Hant"), ("zh-CN", "zh-Hans"), ("zh-SG", "zh-Hans"),
    ("en-GB,en;q=0.8", "en"), ("fr-FR", "zh-Hans"),
])
def test_language_follows_the_browser(client: FlaskClient, accept: str, expected: str) -> None:
    html = client.get("/login", headers={"Accept-Language": accept}).text
    assert f'<html lang="{expected}">' in html


def test_language_switch_holds_for_the_visit(client: FlaskClient) -> None:
    response = client.get("/lang/zh_Hant?next=/track")
    assert response.status_code == 302 and response.headers["Location"] == "/track"
    assert '<html lang="zh-Hant">' in client.get("/track", headers={"Accept-Language": "en"}).text


def test_language_switch_does_not_redirect_off_site(client: FlaskClient) -> None:
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"
    assert client.get("/lang/en?next=//evil.example/").headers["Location"] == "/"


@pytest.mark.parametrize(("language", "heading"), [("zh_Hans", "工作人员登录"), ("zh_Hant", "工作人員登入"),
                                                   ("en", "Staff login")])
def test_pages_are_translated(client: FlaskClient, language: str, heading: str) -> None:
    client.get(f"/lang/{language}")
    assert f"<h1>{heading}</h1>" in client.get("/login").text


def test_times_are_shown_in_the_deployments_zone(leader: Browser, engine: Engine, published: Published) -> None:
    case_id = log_case(leader, engine, published)
    with unit_of_work(engine) as session:
        session.execute(update(Case).where(Case.id == case_id).values(
            submitted_at=wallclock.now().replace(year=2026, month=11, day=26, hour=17, minute=5, second=0)))
    # 17:05 UTC is 01:05 the next day in Asia/Shanghai; every language on the 24-hour clock
    # (zh_Hant's CLDR short form said "凌晨1:05", issue 11, item 15).
    for language in ("en", "zh_Hant", "zh_Hans"):
        leader.get(f"/lang/{language}")
        page = leader.get(f"/cases/{case_id}").text
        assert "2026-11-27 01:05" in page, language
        assert not re.search(r"(凌晨|清晨|上午|下午|晚上|中午)\d", page) and "AM" not in page and "PM" not in page


# --- my account ------------------------------------------------------------------------------

def test_changing_my_password_ends_my_other_sessions(app: Any, engine: Engine) -> None:
    phone = Browser(app, engine, LEADER)
    desk = Browser(app, None)
    token = csrf_of(desk.get("/login").text)
    assert desk.client.post("/login", data={"name": LEADER, "password": PASSWORD, "csrf_token": token}).status_code == 302
    wrong = phone.post_form("/account", "/account/password", {"current": "nope", "new": "a new password 1",
                                                              "again": "a new password 1"})
    assert wrong.status_code == 403
    differ = phone.post_form("/account", "/account/password", {"current": PASSWORD, "new": "a new password 1",
                                                               "again": "another one 22"})
    assert differ.status_code == 422
    short = phone.post_form("/account", "/account/password", {"current": PASSWORD, "new": "short", "again": "short"})
    assert short.status_code == 422 and "at least 10" in short.text
    done = phone.post_form("/account", "/account/password", {"current": PASSWORD, "new": "a new password 1",
                                                             "again": "a new password 1"})
    assert done.status_code == 302
    assert phone.get("/queue").status_code == 200  # this session goes on
    assert "/login" in desk.get("/queue").headers["Location"]  # the other one ended


def test_my_saved_language_is_used_on_every_page(leader: Browser) -> None:
    assert leader.post_form("/account", "/account/language", {"language": "en"}).status_code == 302
    assert '<html lang="en">' in leader.get("/queue", headers={"Accept-Language": "zh-CN"}).text


@pytest.mark.parametrize(("language", "required"), [("zh_Hans", "该字段是必填字段"), ("zh_Hant", "此欄位是必需的"),
                                                    ("en", "This field is required")])
def test_form_messages_are_in_the_page_language(leader: Browser, language: str, required: str) -> None:
    leader.get(f"/lang/{language}")
    response = leader.post_form("/cases/new", "/cases/new", {"category": "NEI", "grid": GRID, "severity": ""})
    assert response.status_code == 422 and required in response.text


# --- who is offered what ----------------------------------------------------------------------

def test_a_unit_above_is_offered_what_its_position_calls_for(app: Any, leader: Browser, engine: Engine,
                                                             published: Published) -> None:
    # Was: up to 13 buttons, signing for and resolving on the holder's behalf (issue 11, item 8).
    case_id = log_case(leader, engine, published)
    street = Browser(app, engine, "xy.street")
    offered = re.findall(r'data-action="([a-z_]+)"', street.get(f"/cases/{case_id}").text)
    assert sorted(offered) == ["note", "supervise", "take_over", "urge"]
    holder = set(re.findall(r'data-action="([a-z_]+)"', leader.get(f"/cases/{case_id}").text))
    assert {"accept", "resolve", "escalate", "request_extension", "note"} <= holder
    assert not holder & {"take_over", "urge", "supervise", "approve_extension", "refuse_extension"}


def test_the_grid_that_logged_a_case_may_only_note_once_it_is_escalated(leader: Browser, engine: Engine,
                                                                        published: Published) -> None:
    case_id = log_case(leader, engine, published)
    assert act(leader, case_id, "escalate", reason="需支部调解").status_code == 302
    offered = re.findall(r'data-action="([a-z_]+)"', leader.get(f"/cases/{case_id}").text)
    assert offered == ["note"]
    assert act(leader, case_id, "note", message="当事人又来电话").status_code == 302
    leader.get("/lang/zh_Hans")
    refused = act(leader, case_id, "resolve", summary="x")
    assert refused.status_code == 403 and "案件现由小区承办;下级只能添加备注" in refused.text


def test_an_administrator_is_offered_no_case_work(app: Any, leader: Browser, engine: Engine,
                                                  published: Published) -> None:
    case_id = log_case(leader, engine, published)
    admin = Browser(app, engine, "xy.admin")
    page = admin.get(f"/cases/{case_id}").text
    assert re.findall(r'data-action="([a-z_]+)"', page) == []
    assert act(admin, case_id, "note", message="x").status_code == 403


def test_the_timeline_never_repeats_a_state_after_its_own_name(leader: Browser, engine: Engine,
                                                               published: Published) -> None:
    case_id = log_case(leader, engine, published)
    act(leader, case_id, "resolve", summary="已协调")
    act(leader, case_id, "report_back", message="已协调")
    leader.get("/lang/zh_Hans")
    page = leader.get(f"/cases/{case_id}").text
    assert not re.search(r"<strong>(已反馈|已办结)</strong>\s*→\s*\1", page), "a label followed by itself"
    assert "<strong>已反馈</strong>" in page


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant", "en"])
def test_the_ladder_and_the_state_use_the_same_word_for_a_level(app: Any, leader: Browser, engine: Engine,
                                                                published: Published, language: str) -> None:
    case_id = log_case(leader, engine, published)
    act(leader, case_id, "escalate", reason="需支部调解")
    leader.get(f"/lang/{language}")
    page = leader.get(f"/cases/{case_id}").text
    rung = re.search(r'<li class="current" aria-current="step"><strong>([^<]+)</strong>', page)
    state = re.search(r'<p id="case-state">([^<·]+)', page)
    assert rung and state
    assert rung.group(1).lower() in state.group(1).lower(), (rung.group(1), state.group(1))
