"""Residents report for themselves: the public form ``/report``, the touch screen ``/kiosk/CODE``, the slip.

Three steps, the same on both doors: the phone (a six-digit code by SMS), the code, the form. Nothing
of the resident is stored before the code is confirmed. On ``/report`` a confirmed phone is
remembered in this browser for 30 days (a signed cookie); on the shared touch screen it is carried
only in the page (a signed field valid 15 minutes), so starting again forgets it.
"""

from __future__ import annotations

import io
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import segno
from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from PIL import Image, ImageDraw, ImageFont
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from schemas.vocabulary import Category, Channel
from web.session import db_session, engine, publish_event, publish_notices
from web.ui.errors import explain
from web.ui.forms import PhoneCodeForm, PhoneForm, ResidentReportForm
from web.ui.i18n import category_name, current_language
from web.ui.security import limiter, protect_forms
from workflow.base import config, wallclock
from workflow.base.errors import DomainError
from workflow.base.privacy import mask_phone
from workflow.cases.attachments import Photo, PhotoRefused, photo_max_bytes, prepare_photo
from workflow.cases.tracking import display, normalize
from workflow.notices.channels.base import DeliveryError
from workflow.reports import codes, limits
from workflow.reports.filing import MAX_PHOTOS, Report, add_to_case, file_report, filed_before
from workflow.reports.kiosk import active_key
from workflow.reports.places import Place, compounds, place_of, places

bp = Blueprint("selfreport", __name__)
_FORM_ENDPOINTS = {"selfreport.submit", "selfreport.kiosk_submit"}


@bp.before_request
def _room_for_photos() -> None:
    # Before the CSRF check reads the form: the app's 64 KiB cap is for JSON, not for phone photos.
    if request.endpoint in _FORM_ENDPOINTS:
        request.max_content_length = MAX_PHOTOS * photo_max_bytes() + 1024 * 1024


protect_forms(bp)

PHONE_COOKIE = "gridcase_phone"
PHONE_DAYS = 30
KIOSK_PHONE_SECONDS = 15 * 60

# The categories a resident picks from, each with a line in their own words; the rest go to "Other".
RESIDENT_CATEGORIES: tuple[tuple[Category, Any], ...] = (
    (Category.NEI, _l("Water leaking from upstairs, a blocked stairway, a quarrel with neighbours")),
    (Category.NOI, _l("Noise: building work, loud music, at night")),
    (Category.PRO, _l("Property management: fees, repairs not done")),
    (Category.UTL, _l("No water, power, gas or heating")),
    (Category.ENV, _l("Rubbish, smells, dirty stairways")),
    (Category.SAF, _l("Danger: e-bikes charged indoors, a blocked fire exit, a loose window")),
    (Category.PUB, _l("Public order: theft, suspicious people, fights")),
    (Category.FAM, _l("Family: marriage, elderly care, children")),
    (Category.LAB, _l("Unpaid wages, a dispute with an employer")),
    (Category.CSM, _l("A shop or service that cheated you")),
    (Category.GOV, _l("Community services, certificates, questions")),
    (Category.OTH, _l("Something else")),
)


def code_limit() -> str:
    """Return the limit on codes asked for per client address (``GRIDCASE_REPORT_CODE_LIMIT``)."""
    return os.environ.get("GRIDCASE_REPORT_CODE_LIMIT", "10 per hour")


def confirm_limit() -> str:
    """Return the limit on codes typed per client address (``GRIDCASE_REPORT_CONFIRM_LIMIT``)."""
    return os.environ.get("GRIDCASE_REPORT_CONFIRM_LIMIT", "20 per hour")


def kiosk_code_limit() -> str:
    """Return the limit on codes asked for per touch screen (``GRIDCASE_KIOSK_CODE_LIMIT``, default 60 an hour).

    A service centre's screen is one address for every resident who walks in: it is counted by its key,
    not by the address the public form's limit uses.
    """
    return os.environ.get("GRIDCASE_KIOSK_CODE_LIMIT", "60 per hour")


def _kiosk_key() -> str:
    return "kiosk:" + request.args.get("k", "")[:200]


def kiosk_idle_seconds() -> int:
    """Return the seconds without a touch after which the touch screen starts again (``GRIDCASE_KIOSK_IDLE``)."""
    return int(os.environ.get("GRIDCASE_KIOSK_IDLE", "120"))


# --------------------------------------------------------------------------------------
# Signed values: the confirmed phone, the kiosk's key, the slip's link
# --------------------------------------------------------------------------------------

