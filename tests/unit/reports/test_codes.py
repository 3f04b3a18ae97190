"""The phone check: a six-digit code by SMS, ten minutes, three tries, limited per phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tests.unit.reports.helpers import last_code, sms_count
from workflow.base.db import unit_of_work
from workflow.base.errors import InvalidInput
from workflow.reports.codes import TooMany, confirm_code, normalize_phone, send_code
from workflow.reports.models import PhoneCode

PHONE = "13912345678"
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def send(engine: Engine, at: datetime, phone: str = PHONE) -> None:
    with unit_of_work(engine) as session:
        send_code(session, phone, at, "zh_Hans")


def confirm(engine: Engine, code: str, at: datetime, phone: str = PHONE) -> InvalidInput | None:
    # As the page does: the refusal is caught inside the transaction, so a wrong try is kept.
    with unit_of_work(engine) as session:
        try:
            confirm_code(session, phone, code, at)
        except InvalidInput as exc:
            return exc
    return None


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_the_code_arrives_by_sms_and_confirms_the_phone_once(engine: Engine, sms_sink: Path) -> None:
    send(engine, T0)
    code = last_code(sms_sink, PHONE)
    assert "10分钟内有效" in sms_sink.read_text(encoding="utf-8")
    assert confirm(engine, code, T0 + timedelta(minutes=9, seconds=59)) is None
    again = confirm(engine, code, T0 + timedelta(minutes=10))
    assert again is not None and "ask for a code first" in again.message  # a code confirms once


def test_a_code_expires_after_ten_minutes(engine: Engine, sms_sink: Path) -> None:
    send(engine, T0)
    refused = confirm(engine, last_code(sms_sink, PHONE), T0 + timedelta(minutes=10))
    assert refused is not None and "expired" in refused.message


def test_three_wrong_tries_spend_the_code(engine: Engine, sms_sink: Path) -> None:
    send(engine, T0)
    code = last_code(sms_sink, PHONE)
    first = confirm(engine, wrong(code), T0 + timedelta(seconds=10))
    second = confirm(engine, wrong(code), T0 + timedelta(seconds=20))
    third = confirm(engine, wrong(code), T0 + timedelta(seconds=30))
    assert first is not None and "2 tries left" in first.message
    assert second is not None and "1 tries left" in second.message
    assert third is not None and "no longer works" in third.message
    right_too_late = confirm(engine, code, T0 + timedelta(seconds=40))
    assert right_too_late is not None and "no longer works" in right_too_late.message
    # A new code works again.
    send(engine, T0 + timedelta(minutes=2))
    assert confirm(engine, last_code(sms_sink, PHONE), T0 + timedelta(minutes=3)) is None


def test_codes_are_limited_per_phone(engine: Engine, sms_sink: Path) -> None:
    send(engine, T0)
    with pytest.raises(TooMany) as soon:
        send(engine, T0 + timedelta(seconds=30))
    assert soon.value.retry_after == 30
    for minute in range(1, 5):
        send(engine, T0 + timedelta(minutes=minute * 2))
    with pytest.raises(TooMany) as hourly:
        send(engine, T0 + timedelta(minutes=20))
    assert hourly.value.retry_after == 40 * 60  # the first of the five leaves the hour at T0 + 60 min
    assert sms_count(sms_sink, PHONE) == 5
    send(engine, T0 + timedelta(minutes=61))  # an hour later the phone may ask again
    send(engine, T0 + timedelta(seconds=5), phone="13900000000")  # another phone was never held back


def test_only_hashes_are_kept_of_the_phone_and_the_code(engine: Engine, sms_sink: Path) -> None:
    send(engine, T0)
    code = last_code(sms_sink, PHONE)
    with unit_of_work(engine) as session:
        row = session.scalars(select(PhoneCode)).one()
        assert PHONE not in (row.phone_hash + row.code_hash) and code not in row.code_hash


def test_phones_are_mobiles_typed_any_usual_way(engine: Engine) -> None:
    assert normalize_phone("+86 139-1234-5678") == PHONE
    with pytest.raises(InvalidInput):
        normalize_phone("010-12345678")
    with pytest.raises(InvalidInput), unit_of_work(engine) as session:
        send_code(session, "12345", T0)
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(PhoneCode)) == 0
