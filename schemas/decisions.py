"""The decisions API's bodies: proposing, firing a trigger with its fields, objecting, the decision as shown."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from schemas.text import MAX_ID, Id, NoNul, TextSchema, Version, Whole

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000), NoNul, TextSchema]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul, TextSchema]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), NoNul, TextSchema]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_ID), Whole]


class ProposeDecisionRequest(BaseModel):
    """A proposal (党组织提议): the matter, the reasons, the options and the budget if any.

    With ``case_id``, a case of category GOV becomes the proposal (its description is the matter
    unless one is given), and the case's timeline says so.
    """

    model_config = ConfigDict(extra="forbid")

    title: Short
    matter: Text | None = None
    reasons: Text
    options: list[Short] = Field(default_factory=list, max_length=20)
    budget: Short | None = None
    case_id: Id | None = None


class DecisionActionRequest(BaseModel):
    """The fields of a decision trigger; each reads those it needs and names any missing (422).

    joint_meeting, party_meeting, residents_meeting: ``held_on``, ``place``, ``entitled`` (for the party
    members' meeting taken from the party-member register when left out), ``present``, ``minutes``, and
    ``votes_for``, ``votes_against``, ``votes_abstaining`` (optional at the joint meeting); a vote that does
    not pass needs ``if_not_passed`` (rework, reject). publish, publish_result: ``text`` (refused if it holds
    a phone, ID or bank card number). answer: ``objection_id``, ``text``. rework, reject, withdraw:
    ``reason``. comment (the street): ``text``. attach: ``kind`` (plan, budget, notice_photo, other),
    ``title``, ``file`` (base64), ``content_type``. carry_out, close: nothing.
    """

    model_config = ConfigDict(extra="forbid")

    expected_version: Version | None = None
    held_on: date | None = None
    place: Short | None = None
    entitled: list[Name] | None = Field(default=None, max_length=500)
    present: list[Name] | None = Field(default=None, max_length=500)
    votes_for: Count | None = None
    votes_against: Count | None = None
    votes_abstaining: Count | None = None
    minutes: Text | None = None
    if_not_passed: Literal["rework", "reject"] | None = None
    text: Text | None = None
    reason: Text | None = None
    objection_id: Id | None = None
    kind: Literal["plan", "budget", "notice_photo", "other"] | None = None
    title: Short | None = None
    file: str | None = Field(default=None, max_length=28_000_000, description="The document, base64")
    content_type: Literal["application/pdf", "image/jpeg", "image/png", "image/webp", "image/heic"] | None = None


class ObjectionRequest(BaseModel):
    """A resident's objection to a published resolution or result; the name and phone are never published."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=7, max_length=20,
                                            pattern=r"^[0-9+\- ()]+$")]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), NoNul,
                    TextSchema]


class ProposedDecisionOut(BaseModel):
    """The decision just proposed."""

    decision_id: int
    state: str


class MeetingOut(BaseModel):
    """A meeting: when, where, who was entitled and present, the votes and the minutes."""

    kind: str
    held_on: date
    place: str
    entitled: list[str]
    present: list[str]
    entitled_count: int
    present_count: int
    entitled_from: str = Field(description="register (the party-member register) or list (typed)")
    votes_for: int | None
    votes_against: int | None
    votes_abstaining: int | None
    passed: bool
    minutes: str
    recorded_by: str


class ObjectionOut(BaseModel):
    """An objection: its text and the answer; the resident's name and phone masked."""

    id: int
    stage: str
    name: str
    phone: str | None
    text: str
    raised_at: datetime
    answer: str | None
    answered_at: datetime | None


class AttachmentOut(BaseModel):
    """A document of the decision."""

    id: int
    kind: str
    title: str
    content_type: str
    size: int
    url: str
    at: datetime


class DecisionEventOut(BaseModel):
    """One step on a decision's timeline."""

    seq: int
    at: datetime
    kind: str
    actor: str
    from_state: str | None
    to_state: str
    reason: str | None
    public: bool


class PeriodOut(BaseModel):
    """The publication period running now: what is posted, until when, and whether an objection paused it."""

    kind: str
    started_at: datetime
    ends_at: datetime | None
    paused: bool
    over: bool


class DecisionOut(BaseModel):
    """A decision as a member sees it."""

    id: int
    community: str
    community_name: str
    proposing_unit: str
    state: str
    title: str
    matter: str
    reasons: str
    options: list[str]
    budget: str | None
    case_id: int | None
    proposed_by: str
    proposed_at: datetime
    resolution_text: str | None
    result_text: str | None
    period: PeriodOut | None
    outcome: str | None
    version: int
    meetings: list[MeetingOut]
    objections: list[ObjectionOut]
    attachments: list[AttachmentOut]
    timeline: list[DecisionEventOut]
    party_register: list[str] = Field(description="Party members of the community's branches in the register "
                                      "(who is entitled to the party members' meeting); names masked")
    actions: list[str]


class PublicMeetingOut(BaseModel):
    """A meeting as the public page shows it: numbers, no names."""

    kind: str
    held_on: date
    entitled_count: int
    present_count: int
    votes_for: int | None
    votes_against: int | None
    votes_abstaining: int | None
    passed: bool


class PublicObjectionOut(BaseModel):
    """An objection as published: what was objected (numbers masked) and the committee's answer; no name."""

    id: int
    stage: str
    text: str
    raised_at: datetime
    answer: str | None
    answered_at: datetime | None


class PublicDecisionOut(BaseModel):
    """A published decision of a community: the resolution, the result, objections and answers."""

    id: int
    title: str
    state: str
    resolution_text: str | None
    result_text: str | None
    period: PeriodOut | None
    objections_open: bool = Field(description="Whether a resident may object now (the period runs)")
    meetings: list[PublicMeetingOut]
    objections: list[PublicObjectionOut]
    timeline: list[DecisionEventOut]


class PublicDecisionsOut(BaseModel):
    """A community's published decisions, newest first."""

    community: str
    community_name: str
    decisions: list[PublicDecisionOut]


class ObjectionTakenOut(BaseModel):
    """The objection is recorded and the period paused until the committee answers."""

    objection_id: int
    state: str