def _timed(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def kiosk_token(secret: str, key_id: int, unit_code: str) -> str:
    """Return the signed key a touch screen's URL carries (signed with the app's secret key)."""
    return str(URLSafeSerializer(secret, salt="kiosk").dumps({"k": key_id, "u": unit_code}))


def kiosk_url(secret: str, key_id: int, unit_code: str) -> str:
    """Return the full URL to open on a touch screen."""
    return f"{config.public_base_url()}/kiosk/{unit_code}?k={kiosk_token(secret, key_id, unit_code)}"


def _loads(serializer: URLSafeTimedSerializer, value: str | None, max_age: int) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        payload = serializer.loads(value, max_age=max_age)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None


def slip_token(case_id: int, tracking_code: str) -> str:
    """Return the signed token of a report's slip (the done page and its image)."""
    return str(_timed("report-slip").dumps({"c": case_id, "t": tracking_code}))


def _slip_of(token: str) -> tuple[int, str]:
    # A day is enough to save or print the slip; after that the code is on the resident's SMS and status page.
    payload = _loads(_timed("report-slip"), token, 24 * 3600)
    if payload is None or not isinstance(payload.get("c"), int) or not isinstance(payload.get("t"), str):
        abort(404)
    return int(payload["c"]), str(payload["t"])


@dataclass(frozen=True)
class Door:
    """Which door the resident came in by: the public form (maybe from a card) or a touch screen."""

    kiosk_unit: str | None = None
    kiosk_key: str | None = None
    card: str | None = None  # the building key of the service card the form was opened from

    @property
    def channel(self) -> Channel:
        """Return the channel the case is recorded with."""
        if self.kiosk_unit:
            return Channel.TOUCH_SCREEN
        return Channel.SERVICE_CARD if self.card else Channel.WEB

    @property
    def source(self) -> str:
        """Return the CloudEvent source of its cases."""
        if self.kiosk_unit:
            return f"/kiosk/{self.kiosk_unit}"
        return "/report/card" if self.card else "/report"

    def url(self, step: str) -> str:
        """Return the URL of one step at this door."""
        if self.kiosk_unit:
            return url_for(f"selfreport.kiosk_{step}", unit=self.kiosk_unit, k=self.kiosk_key)
        values: dict[str, Any] = {"b": self.card} if self.card else {}
        return url_for(f"selfreport.{step}", **values)

    @property
    def context(self) -> dict[str, Any]:
        """Return what the templates need to know of the door."""
        return {"kiosk": bool(self.kiosk_unit), "start_url": self.url("start"),
                "code_url": self.url("send_code"), "confirm_url": self.url("confirm"),
                "submit_url": self.url("submit"), "idle_seconds": kiosk_idle_seconds(),
                "base_template": "kiosk_base.html" if self.kiosk_unit else "base.html"}


def _public_door() -> Door:
    card = (request.args.get("b") or "").strip()[:80] or None
    return Door(card=card)


def _kiosk_door(unit: str) -> Door:
    token = request.args.get("k", "")
    try:
        payload = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="kiosk").loads(token)
    except BadSignature:
        abort(404)
    if not isinstance(payload, dict) or payload.get("u") != unit or not isinstance(payload.get("k"), int):
        abort(404)
    try:
        with db_session() as session:
            active_key(session, int(payload["k"]), unit)
    except DomainError:
        abort(403)
    return Door(kiosk_unit=unit, kiosk_key=token)


def _mask(phone: str) -> str:
    return mask_phone(phone) or ""


def _confirmed_phone(door: Door) -> str | None:
    if door.kiosk_unit:
        payload = _loads(_timed("kiosk-phone"), request.form.get("phone_token"), KIOSK_PHONE_SECONDS)
    else:
        payload = _loads(_timed("report-phone"), request.cookies.get(PHONE_COOKIE), PHONE_DAYS * 24 * 3600)
    phone = payload.get("p") if payload else None
    return phone if isinstance(phone, str) else None


# --------------------------------------------------------------------------------------
# The steps
# --------------------------------------------------------------------------------------

def _phone_page(door: Door, form: PhoneForm, status: int = 200, retry_after: int | None = None) -> ResponseReturnValue:
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return render_template("report_phone.html", form=form, **door.context), status, headers


def _places(door: Door) -> list[Place]:
    with db_session() as session:
        return places(session, door.kiosk_unit)


def _fill(form: ResidentReportForm, found: list[Place]) -> None:
    form.category.choices = [(c.value, category_name(c.value)) for c, _line in RESIDENT_CATEGORIES]
    form.compound.choices = [("", _("Choose your compound"))] + [(c, c) for c in compounds(found)]
    form.building.choices = [("", _("Choose the building"))] + [(p.key, p.label) for p in found]


