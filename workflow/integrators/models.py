"""The integrators' tables: their keys, and the cases each key filed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.base.db import Base, UTCDateTime
from workflow.base.vault import EncryptedJSON
from workflow.cases.models import Case


class Integrator(Base):
    """A system allowed to file cases (and follow them): one API key, kept as its SHA-256 only."""

    __tablename__ = "integrators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, to tell keys apart in a listing without storing them.
    key_prefix: Mapped[str] = mapped_column(String(12))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    rate: Mapped[str] = mapped_column(String(40))
    # The CloudEvent source of everything the key submits: every case says who filed it.
    source: Mapped[str] = mapped_column(String(500), unique=True)
    # ``batch``: Open311 POST answers a token instead of the request id (the spec's async mode).
    answer: Mapped[str] = mapped_column(String(10), default="realtime", server_default="realtime")
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IntegratorRequest(Base):
    """A case a key filed, with what an Open311 request carried beyond the case itself."""

    __tablename__ = "integrator_requests"
    __table_args__ = (Index("ix_integrator_requests_retry", "integrator_id", "digest", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integrator_id: Mapped[int] = mapped_column(ForeignKey("integrators.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    via: Mapped[str] = mapped_column(String(20))  # open311 or cloudevents
    # SHA-256 of the request's content: the same content from the same key within the
    # window is a client retrying, and gets the first answer.
    digest: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(String(40), unique=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(500))
    address_id: Mapped[str | None] = mapped_column(String(64))
    media_url: Mapped[str | None] = mapped_column(String(1000))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Who submitted, as the client knows them; never shown back (personal data).
    contact: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON("integrator_requests.contact"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(lazy="joined")
    integrator: Mapped[Integrator] = relationship(lazy="joined")
