"""The mediation API's bodies: proposing, firing a trigger with its fields, and the mediation as shown."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.text import Id, Version


class ProposeRequest(BaseModel):
    """Put a case's dispute to mediation; mediators may be assigned now or later (``assign``)."""

    model_config = ConfigDict(extra="forbid")

    mediators: list[str] = Field(default_factory=list, description="Member names with the mediator role of the "
                                 "holding unit or a unit above it")


class ProposedOut(BaseModel):
    """The mediation just proposed."""

    mediation_id: int
    state: str
    due_at: datetime


class PartyFacts(BaseModel):
    """A party's basic facts for the agreement (the name and phone are the case's)."""

    model_config = ConfigDict(extra="forbid")

    party_id: int
    sex: Literal["male", "female"] | None = None
    birth: str | None = Field(default=None, max_length=20, description="Birth date or age")
    id_number: str | None = Field(default=None, max_length=18)
    address: str | None = Field(default=None, max_length=200)


class TermIn(BaseModel):
    """One term of the agreement: what, how, by when, and who performs it (None: every party)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=2000)
    how: str = Field(max_length=500)
    due: date
    party_id: Id | None = None


class MediationActionRequest(BaseModel):
    """The fields of a mediation trigger; each trigger reads those it needs and names any missing (422).

    consent: ``party_id``, ``answer`` (yes/no), ``given_as`` (on_screen, oral, in_writing), ``witness`` for
    an oral answer, ``reason`` for a no. assign: ``mediators``. reveal: nothing. session: ``held_on``,
    ``place``, ``attendees``, ``record``. draft: ``facts``, ``responsibility``, ``terms``, ``party_facts``
    (and ``reason`` for a correction of an agreement in effect). sign: ``signer`` (``party:<id>`` or
    ``mediator``), ``signature`` (a base64 PNG or data URL; with ``method`` ``paper_photo`` a PNG or JPEG
    photo of the paper signature). visit: ``finding`` (performed, partly, breached), ``note``, ``final``.
    fail, withdraw, mediate_again: ``reason``. refer: ``referred_to`` (arbitration, court, department), ``reason``.
    """

    model_config = ConfigDict(extra="forbid")

    expected_version: Version | None = None
    reason: str | None = Field(default=None, max_length=2000)
    party_id: Id | None = None
    answer: Literal["yes", "no"] | None = None
    given_as: str | None = None
    witness: str | None = Field(default=None, max_length=100)
    mediators: list[str] | None = None
    held_on: date | None = None
    place: str | None = Field(default=None, max_length=200)
    attendees: list[str] | None = None
    record: str | None = Field(default=None, max_length=20000)
    facts: str | None = Field(default=None, max_length=10000)
    responsibility: str | None = Field(default=None, max_length=5000)
    terms: list[TermIn] | None = None
    party_facts: list[PartyFacts] | None = None
    signer: str | None = None
    method: Literal["on_screen", "paper_photo"] | None = None
    signature: str | None = Field(default=None, max_length=3_000_000)
    finding: str | None = None
    note: str | None = Field(default=None, max_length=2000)
    final: bool | None = None
    referred_to: str | None = None


class MediationPartyOut(BaseModel):
    """A party as the caller may see them, with their answer to mediation."""

    party_id: int
    role: str
    name: str
    phone: str | None
    masked: bool
    answer: str | None
    given_as: str | None
    witness: str | None
    reason: str | None
    answered_at: datetime | None


class SessionOut(BaseModel):
    """One session and its record (调解笔录)."""

    number: int
    held_on: date
    place: str
    mediators: list[str]
    attendees: list[str]
    record: str
    recorded_by: str


class SignatureOut(BaseModel):
    """Who signed, how and when (the image is in the PDF)."""

    signer: str
    signer_name: str
    method: str
    at: datetime


class AgreementOut(BaseModel):
    """The agreement version in force or being signed."""

    version: int
    facts: str
    responsibility: str
    terms: list[dict[str, object]]
    party_facts: list[dict[str, object]]
    signatures: list[SignatureOut]
    to_sign: list[str]
    effective_at: datetime | None
    sha256: str | None
    sha256_hant: str | None = Field(default=None, description="SHA-256 of the same agreement laid out in "
                                    "Traditional Chinese (given to readers of zh_Hant)")
    pdf_url: str | None
    visits_due: list[date] = Field(default_factory=list, description="Follow-up visits (回访): 7 days after each "
                                   "performance date and 30 days after the last, once the agreement is in effect")


class MediationOut(BaseModel):
    """A mediation as the caller may see it: parties masked unless an assigned mediator revealed them."""

    id: int
    case_id: int
    state: str
    kind: str
    unit: str
    unit_name: str
    proposed_by: str
    proposed_at: datetime
    due_at: datetime
    outcome: str | None
    version: int
    mediators: list[str]
    parties: list[MediationPartyOut]
    sessions: list[SessionOut]
    agreement: AgreementOut | None
    actions: list[str]