def _form_page(door: Door, form: ResidentReportForm, phone: str, found: list[Place], status: int = 200,
               existing: limits.Existing | None = None, phone_token: str | None = None) -> ResponseReturnValue:
    if not form.submission_id.data:
        form.submission_id.data = str(uuid.uuid4())
    lines = {c.value: line for c, line in RESIDENT_CATEGORIES}
    compound_of = {p.key: p.compound for p in found}
    return render_template(
        "report_form.html", form=form, phone=phone, lines=lines, compound_of=compound_of, existing=existing,
        existing_code=display(existing.tracking_code) if existing else None, phone_token=phone_token,
        max_photos=MAX_PHOTOS, max_photo_mb=f"{photo_max_bytes() / (1024 * 1024):g}", **door.context), status


def _start(door: Door) -> ResponseReturnValue:
    phone = _confirmed_phone(door)
    if phone is None or door.kiosk_unit:
        return _phone_page(door, PhoneForm(formdata=None))
    found = _places(door)
    form = ResidentReportForm(formdata=None)
    _fill(form, found)
    if door.card and any(p.key == door.card for p in found):
        form.building.data = door.card
        form.compound.data = next(p.compound for p in found if p.key == door.card)
    return _form_page(door, form, _mask(phone), found)


def _send_code(door: Door) -> ResponseReturnValue:
    form = PhoneForm()
    if not form.validate_on_submit():
        return _phone_page(door, form, 422)
    try:
        with db_session() as session:
            codes.send_code(session, form.phone.data or "", wallclock.now(), current_language())
    except codes.TooMany as exc:
        form.phone.errors = [explain(exc)]
        return _phone_page(door, form, 429, exc.retry_after)
    except DomainError as exc:
        form.phone.errors = [explain(exc)]
        return _phone_page(door, form, 422)
    except DeliveryError:
        form.phone.errors = [_("The SMS could not be sent just now. Try again in a minute.")]
        return _phone_page(door, form, 503)
    code_form = PhoneCodeForm(formdata=None, phone=codes.normalize_phone(form.phone.data or ""))
    return render_template("report_code.html", form=code_form, masked=_mask(code_form.phone.data),
                           **door.context)


def _confirm(door: Door) -> ResponseReturnValue:
    form = PhoneCodeForm()
    masked = _mask(form.phone.data or "")
    if not form.validate_on_submit():
        return render_template("report_code.html", form=form, masked=masked, **door.context), 422
    refusal: DomainError | None = None
    with db_session() as session:
        try:
            codes.confirm_code(session, form.phone.data or "", form.code.data or "", wallclock.now())
        except DomainError as exc:
            refusal = exc  # caught inside the transaction: the wrong try is kept
    if refusal is not None:
        form.code.errors = [explain(refusal)]
        return render_template("report_code.html", form=form, masked=masked, **door.context), 422
    phone = codes.normalize_phone(form.phone.data or "")
    if door.kiosk_unit:
        found = _places(door)
        report_form = ResidentReportForm(formdata=None)
        _fill(report_form, found)
        token = _timed("kiosk-phone").dumps({"p": phone})
        return _form_page(door, report_form, _mask(phone), found, phone_token=token)
    response = redirect(door.url("start"))
    response.set_cookie(PHONE_COOKIE, _timed("report-phone").dumps({"p": phone}), max_age=PHONE_DAYS * 24 * 3600,
                        httponly=True, samesite="Lax", secure=request.is_secure)
    return response


def _photos(form: ResidentReportForm) -> list[Photo]:
    files = [f for f in request.files.getlist("photo") if f.filename]
    if len(files) > MAX_PHOTOS:
        form.photo.errors = [_("At most %(n)s photos per case.", n=MAX_PHOTOS)]
        return []
    photos: list[Photo] = []
    for upload in files:
        try:
            photos.append(prepare_photo(upload.read()))
        except PhotoRefused:
            form.photo.errors = [*form.photo.errors, _(
                "“%(name)s” is not a photo we can take (JPEG, PNG, WebP or HEIC, at most %(mb)s MB). "
                "Choose the photos again.", name=upload.filename or "?",
                mb=f"{photo_max_bytes() / (1024 * 1024):g}")]
    return photos


def _occurred(form: ResidentReportForm) -> datetime | None:
    value = form.occurred_at.data
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=ZoneInfo(config.timezone_name()))


