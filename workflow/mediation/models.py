"""The mediation tables: mediations, parties' consent, mediators, sessions, agreement versions, signatures."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.base.db import Base, UTCDateTime
from workflow.base.vault import Encrypted, EncryptedJSON
from workflow.cases.models import Case, CaseParty
from workflow.org.models import Unit, User


class Mediation(Base):
    """A mediation of a case's dispute, run by the unit that held the case when it was proposed."""

    __tablename__ = "mediations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    # "informal" at a branch, "committee" (人民调解委员会) at a general branch.
    kind: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # From the case's deadline policy (30 days by default), armed on the clock (workflow/mediation/clock.py).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped when the mediation enters another phase: deadlines armed under an older token are stale.
    clock_token: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    outcome: Mapped[str | None] = mapped_column(Text)
    # Members who revealed the parties in full (each a step on the timeline).
    revealed_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    case: Mapped[Case] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")
    parties: Mapped[list[MediationParty]] = relationship(order_by="MediationParty.id", cascade="all, delete-orphan")
    mediators: Mapped[list[MediationMediator]] = relationship(order_by="MediationMediator.id",
                                                              cascade="all, delete-orphan")
    sessions: Mapped[list[MediationSession]] = relationship(order_by="MediationSession.id",
                                                            cascade="all, delete-orphan")
    agreements: Mapped[list[Agreement]] = relationship(order_by="Agreement.version", cascade="all, delete-orphan")


class MediationParty(Base):
    """A party of the case in a mediation, with their consent or refusal and how it was given."""

    __tablename__ = "mediation_parties"
    __table_args__ = (UniqueConstraint("mediation_id", "case_party_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mediation_id: Mapped[int] = mapped_column(ForeignKey("mediations.id", ondelete="CASCADE"))
    case_party_id: Mapped[int] = mapped_column(ForeignKey("case_parties.id"))
    answer: Mapped[str | None] = mapped_column(String(4))
    given_as: Mapped[str | None] = mapped_column(String(20))
    witness: Mapped[str | None] = mapped_column(Encrypted("mediation_parties.witness"))
    reason: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case_party: Mapped[CaseParty] = relationship(lazy="joined")


class MediationMediator(Base):
    """A mediator assigned by the mediating unit."""

    __tablename__ = "mediation_mediators"
    __table_args__ = (UniqueConstraint("mediation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mediation_id: Mapped[int] = mapped_column(ForeignKey("mediations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_by: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class MediationSession(Base):
    """One mediation session and its record (调解笔录)."""

    __tablename__ = "mediation_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    mediation_id: Mapped[int] = mapped_column(ForeignKey("mediations.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    mediators: Mapped[list[str]] = mapped_column(JSON)
    attendees: Mapped[list[str]] = mapped_column(EncryptedJSON("mediation_sessions.attendees"))  # names
    record: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Agreement(Base):
    """One version of the agreement (调解协议书); immutable once every signer has signed."""

    __tablename__ = "agreements"
    __table_args__ = (UniqueConstraint("mediation_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mediation_id: Mapped[int] = mapped_column(ForeignKey("mediations.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    # Per party: case_party_id, sex, birth date or age, ID number, address (the name and phone are the case's).
    # Encrypted at rest: it holds ID numbers and home addresses.
    party_facts: Mapped[list[dict[str, Any]]] = mapped_column(EncryptedJSON("agreements.party_facts"))
    facts: Mapped[str] = mapped_column(Text)
    responsibility: Mapped[str] = mapped_column(Text)
    # Each term: text, how, due (ISO date), party_id (who performs it, or None for all).
    terms: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    drafted_by: Mapped[str] = mapped_column(String(64))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded: Mapped[bool] = mapped_column(default=False)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # The same agreement laid out in Traditional Chinese, made at the same moment, for readers of zh_Hant.
    pdf_hant: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256_hant: Mapped[str | None] = mapped_column(String(64))

    signatures: Mapped[list[AgreementSignature]] = relationship(order_by="AgreementSignature.id",
                                                                cascade="all, delete-orphan")


class AgreementSignature(Base):
    """A signature on one agreement version: drawn on the screen, or a photo of a paper signature."""

    __tablename__ = "agreement_signatures"
    __table_args__ = (UniqueConstraint("agreement_id", "signer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    signer: Mapped[str] = mapped_column(String(40))  # "party:<case_party_id>" or "mediator"
    signer_name: Mapped[str] = mapped_column(Encrypted("agreement_signatures.signer_name"))
    method: Mapped[str] = mapped_column(String(20))  # on_screen or paper_photo
    image: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(40))
    recorded_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
