"""Nothing a person typed is lost or goes astray: photos, parties, resubmission, logins, the resident's page."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import Engine, func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.conftest import Published
from tests.unit.helpers import REPORTER_PHONE, run_worker
from tests.unit.ui.test_ui import GRID, LEADER, OTHER_PHONE, act, log_case
from tests.unit.ui_helpers import PASSWORD, Browser, csrf_of, give_password
from workflow.base.db import unit_of_work
from workflow.cases.attachments import upload_dir
from workflow.cases.models import Attachment, Case, CaseParty

GPS_IFD = 0x8825


def camera_photo(fmt: str = "JPEG", size: tuple[int, int] = (4000, 3000), noisy_bytes: int = 0) -> bytes:
    """A phone-sized photo with a GPS position in its EXIF; ``noisy_bytes`` pads it up to a size."""
    image = Image.new("RGB", size, (120, 160, 200))
    exif = Image.Exif()
    exif[0x0110] = "Phone"  # model
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)})
    out = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image.save(out, fmt, exif=exif.tobytes(), quality=90)
    data = out.getvalue()
    if noisy_bytes > len(data) and fmt == "JPEG":
        # A JPEG comment segment can't exceed 64 KiB; APP segments after the image are ignored by
        # decoders, so padding after the end marker makes a big file that still decodes.
        data += b"\x00" * (noisy_bytes - len(data))
    return data


def form_data(**extra: Any) -> dict[str, Any]:
    data = {"category": "NOI", "grid": GRID, "severity": "", "description": "楼上夜间装修噪音",
            "reporter_name": "王小明", "reporter_phone": REPORTER_PHONE, "other_name": "赵大海",
            "other_phone": OTHER_PHONE, **extra}
    return data


def new_case_form(browser: Browser) -> tuple[str, dict[str, str]]:
    """Open the form; return its page and the hidden fields it carries (CSRF token, submission key)."""
    page = browser.get("/cases/new").text
    hidden = dict(re.findall(r'<input id="(csrf_token|submission_id)" name="\1" type="hidden" value="([^"]*)"',
                             page))
    return page, hidden


def post_new_case(browser: Browser, **extra: Any) -> Any:
    _page, hidden = new_case_form(browser)
    # Encoded here, in memory: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(MultiDict([*hidden.items(), *_items(form_data(**extra))]))
    return browser.client.post("/cases/new", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _items(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """Form fields as pairs; a ``(stream, file name)`` becomes a file part."""
    pairs = [(key, item) for key, value in data.items() for item in (value if isinstance(value, list) else [value])]
    return [(key, FileStorage(item[0], filename=item[1], content_type="application/octet-stream")
             if isinstance(item, tuple) else item) for key, item in pairs]


def count_cases(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return int(session.scalar(select(func.count(Case.id))) or 0)


@pytest.fixture(autouse=True)
def data_folder(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Photos go to a folder of the test's own."""
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "home"))


@pytest.fixture
def leader(app: Any, engine: Engine) -> Browser:
    return Browser(app, engine, LEADER)


# --- photos ----------------------------------------------------------------------------------

def test_a_phone_sized_photo_is_accepted_downscaled_and_its_location_removed(
        leader: Browser, engine: Engine, published: Published) -> None:
    photo = camera_photo(noisy_bytes=15 * 1024 * 1024)
    assert len(photo) >= 15 * 1024 * 1024
    response = post_new_case(leader, photo=(io.BytesIO(photo), "IMG_0001.JPG"))
    assert response.status_code == 302, response.text[:2000]
    with unit_of_work(engine) as session:
        stored = session.scalars(select(Attachment)).one()
    with Image.open(upload_dir() / stored.file_name) as kept:
        assert max(kept.size) <= 1600 and kept.format == "JPEG"
        assert not kept.getexif().get_ifd(GPS_IFD) and stored.original_file_name is None
    assert len(list(upload_dir().iterdir())) == 1  # the original is not kept by default


