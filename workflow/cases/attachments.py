"""Photos taken with a case: checked by their bytes, kept in the data folder, listed on the case."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.base import config, wallclock
from workflow.base.errors import InvalidInput, NotFound
from workflow.base.private_files import private_dir, write_private
from workflow.cases.models import Attachment, Case

MAX_PHOTO_BYTES = 8 * 1024 * 1024
# The first bytes of each accepted format: the browser's Content-Type is only a claim.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"RIFF", "image/webp", "webp"),
)


def upload_dir() -> Path:
    """Return the folder photos are kept in (``uploads`` in the data folder)."""
    return config.data_dir() / "uploads"


def _kind(data: bytes) -> tuple[str, str]:
    for magic, content_type, extension in _SIGNATURES:
        if data.startswith(magic) and (content_type != "image/webp" or data[8:12] == b"WEBP"):
            return content_type, extension
    raise InvalidInput("the photo must be a JPEG, PNG or WebP image", field="photo")


def add_photo(session: Session, case: Case, data: bytes, uploaded_by: str) -> Attachment:
    """Keep a photo with a case; the file is written before the row, so a row never lacks its file.

    Raises:
        InvalidInput: the photo is empty, too large or not an image.
    """
    if not data:
        raise InvalidInput("the photo is empty", field="photo")
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInput(f"the photo is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB", field="photo")
    content_type, extension = _kind(data)
    name = f"{case.id}-{secrets.token_hex(8)}.{extension}"
    write_private(private_dir(upload_dir()) / name, data)
    row = Attachment(case_id=case.id, file_name=name, content_type=content_type, size=len(data),
                     uploaded_by=uploaded_by, at=wallclock.now())
    session.add(row)
    session.flush()
    return row


def photos_of(session: Session, case_id: int) -> list[Attachment]:
    """Return a case's photos, oldest first."""
    return list(session.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)))


def photo_file(session: Session, case_id: int, attachment_id: int) -> tuple[Path, str]:
    """Return the file and content type of one photo of a case.

    Raises:
        NotFound: the case has no such photo, or its file is gone.
    """
    row = session.get(Attachment, attachment_id)
    if row is None or row.case_id != case_id:
        raise NotFound(f"case {case_id} has no photo {attachment_id}")
    path = upload_dir() / row.file_name
    if not path.is_file():
        raise NotFound(f"the file of photo {attachment_id} is missing")
    return path, row.content_type
