"""Masking of residents' personal data for every view that does not need it (PIPL)."""

from __future__ import annotations

import re


def mask_phone(phone: str | None) -> str | None:
    """Return ``138****5678`` for ``13812345678``: the first three and last four digits."""
    if not phone:
        return phone
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]  # +86 mobile: mask the number people recognise
    if len(digits) <= 7:
        return "*" * max(len(digits) - 2, 1) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    """Return ``王*明`` for ``王小明`` and ``王*`` for ``王明``: first and last character kept."""
    if not name:
        return name
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def phone_ends_with(phone: str | None, last4: str) -> bool:
    """Tell whether a phone number ends with the four digits a resident typed."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return len(digits) >= 4 and digits[-4:] == last4


_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9Xx])(\d{4})\d{10}(\d{3}[0-9Xx])(?![0-9Xx])")


def scrub(text: str) -> str:
    """Mask 11-digit mobile numbers and 18-digit ID numbers in free text before it goes out."""
    return _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), _MOBILE.sub(r"\1****\3", text))
