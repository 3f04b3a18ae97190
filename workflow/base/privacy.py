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


# One set of patterns for every piece of free text (descriptions, reasons, summaries, messages,
# notes, comments, captions, notices). Each number must stand alone, with no digit right before
# or after it, so a longer run of digits is judged as a whole.
_SEP = r"[ \-]?"
_NUMBER = re.compile(
    r"(?<!\d)(?:"
    # 18-digit resident ID (the last may be X) with a real month and day in its birth date, or the
    # first-generation 15-digit one. 18 digits without such a date are a card number.
    r"(?P<id>\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]|\d{15})"
    # Bank card: 16 to 19 digits, whole or in groups of four.
    r"|(?P<card>\d{4}(?:[ \-]\d{4}){3}(?:[ \-]\d{1,3})?|\d{16,19})"
    # Mainland mobile, with or without +86, with or without separators (138 1234 5678).
    r"|(?P<mobile>(?:\+?86" + _SEP + r")?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4})"
    # Landline: area code 0xx or 0xxx, with or without brackets, then 7 or 8 digits.
    r"|(?P<landline>(?:0\d{2,3}[ \-]?|[(（]0\d{2,3}[)）] ?)\d{7,8})"
    r")(?!\d)",
    re.ASCII,
)
# Chinese input methods type full-width digits and signs (１３８…); they are matched as their
# ASCII twins, one character for one, so the places found are the places in the original text.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ＋－", "0123456789Xx+-")
# How many digits of each kind stay visible at the start and at the end.
_KEEP = {"id": (4, 4), "card": (0, 4), "mobile": (3, 4), "landline": (3, 2)}


def _mask_digits(text: str, head: int, tail: int) -> str:
    """Star every digit of ``text`` but the first ``head`` and the last ``tail``; keep the separators."""
    positions = [i for i, ch in enumerate(text) if ch.isdigit() or (ch in "Xx" and i == len(text) - 1)]
    hidden = set(positions[head:len(positions) - tail] if tail else positions[head:])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def _mask_match(match: re.Match[str]) -> str:
    kind = match.lastgroup or "card"
    head, tail = _KEEP[kind]
    text = match.group(0)
    if kind == "mobile":
        # +86 and the number's first three digits stay: the masked part is the same 4 digits as without it.
        digits = sum(ch.isdigit() for ch in text)
        head += digits - 11
    return _mask_digits(text, head, tail)


def scrub(text: str) -> str:
    """Mask mobile numbers, landlines, ID numbers and bank card numbers in free text.

    ``138****5678``, ``1101**********777X``, ``************7890``, ``010-******78``: the
    text around them, the separators and the length are kept.
    """
    plain = text.translate(_HALF_WIDTH)
    pieces, last = [], 0
    for match in _NUMBER.finditer(plain):
        start, end = match.span()
        masked = zip(_mask_match(match), text[start:end], strict=True)
        pieces += [text[last:start], "".join(m if m == "*" else original for m, original in masked)]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def scrub_optional(text: str | None) -> str | None:
    """Return ``scrub(text)``, or None for None."""
    return None if text is None else scrub(text)
