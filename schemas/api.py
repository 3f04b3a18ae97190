"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictInt, StringConstraints

from schemas.text import Id, NoNul, NoNulSchema, TextSchema, Version, Whole
from schemas.vocabulary import ResolvedAnswer

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), NoNul, TextSchema]


class Problem(BaseModel):
    """One thing wrong with a request."""

    field: str | None = Field(description="Dotted path of the field at fault, if one is")
    problem: str


class ErrorBody(BaseModel):
    """Every 4xx answer: a code, a sentence, and the fields at fault."""

    error: str = Field(description="Machine-readable code, e.g. invalid, not_found, stale_version")
    message: str
    problems: list[Problem] = Field(default_factory=list)


class SubmitAccepted(BaseModel):
    """The answer to an accepted ``case.submitted`` event."""

    case_id: int
    tracking_code: str = Field(description="Code the resident uses to follow the case (80 random bits)")
    status_url: str


class UnitOut(BaseModel):
    """A unit of the org tree, without members."""

    code: str
    name: str
    level: str
    parent: str | None = Field(description="Code of the unit above, null at the top")


class UnitList(BaseModel):
    """The whole org tree."""

    units: list[UnitOut]


class UnitRef(BaseModel):
    """A unit named in a case."""

    code: str
    name: str
    level: str


class PartyOut(BaseModel):
    """A person in a case; name and phone are masked unless revealed (``POST …/parties/{party_id}/reveal``)."""

    id: int = Field(description="The party's id, for a reveal")
    role: str
    name: str
    phone: str | None
    masked: bool


class EvaluationOut(BaseModel):
    """The resident's answer after report back, as staff read it."""

    resolved: str = Field(description="yes, partly or no")
    satisfaction: int = Field(description="1 (very unsatisfied) to 5")
    comment: str | None = Field(description="What the resident wrote, phones and ID numbers masked "
                                            "unless the reader handles the case")
    at: datetime


class TimelineEntry(BaseModel):
    """One step on a case's timeline: who, what, when, from, to and why."""

    seq: int
    at: datetime
    kind: str
    actor: str
    actor_unit: str | None
    from_state: str | None
    to_state: str
    from_level: str | None
    to_level: str
    reason: str | None
    public: bool
    evaluation: EvaluationOut | None = Field(
        default=None, description="On the resident's confirm or reopen: the answer that fired it")


class DeadlineOut(BaseModel):
    """A deadline armed for a case: when, for what, and what became of it."""

    kind: str = Field(description="first_contact, warn, resolve, supervision or evaluation")
    level: str
    due_at: datetime
    status: str = Field(description="armed, fired, or stale (the clock moved on before it was due)")
    fired_at: datetime | None


class NotificationOut(BaseModel):
    """A notice sent (or being sent) about a case: to which unit, on which channel, delivered or not."""

    seq: int | None = Field(description="The timeline step it is about")
    topic: str
    unit: str | None = Field(description="Code of the unit told, null for the resident")
    channel: str
    to: str = Field(description="Where to, masked for phones; robot and webhook URLs without their keys")
    status: str = Field(description="pending, sent or dead")
    attempts: int
    last_error: str | None
    sent_at: datetime | None


class CaseOut(BaseModel):
    """A case as staff see it."""

    id: int
    tracking_code: str
    state: str
    level: str
    holding_unit: UnitRef
    grid: UnitRef
    severity: str
    category: str
    channel: str
    description: str
    submitted_at: datetime
    occurred_at: datetime | None
    deadline_at: datetime | None
    deadline_left_seconds: float | None = Field(
        description="Time left before the deadline, counted as the policy counts it (working time for working days)"
    )
    paused: bool
    waiting_request: dict[str, Any] | None = Field(description="A pause or extension request awaiting a decision")
    policy: str | None = Field(description="Fingerprint of the deadline policy recorded on the case")
    supervised: bool
    reopen_count: int
    merged_into: int | None
    version: int
    parties: list[PartyOut]
    deadlines: list[DeadlineOut]
    notifications: list[NotificationOut]
    timeline: list[TimelineEntry]
    evaluations: list[EvaluationOut] = Field(
        default_factory=list, description="The resident's answers after report back, oldest first")


class ActionRequest(BaseModel):
    """What a trigger needs: a reason (escalate, send_back, reject, pauses), a summary (resolve), a message."""

    model_config = ConfigDict(extra="forbid")

    reason: Text | None = None
    summary: Text | None = None
    message: Text | None = None
    merge_into: Id | None = Field(default=None, description="For merge: the case to merge into")
    extend_by: Annotated[str, StringConstraints(pattern=r"^P[0-9DTHMS.]+$")] | None = Field(
        default=None, description="For request_extension: how much longer, as an ISO 8601 duration (P3D)"
    )
    expected_version: Version | None = Field(
        default=None, description="Refuse with 409 unless the case is still at this version"
    )


class PublicStep(BaseModel):
    """A step of the public timeline: no names, no internal notes."""

    at: datetime
    kind: str
    state: str
    level: str
    message: str | None = Field(description="Text meant for the resident (report back, rejection)")


class ResidentAnswer(BaseModel):
    """The resident's evaluation as given."""

    resolved: str = Field(description="yes, partly or no")
    satisfaction: int = Field(description="1 (very unsatisfied) to 5")
    comment: str | None
    at: datetime


class TrackOutcome(BaseModel):
    """The latest round of handling as the resident reads it; phone and ID numbers in it masked."""

    summary: str | None = Field(description="What was done (the resolution summary)")
    message: str | None = Field(description="The report back to the resident")
    answer: ResidentAnswer | None = Field(description="The resident's answer to that report back, once given")


class TrackOut(BaseModel):
    """What a resident sees of their case."""

    tracking_code: str
    state: str
    state_label: str
    level: str
    holding_unit: str
    category: str
    submitted_at: datetime
    deadline_at: datetime | None
    reporter: str | None = Field(description="The reporter's name, masked")
    awaiting_evaluation: bool
    timeline: list[PublicStep]
    outcome: TrackOutcome | None = None


class EvaluationRequest(BaseModel):
    """The resident's answer after report back."""

    model_config = ConfigDict(extra="forbid")

    phone_last4: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] = Field(
        description="Last four digits of the phone number given with the complaint"
    )
    resolved: ResolvedAnswer
    satisfaction: Annotated[StrictInt, Field(ge=1, le=5), Whole] = Field(description="1 (very unsatisfied) to 5")
    comment: Annotated[str, StringConstraints(max_length=1000), NoNul, NoNulSchema] | None = None


class EvaluationResult(BaseModel):
    """What the resident's answer did to the case."""

    state: str
    level: str


class SubmitAcceptedBatch(RootModel[list[SubmitAccepted]]):
    """The answer to an accepted batch: one ``SubmitAccepted`` per event, in the batch's order.

    A repeat of an event (stored before, or earlier in the same batch) gets the first copy's answer.
    """

    model_config = ConfigDict(title="SubmitAcceptedBatch")


class SubmitAnswer(RootModel[SubmitAccepted | SubmitAcceptedBatch]):
    """The 202 answer of ``POST /api/v1/events``: an object for one event, an array for a batch."""

    model_config = ConfigDict(title="SubmitAnswer")
