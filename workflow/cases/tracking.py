"""Tracking codes residents use to follow their own case: 80 random bits, easy to read aloud."""

from __future__ import annotations

import base64
import secrets

# Crockford-style alphabet: no I, L, O or U, so a code read over the phone is not misheard.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_FROM_STANDARD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)
_TYPOS = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})
CODE_LENGTH = 16  # 16 characters of 5 bits: 80 bits of randomness


def new_tracking_code() -> str:
    """Return a fresh tracking code of 80 random bits (16 characters, no dashes)."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")
    return raw.translate(_FROM_STANDARD)


def normalize(code: str) -> str:
    """Return the stored form of a code a person typed: upper case, no dashes or spaces."""
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    return cleaned.translate(_TYPOS)


def display(code: str) -> str:
    """Return a code in groups of four, as printed on the resident's slip."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