def _submit(door: Door) -> ResponseReturnValue:
    phone = _confirmed_phone(door)
    if phone is None:
        return redirect(door.url("start"))
    phone_token = request.form.get("phone_token") if door.kiosk_unit else None
    found = _places(door)
    form = ResidentReportForm()
    _fill(form, found)
    masked = _mask(phone)
    if not form.validate_on_submit():
        return _form_page(door, form, masked, found, 422, phone_token=phone_token)
    photos = _photos(form)
    if form.photo.errors:
        return _form_page(door, form, masked, found, 422, phone_token=phone_token)
    now = wallclock.now()
    with db_session() as session:
        # The same form sent again (back, send): its first case, not the duplicate offer.
        first = filed_before(session, door.source, form.submission_id.data or "")
        if first is not None:
            return redirect(_done_url(door, first[0], first[1]))
        try:
            place = place_of(session, form.building.data or "", door.kiosk_unit)
        except DomainError as exc:
            form.building.errors = [explain(exc)]
            return _form_page(door, form, masked, found, 422, phone_token=phone_token)
        existing = limits.duplicate_of(session, phone, form.category.data or "", place.key, now)
    choice = request.form.get("duplicate", "")
    if existing is not None and choice == "add":
        try:
            with db_session() as session:
                applied = add_to_case(session, existing.case_id, phone, form.description.data or "", photos)
                notice_ids = applied.notice_ids
        except DomainError as exc:
            form.description.errors = [explain(exc)]
            return _form_page(door, form, masked, found, 409, phone_token=phone_token)
        publish_notices(notice_ids)
        return redirect(_done_url(door, existing.case_id, existing.tracking_code, added=True))
    if existing is not None and choice != "new":
        # Offered before anything is stored: the resident chooses to add or to open a new case.
        return _form_page(door, form, masked, found, 409, existing=existing, phone_token=phone_token)
    report = Report(
        submission_id=form.submission_id.data or str(uuid.uuid4()), category=Category(form.category.data),
        place=place, description=form.description.data or "", name=form.name.data or "", phone=phone,
        channel=door.channel, source=door.source, danger=bool(form.danger.data), occurred_at=_occurred(form),
        photos=photos)
    try:
        accepted = file_report(engine(), report, now)
    except codes.TooMany as exc:
        form.description.errors = [explain(exc)]
        return _form_page(door, form, masked, found, 429, phone_token=phone_token)
    except (DomainError, ValidationError) as exc:
        form.description.errors = [explain(exc) if isinstance(exc, DomainError) else str(exc.errors()[0]["msg"])]
        return _form_page(door, form, masked, found, 422, phone_token=phone_token)
    if not accepted.duplicate:
        publish_event(accepted.inbox_id)
    assert accepted.case_id is not None and accepted.tracking_code is not None
    return redirect(_done_url(door, accepted.case_id, accepted.tracking_code, danger=bool(form.danger.data)))


def _done_url(door: Door, case_id: int, code: str, *, added: bool = False, danger: bool = False) -> str:
    flags: dict[str, Any] = {**({"added": 1} if added else {}), **({"danger": 1} if danger else {})}
    token = slip_token(case_id, code)
    if door.kiosk_unit:
        return url_for("selfreport.kiosk_done", unit=door.kiosk_unit, k=door.kiosk_key, token=token, **flags)
    return url_for("selfreport.done", token=token, **flags)


def _done(door: Door, token: str) -> ResponseReturnValue:
    _case_id, code = _slip_of(token)
    shown = display(normalize(code))
    status_url = f"{config.public_base_url()}{url_for('resident.lookup', code=shown)}"
    qr = segno.make(status_url, error="m").svg_inline(scale=4, omitsize=False)
    return render_template("report_done.html", code=shown, status_url=status_url, qr=qr, token=token,
                           added=bool(request.args.get("added")), danger=bool(request.args.get("danger")),
                           **door.context)


# --------------------------------------------------------------------------------------
# Routes: the public form
# --------------------------------------------------------------------------------------

@bp.get("/report")
def start() -> ResponseReturnValue:
    """The public form: the phone first, then the report (a card's link prefills the building)."""
    return _start(_public_door())


@bp.post("/report/code")
@limiter.shared_limit(code_limit, scope="report-code")
def send_code() -> ResponseReturnValue:
    """Send a six-digit code to the phone typed (limited per phone and per address)."""
    return _send_code(_public_door())


