"""Resident ID numbers (居民身份证号码) as GB 11643-1999 defines them: 17 digits and a check character."""

from __future__ import annotations

import re
from datetime import date

from workflow.base.errors import N_

# ISO 7064 MOD 11-2 weights of the 17 digits, and the check character for each remainder.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_FORMAT = re.compile(r"^\d{17}[\dX]$")


def check_character(first17: str) -> str:
    """Return the check character (0-9 or X) of the first 17 digits of an ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalise(value: str) -> str:
    """Return the ID number without spaces and with an upper-case X."""
    return "".join(value.split()).upper()


def problem(value: str) -> str | None:
    """Return why an ID number is not valid (format, birth date, checksum), or None if it is."""
    number = normalise(value)
    if not _FORMAT.match(number):
        return N_("must be 18 characters: 17 digits and a digit or X")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return N_("holds no valid birth date")
    if born.year < 1880:
        return N_("holds no valid birth date")
    if check_character(number[:17]) != number[17]:
        return N_("fails the GB 11643 checksum")
    return None


def birth_date(value: str) -> date:
    """Return the birth date written in a valid ID number."""
    number = normalise(value)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def sex(value: str) -> str:
    """Return ``M`` or ``F`` from the 17th digit of a valid ID number (odd is male)."""
    return "M" if int(normalise(value)[16]) % 2 else "F"


def make(first17: str) -> str:
    """Return a valid ID number from its first 17 digits (demo data and tests)."""
    return first17 + check_character(first17)
