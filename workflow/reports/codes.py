"""The phone check: a six-digit code by SMS, valid ten minutes, three tries, limited per phone.

Only hashes of the phone and of the code are kept, so a table of pending codes says nothing of who
asked before the phone is confirmed. The code goes through the notices' SMS sender (by default the
SMS file), as every other SMS does.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.base.errors import N_, DomainError, InvalidInput
from workflow.base.vault import blind
from workflow.notices.channels.base import Message
from workflow.notices.channels.sms import Sms
from workflow.reports.models import PhoneCode

CODE_LIFETIME = timedelta(minutes=10)
MAX_TRIES = 3
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")

TEXTS = {
    "zh_Hans": "您的验证码是 {code}，10分钟内有效，用于向网格反映问题。请勿告诉他人。",
    "zh_Hant": "您的驗證碼是 {code}，10分鐘內有效，用於向網格反映問題。請勿告訴他人。",
    "en": "Your code is {code}, valid for 10 minutes, to report a problem to your grid. Do not share it.",
}


class TooMany(DomainError):
    """Too many codes or tries: wait ``retry_after`` seconds."""

    code = "too_many"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None, **params: object) -> None:
        """Keep the sentence and how long to wait."""
        super().__init__(message, field=field, **params)
        self.retry_after = retry_after


def normalize_phone(text: str) -> str:
    """Return an 11-digit mainland mobile number from what was typed (spaces, dashes, +86 allowed).

    Raises:
        InvalidInput: it is not a mobile number an SMS can reach.
    """
    digits = re.sub(r"[\s\-()]", "", text or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _MOBILE.match(digits):
        raise InvalidInput(N_("give a mobile number of 11 digits, such as 13800138000"), field="phone")
    return digits


def phone_hash(phone: str) -> str:
    """Return the keyed hash a phone is counted by (codes, the daily cap, duplicates): the vault's blind index.

    Keyed, because an unkeyed hash of an 11-digit mobile number is undone by trying them all.
    """
    return blind(phone, "phone") or ""


def _code_hash(phone: str, code: str) -> str:
    return hmac.new(phone_hash(phone).encode(), code.encode(), hashlib.sha256).hexdigest()


def min_interval() -> int:
    """Return the seconds a phone waits between two codes (``GRIDCASE_REPORT_CODE_INTERVAL``, 60)."""
    return int(os.environ.get("GRIDCASE_REPORT_CODE_INTERVAL", "60"))


def per_hour() -> int:
    """Return how many codes one phone may be sent in an hour (``GRIDCASE_REPORT_CODES_PER_HOUR``, 5)."""
    return int(os.environ.get("GRIDCASE_REPORT_CODES_PER_HOUR", "5"))


def _check_rate(session: Session, digest: str, now: datetime) -> None:
    last = session.scalar(select(func.max(PhoneCode.sent_at)).where(PhoneCode.phone_hash == digest))
    if last is not None and now - last < timedelta(seconds=min_interval()):
        wait = math.ceil(min_interval() - (now - last).total_seconds())
        raise TooMany(N_("a code was just sent to this phone; wait %(seconds)s seconds before asking again"),
                      field="phone", retry_after=wait, seconds=wait)
    hour_ago = now - timedelta(hours=1)
    sent = list(session.scalars(select(PhoneCode.sent_at).where(
        PhoneCode.phone_hash == digest, PhoneCode.sent_at > hour_ago).order_by(PhoneCode.sent_at)))
    if len(sent) >= per_hour():
        wait = math.ceil((sent[0] + timedelta(hours=1) - now).total_seconds())
        raise TooMany(N_("too many codes for this phone in the last hour; try again in %(minutes)s minutes"),
                      field="phone", retry_after=wait, minutes=wait // 60 + 1)


def send_code(session: Session, phone: str, now: datetime, language: str = "zh_Hans") -> None:
    """Send a fresh six-digit code to ``phone`` and keep its hash for ten minutes.

    Raises:
        InvalidInput: not a mobile number.
        TooMany: a code was sent to this phone less than a minute ago, or five in the last hour.
        DeliveryError: the SMS sender failed (nothing is kept then).
    """
    phone = normalize_phone(phone)
    digest = phone_hash(phone)
    _check_rate(session, digest, now)
    code = f"{secrets.randbelow(10**6):06d}"
    text = TEXTS.get(language, TEXTS["zh_Hans"]).format(code=code)
    # Sent before the row is kept: a failed send leaves nothing and does not count against the phone.
    Sms().send(Message(id=str(uuid.uuid4()), target=phone, title="", body=text, topic="report.code",
                       language=language))
    session.add(PhoneCode(phone_hash=digest, code_hash=_code_hash(phone, code), sent_at=now,
                          expires_at=now + CODE_LIFETIME, tries=0))
    session.flush()


def confirm_code(session: Session, phone: str, code: str, now: datetime, *, again: bool = False) -> None:
    """Confirm ``phone`` with the last code sent to it: right, unexpired, within three tries.

    A wrong code counts a try; the third wrong one spends the code, so a new one must be asked for.
    With ``again`` a code already confirmed still works until it expires (the API's client sends the
    same code with a report it had to change, such as after the duplicate offer).

    Raises:
        InvalidInput: not a mobile number, no code asked for, the code expired or spent, or it is wrong.
    """
    phone = normalize_phone(phone)
    row = session.scalars(select(PhoneCode).where(PhoneCode.phone_hash == phone_hash(phone))
                          .order_by(PhoneCode.sent_at.desc(), PhoneCode.id.desc()).limit(1)).first()
    if row is None or (row.confirmed_at is not None and not again):
        raise InvalidInput(N_("no code was asked for this phone; ask for a code first"), field="code")
    if now >= row.expires_at:
        raise InvalidInput(N_("this code has expired (codes are valid for 10 minutes); ask for a new one"),
                           field="code")
    if row.tries >= MAX_TRIES:
        raise InvalidInput(N_("three wrong codes: this code no longer works; ask for a new one"), field="code")
    if not hmac.compare_digest(row.code_hash, _code_hash(phone, (code or "").strip())):
        row.tries += 1
        left = MAX_TRIES - row.tries
        if left <= 0:
            raise InvalidInput(N_("three wrong codes: this code no longer works; ask for a new one"), field="code")
        raise InvalidInput(N_("wrong code; %(left)s tries left"), field="code", left=left)
    row.confirmed_at = now
