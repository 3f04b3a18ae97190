"""Masking of residents' personal data for every view that does not need it (PIPL)."""

from __future__ import annotations


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