def test_several_photos_png_webp_and_heic_are_all_kept(leader: Browser, engine: Engine) -> None:
    photos = [(io.BytesIO(camera_photo(fmt, (1200, 900))), f"p.{fmt.lower()}") for fmt in ("PNG", "WEBP", "HEIF")]
    response = post_new_case(leader, photo=photos)
    assert response.status_code == 302, response.text[:2000]
    with unit_of_work(engine) as session:
        kinds = list(session.scalars(select(Attachment.content_type)))
    assert kinds == ["image/jpeg"] * 3


def test_the_original_is_kept_when_the_setting_says_so(leader: Browser, engine: Engine,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_PHOTO_KEEP_ORIGINAL", "1")
    original = camera_photo("HEIF", (800, 600))
    assert post_new_case(leader, photo=(io.BytesIO(original), "IMG.HEIC")).status_code == 302
    with unit_of_work(engine) as session:
        stored = session.scalars(select(Attachment)).one()
    assert stored.original_file_name is not None
    assert (upload_dir() / stored.original_file_name).read_bytes() == original


@pytest.mark.parametrize(("language", "sentence"), [
    ("zh-CN", "不是 JPEG、PNG、WebP 或 HEIC 图片"),
    ("zh-TW", "不是 JPEG、PNG、WebP 或 HEIC 圖片"),
    ("en", "is not a JPEG, PNG, WebP or HEIC picture"),
])
def test_a_refused_photo_keeps_the_form_filled_and_says_why(leader: Browser, engine: Engine, language: str,
                                                            sentence: str) -> None:
    leader.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    response = post_new_case(leader, description="楼道里堆满了杂物", photo=(io.BytesIO(b"MZ\x90 not a picture"), "x.png"))
    assert response.status_code == 422
    assert sentence in response.text and "x.png" in response.text
    assert "楼道里堆满了杂物" in response.text and f'value="{REPORTER_PHONE}"' in response.text
    assert count_cases(engine) == 0


def test_a_photo_above_the_limit_is_refused_with_the_form_kept(leader: Browser, engine: Engine,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_PHOTO_MAX_MB", "1")
    response = post_new_case(leader, photo=(io.BytesIO(camera_photo(noisy_bytes=1024 * 1024 + 10)), "big.jpg"))
    assert response.status_code == 422 and "larger than 1 MB" in response.text
    assert "楼上夜间装修噪音" in response.text and count_cases(engine) == 0


def test_more_than_the_form_may_carry_is_a_413_page_in_the_readers_language(
        leader: Browser, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_PHOTO_MAX_MB", "0.1")  # the form may carry 6 x 0.1 MB + 1 MB
    leader.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    response = post_new_case(leader, photo=(io.BytesIO(camera_photo(noisy_bytes=2 * 1024 * 1024)), "huge.jpg"))
    assert response.status_code == 413 and "照片总量过大" in response.text and 'id="new-case"' in response.text
    assert count_cases(engine) == 0


# --- a phone without a name ------------------------------------------------------------------

@pytest.mark.parametrize(("name_field", "phone_field"), [("reporter_name", "reporter_phone"),
                                                         ("other_name", "other_phone")])
def test_a_phone_without_a_name_is_refused_not_dropped(leader: Browser, engine: Engine, name_field: str,
                                                       phone_field: str) -> None:
    response = post_new_case(leader, **{name_field: "", phone_field: "13900001111"})
    assert response.status_code == 422
    assert "Give a name with this phone" in response.text and 'value="13900001111"' in response.text
    assert count_cases(engine) == 0


def test_every_party_typed_is_stored(leader: Browser, engine: Engine) -> None:
    assert post_new_case(leader).status_code == 302
    with unit_of_work(engine) as session:
        stored = {(p.role, p.name, p.phone) for p in session.scalars(select(CaseParty))}
    assert stored == {("reporter", "王小明", REPORTER_PHONE), ("respondent", "赵大海", OTHER_PHONE)}


# --- back and submit again -------------------------------------------------------------------

def test_submitting_the_same_form_twice_makes_one_case(leader: Browser, engine: Engine) -> None:
    _page, hidden = new_case_form(leader)
    assert hidden.get("submission_id")
    first = leader.client.post("/cases/new", data={**hidden, **form_data()})
    again = leader.client.post("/cases/new", data={**hidden, **form_data()})
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    # Edited after going back: still the first case, and the page says the form was sent before.
    edited = leader.client.post("/cases/new", data={**hidden, **form_data(description="改过的描述")})
    assert edited.status_code == 302 and edited.headers["Location"] == first.headers["Location"]
    assert "already sent" in leader.get(edited.headers["Location"]).text
    assert count_cases(engine) == 1
    # A new form is a new case.
    assert post_new_case(leader).headers["Location"] != first.headers["Location"]
    assert count_cases(engine) == 2


# --- the category is a choice ----------------------------------------------------------------

def test_the_category_is_not_preselected_and_is_required(leader: Browser, engine: Engine) -> None:
    page, _hidden = new_case_form(leader)
    select_html = re.search(r'<select[^>]*id="category".*?</select>', page, re.S)
    assert select_html and 'selected' not in select_html.group(0).split("</option>", 1)[1]
    assert re.search(r'<option selected value="">', select_html.group(0)) or '<option value="">' in select_html.group(0)
    response = post_new_case(leader, category="")
    assert response.status_code == 422 and count_cases(engine) == 0
    for severity in ("P0", "P1", "P2", "P3"):
        assert re.search(rf"<dt>{severity}</dt>\s*<dd>", page), severity


# --- the case page follows the case ----------------------------------------------------------

def test_a_new_case_page_follows_the_case_until_it_is_dispatched(leader: Browser, engine: Engine,
                                                                 published: Published) -> None:
    response = post_new_case(leader)
    case_url = response.headers["Location"]
    collected = leader.get(case_url).text
    assert 'hx-trigger="every 2s"' in collected and f'hx-get="{case_url}"' in collected
    run_worker(engine, published.events)
    dispatched = leader.get(case_url).text
    assert 'hx-trigger="every 2s"' not in dispatched and 'data-action="escalate"' in dispatched


# --- logins ----------------------------------------------------------------------------------

def test_successful_logins_do_not_use_up_the_limit(app: Any, engine: Engine) -> None:
    give_password(engine, LEADER)
    for _ in range(15):
        client: FlaskClient = app.test_client()
        token = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"name": LEADER, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302


def test_login_names_are_case_insensitive(client: FlaskClient, engine: Engine) -> None:
    give_password(engine, LEADER)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"name": " XY01A1.Leader ", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/queue"


# --- the resident's page ---------------------------------------------------------------------

def test_residents_page_shows_what_was_done_then_asks_then_echoes_the_answer(
        app: Any, leader: Browser, engine: Engine, published: Published) -> None:
    case_id = log_case(leader, engine, published)
    act(leader, case_id, "resolve", summary="支部上门调解，联系人电话13912345678")
    act(leader, case_id, "report_back", message="已协调，晚十点后不再施工")
    with unit_of_work(engine) as session:
        code = session.get(Case, case_id).tracking_code  # type: ignore[union-attr]
    resident = Browser(app, engine)
    found = resident.post_form("/track", "/track", {"code": code, "phone_last4": REPORTER_PHONE[-4:]})
    page = resident.get(found.headers["Location"]).text
    headline = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert headline and "Reported back to you" in headline.group(1)
    assert "支部上门调解" in page and "139****5678" in page and "13912345678" not in page
    assert page.index("已协调，晚十点后不再施工") < page.index('id="evaluation"')
    resident.post_form(found.headers["Location"], f"/track/{code}/evaluation",
                       {"resolved": "partly", "satisfaction": "4", "comment": "基本解决，谢谢"})
    page = resident.get(found.headers["Location"]).text
    answer = re.search(r'<section id="your-answer".*?</section>', page, re.S)
    assert answer, page
    assert "Partly" in answer.group(0) and "Satisfied" in answer.group(0) and "基本解决，谢谢" in answer.group(0)
    # The API says the same to a resident's app.
    track = resident.client.get(f"/api/v1/track/{code}", headers={"X-Phone-Last4": REPORTER_PHONE[-4:]}).get_json()
    assert track["outcome"]["summary"] == "支部上门调解，联系人电话139****5678"
    assert track["outcome"]["message"] == "已协调，晚十点后不再施工"
    assert track["outcome"]["answer"]["resolved"] == "partly" and track["outcome"]["answer"]["comment"] == "基本解决，谢谢"
