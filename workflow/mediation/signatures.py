"""Reading a signature or a photo sent as base64 (or a data URL): checked to be the image it claims."""

from __future__ import annotations

import base64
import binascii

from workflow.base.errors import N_, InvalidInput

MAX_BYTES = 2 * 1024 * 1024
_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def decode_image(value: str, *, png_only: bool, field: str = "signature") -> tuple[bytes, str]:
    """Return the bytes and content type of a base64 PNG (or JPEG photo), with or without a data: prefix.

    Raises:
        InvalidInput: not base64, not a PNG (or JPEG where allowed), or larger than 2 MiB.
    """
    text = value.strip()
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(N_("%(field_name)s is not base64"), field=field, field_name=field) from exc
    if len(data) > MAX_BYTES:
        raise InvalidInput(N_("%(field_name)s is larger than 2 MiB"), field=field, field_name=field)
    kind = next((ct for magic, ct in _MAGIC.items() if data.startswith(magic)), None)
    if kind is None or (png_only and kind != "image/png"):
        expected = "PNG" if png_only else "PNG or JPEG"
        raise InvalidInput(N_("%(field_name)s must be a %(expected)s image"), field=field, field_name=field,
                           expected=expected)
    return data, kind