@bp.post("/report/confirm")
@limiter.shared_limit(confirm_limit, scope="report-confirm")
def confirm() -> ResponseReturnValue:
    """Check the code; a confirmed phone is remembered in this browser for 30 days."""
    return _confirm(_public_door())


@bp.post("/report")
@limiter.limit("30 per hour")
def submit() -> ResponseReturnValue:
    """Store the report as a case (or add it to the resident's open one) and show the slip."""
    return _submit(_public_door())


@bp.post("/report/forget")
def forget() -> ResponseReturnValue:
    """Forget the confirmed phone in this browser (another phone, a shared computer)."""
    response = redirect(url_for("selfreport.start"))
    response.delete_cookie(PHONE_COOKIE)
    return response


@bp.get("/report/done/<token>")
def done(token: str) -> ResponseReturnValue:
    """The slip: tracking code, status page link and QR code, save as image."""
    return _done(_public_door(), token)


@bp.get("/report/slip/<token>.png")
def slip_image(token: str) -> ResponseReturnValue:
    """The slip as a PNG image, to keep on the phone."""
    _case_id, code = _slip_of(token)
    shown = display(normalize(code))
    status_url = f"{config.public_base_url()}{url_for('resident.lookup', code=shown)}"
    png = slip_png(shown, status_url, [_("Your case is registered"), _("Tracking code"),
                                       _("You will get an SMS when there is news."), _("Follow your case at")])
    return Response(png, mimetype="image/png",
                    headers={"Content-Disposition": f'attachment; filename="gridcase-{normalize(code)}.png"'})


def slip_png(code: str, status_url: str, words: list[str]) -> bytes:
    """Draw the slip (title, code, QR code, status address) as a PNG with the Chinese font."""
    title, code_word, news, follow = words
    width, height = 720, 1000
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font_path = os.environ.get("GRIDCASE_PDF_FONT") or "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
    try:
        big, mid, small = (ImageFont.truetype(font_path, size) for size in (44, 56, 26))
    except OSError:
        big = mid = small = ImageFont.load_default()  # type: ignore[assignment]
    draw.text((width // 2, 60), title, fill="black", font=big, anchor="mm")
    draw.text((width // 2, 140), code_word, fill="#444", font=small, anchor="mm")
    draw.text((width // 2, 200), code, fill="black", font=mid, anchor="mm")
    buffer = io.BytesIO()
    segno.make(status_url, error="m").save(buffer, kind="png", scale=10, border=2)
    qr = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    image.paste(qr, ((width - qr.width) // 2, 260))
    y = 260 + qr.height + 30
    draw.text((width // 2, y), follow, fill="#444", font=small, anchor="mm")
    draw.text((width // 2, y + 40), status_url, fill="black", font=small, anchor="mm")
    draw.text((width // 2, y + 100), news, fill="black", font=small, anchor="mm")
    out = io.BytesIO()
    image.crop((0, 0, width, min(height, y + 150))).save(out, format="PNG")
    return out.getvalue()


# --------------------------------------------------------------------------------------
# Routes: the touch screen
# --------------------------------------------------------------------------------------

@bp.get("/kiosk/<unit>")
def kiosk_start(unit: str) -> ResponseReturnValue:
    """The touch screen's first step (the key in the URL, no login)."""
    return _start(_kiosk_door(unit))


@bp.post("/kiosk/<unit>/code")
@limiter.limit(kiosk_code_limit, key_func=_kiosk_key)
def kiosk_send_code(unit: str) -> ResponseReturnValue:
    """Send a code from the touch screen."""
    return _send_code(_kiosk_door(unit))


@bp.post("/kiosk/<unit>/confirm")
@limiter.limit(kiosk_code_limit, key_func=_kiosk_key)
def kiosk_confirm(unit: str) -> ResponseReturnValue:
    """Check the code on the touch screen; the phone is carried by the page only."""
    return _confirm(_kiosk_door(unit))


@bp.post("/kiosk/<unit>/report")
def kiosk_submit(unit: str) -> ResponseReturnValue:
    """Store the touch screen's report."""
    return _submit(_kiosk_door(unit))


@bp.get("/kiosk/<unit>/done/<token>")
def kiosk_done(unit: str, token: str) -> ResponseReturnValue:
    """The slip on the touch screen, to print on the centre's printer."""
    return _done(_kiosk_door(unit), token)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> ResponseReturnValue:
    return render_template("error.html", status=413, message=_(
        "The photos were too large together: at most %(n)s photos of %(mb)s MB each. Nothing was stored.",
        n=MAX_PHOTOS, mb=f"{photo_max_bytes() / (1024 * 1024):g}")), 413
