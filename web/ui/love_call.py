"""The 爱心呼叫 one-tap link: a signed URL on a card with a QR code; a tap logs a P1 case at the resident's address."""

from __future__ import annotations

import segno
from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer

from web.session import db_session, engine, publish_event, publish_notices
from web.ui.accounts import login_required, member_row
from web.ui.security import limiter, protect_forms
from workflow.base import config, wallclock
from workflow.base.errors import DomainError
from workflow.cases.intake import accept_submission
from workflow.cases.tracking import display
from workflow.registry.lovecall import answer_call, call_event, caller
from workflow.registry.register import address_label, get_household, may_see_full

bp = Blueprint("lovecall", __name__)
protect_forms(bp)


def _signer() -> URLSafeSerializer:
    # Signed with the app's secret key: a card's link cannot be made up for another resident.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="love-call")


def link_token(resident_id: int) -> str:
    """Return the signed token of a resident's one-tap link."""
    return str(_signer().dumps({"r": resident_id}))


def _resident_of(token: str) -> int:
    try:
        payload = _signer().loads(token)
    except BadSignature:
        abort(404)
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), int):
        abort(404)
    return int(payload["r"])


@bp.get("/registry/residents/<int:resident_id>/love-card")
@login_required
def card(resident_id: int) -> ResponseReturnValue:
    """A printable card with the resident's one-tap link and its QR code (staff who see full details)."""
    with db_session() as session:
        user = member_row(session)
        try:
            resident = caller(session, resident_id)
            get_household(session, resident.household_id, user)
        except DomainError:
            abort(404)
        if not may_see_full(user):
            abort(403)
        label = address_label(resident.household.address)
    url = f"{config.public_base_url()}/love/{link_token(resident_id)}"
    qr = segno.make(url, error="m").svg_inline(scale=4, omitsize=False)
    return render_template("love_card.html", url=url, qr=qr, address=label)


@bp.get("/love/<token>")
def tap_page(token: str) -> ResponseReturnValue:
    """The page the card opens: one big button."""
    _resident_of(token)
    return render_template("love_call.html", token=token, answer=None)


@bp.post("/love/<token>")
@limiter.limit("10 per minute")
def tap(token: str) -> ResponseReturnValue:
    """A tap: a P1 case on channel love_call at the resident's address; taps in the same minute are one case."""
    resident_id = _resident_of(token)
    try:
        with db_session() as session:
            event = call_event(session, resident_id, wallclock.now())
    except DomainError:
        abort(404)
    accepted = accept_submission(engine(), event)
    notice = None
    if accepted.case_id is not None:
        with db_session() as session:
            row = answer_call(session, resident_id, accepted.case_id, wallclock.now())
            notice = row.id if row is not None else None
    if notice is not None:
        publish_notices([notice])
    if not accepted.duplicate:
        publish_event(accepted.inbox_id)
    return render_template("love_call.html", token=token, answer=display(accepted.tracking_code or ""))
