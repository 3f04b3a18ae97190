"""Masking of personal data and the tracking codes residents hold."""

from __future__ import annotations

import math

import pytest

from workflow.base.privacy import mask_name, mask_phone, phone_ends_with
from workflow.cases.tracking import CODE_LENGTH, display, new_tracking_code, normalize


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"), ("+86 138-1234-5678", "138****5678"), ("0476-8123456", "047****3456"),
    (None, None), ("12345", "***45"),
])
def test_phone_keeps_only_the_ends(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(("name", "masked"), [("王小明", "王*明"), ("王明", "王*"), ("欧阳娜娜", "欧**娜"), ("王", "*")])
def test_name_keeps_first_and_last_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_phone_last_four_must_match_digits() -> None:
    assert phone_ends_with("138-1234-5678", "5678")
    assert not phone_ends_with("13812345678", "5679")
    assert not phone_ends_with(None, "5678")


def test_tracking_codes_carry_80_random_bits_and_do_not_repeat() -> None:
    codes = {new_tracking_code() for _ in range(5000)}
    assert len(codes) == 5000
    alphabet = {ch for code in codes for ch in code}
    assert len(alphabet) == 32
    assert CODE_LENGTH * math.log2(len(alphabet)) >= 80
    assert all(len(c) == CODE_LENGTH for c in codes)


def test_typed_code_is_normalized() -> None:
    code = new_tracking_code()
    assert normalize(display(code).lower()) == code
    assert normalize(" abcd-efgh-ijkl-mnop ") == "ABCDEFGH1JK1MN0P"
