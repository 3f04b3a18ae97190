"""Photos taken with a case: decoded, downscaled and stripped of EXIF, kept in the data folder, listed on the case."""

from __future__ import annotations

import io
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.text import MAX_ID
from workflow.base import config, wallclock
from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.base.private_files import private_dir, write_private
from workflow.cases.models import Attachment, Case

# HEIC is what iPhones take by default; pillow-heif teaches Pillow to read it.
pillow_heif.register_heif_opener()

# The formats accepted, as Pillow names them, with the extension an original is kept under.
_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}
# The copy shown on the pages: long edge in pixels and JPEG quality. 1600 px reads well on a
# phone and a desk screen and weighs a few hundred KB where the camera's file weighs megabytes.
VIEW_EDGE = 1600
VIEW_QUALITY = 85
# Photos one form may carry (each up to photo_max_bytes()).
MAX_PHOTOS = 6


def photo_max_bytes() -> int:
    """Return the largest photo accepted, in bytes (``GRIDCASE_PHOTO_MAX_MB``, default 20)."""
    return int(float(os.environ.get("GRIDCASE_PHOTO_MAX_MB", "20")) * 1024 * 1024)


def keep_original() -> bool:
    """Tell whether the file as uploaded is kept beside the viewing copy (``GRIDCASE_PHOTO_KEEP_ORIGINAL=1``)."""
    return os.environ.get("GRIDCASE_PHOTO_KEEP_ORIGINAL", "") in {"1", "true", "yes"}


def upload_dir() -> Path:
    """Return the folder photos are kept in (``uploads`` in the data folder)."""
    return config.data_dir() / "uploads"


class PhotoRefused(InvalidInput):
    """A photo that cannot be kept; ``reason`` is ``empty``, ``too_large`` or ``not_image``."""

    def __init__(self, message: str, reason: str, **params: Any) -> None:
        """Keep the reason, for the pages to say it in the reader's language."""
        super().__init__(message, field="photo", **params)
        self.reason = reason


@dataclass(frozen=True)
class Photo:
    """A photo checked and converted, ready to keep: the viewing copy, and the original where it is kept."""

    view: bytes
    original: bytes | None  # None unless keep_original(): six phone photos need not wait in memory
    original_extension: str


def prepare_photo(data: bytes) -> Photo:
    """Check a photo by decoding it; return a JPEG copy at most ``VIEW_EDGE`` wide, upright, with no EXIF.

    Raises:
        PhotoRefused: the photo is empty, too large or not a JPEG, PNG, WebP or HEIC image.
    """
    if not data:
        raise PhotoRefused(N_("the photo is empty"), "empty")
    limit = photo_max_bytes()
    if len(data) > limit:
        raise PhotoRefused(N_("the photo is larger than %(size)s MB"), "too_large", size=f"{limit / (1024 * 1024):g}")
    try:
        with warnings.catch_warnings():
            # A small file claiming a huge picture would fill the memory when decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(_FORMATS)) as image:
                kind = image.format or ""
                image.draft("RGB", (VIEW_EDGE, VIEW_EDGE))  # JPEG: decode at a reduced scale, much faster
                upright = ImageOps.exif_transpose(image)
                upright.thumbnail((VIEW_EDGE, VIEW_EDGE))
                view = _flatten(upright)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
            ValueError, SyntaxError) as exc:
        raise PhotoRefused(N_("the photo must be a JPEG, PNG, WebP or HEIC image"), "not_image") from exc
    out = io.BytesIO()
    # Saved without exif=: the copy carries no location, camera or time of the original.
    view.save(out, "JPEG", quality=VIEW_QUALITY, optimize=True)
    return Photo(out.getvalue(), data if keep_original() else None, _FORMATS[kind])


def _flatten(image: Image.Image) -> Image.Image:
    """Return an RGB image; transparency (PNG, WebP) is laid on white, as a page would show it."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def add_photo(session: Session, case: Case, photo: Photo | bytes, uploaded_by: str) -> Attachment:
    """Keep a photo with a case; the files are written before the row, so a row never lacks its file.

    Raises:
        PhotoRefused: raw bytes that are empty, too large or not an image.
    """
    prepared = photo if isinstance(photo, Photo) else prepare_photo(photo)
    stem = f"{case.id}-{secrets.token_hex(8)}"
    folder = private_dir(upload_dir())
    name = f"{stem}.jpg"
    write_private(folder / name, prepared.view)
    original_name = None
    if prepared.original is not None:
        original_name = f"{stem}.original.{prepared.original_extension}"
        write_private(folder / original_name, prepared.original)
    row = Attachment(case_id=case.id, file_name=name, content_type="image/jpeg", size=len(prepared.view),
                     original_file_name=original_name, uploaded_by=uploaded_by, at=wallclock.now())
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
    row = session.get(Attachment, attachment_id) if 0 < attachment_id <= MAX_ID else None
    if row is None or row.case_id != case_id:
        raise NotFound(N_("case %(case_id)s has no photo %(photo)s"), case_id=case_id, photo=attachment_id)
    path = upload_dir() / row.file_name
    if not path.is_file():
        raise NotFound(N_("the file of photo %(photo)s is missing"), photo=attachment_id)
    return path, row.content_type
