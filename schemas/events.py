"""CloudEvents 1.0 envelopes and the data of every gridcase event."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from schemas.text import Id, NoNul, NoNulSchema
from schemas.vocabulary import Category, Channel, PartyRole, Severity

SUBMITTED = "org.gridcase.case.submitted"
ACTION_REQUESTED = "org.gridcase.case.action_requested"
DEADLINE_DUE = "org.gridcase.case.deadline_due"
# A deadline of any other machine kind (a mediation, a decision): the clock's, never accepted from outside.
SUBJECT_DEADLINE_DUE = "org.gridcase.deadline_due"
EVENT_TYPES = (SUBMITTED, ACTION_REQUESTED, DEADLINE_DUE, SUBJECT_DEADLINE_DUE)
# Extension attributes are read but not stored: a small one (a trace id, a partition key) is
# let through, a larger one is refused so that nothing the sender meant to keep is dropped.
MAX_EXTENSION_CHARS = 256


def _require_text(value: Any) -> Any:
    # pydantic's lax mode would read 0 as 1970-01-01; a timestamp must be written out.
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string with a time zone")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_require_text)]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 \-]{4,19}$"),
    Field(description="Phone number: digits, optionally with +, spaces or dashes", examples=["13812345678"]),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), NoNul, NoNulSchema]


class Person(BaseModel):
    """Someone who reports a case."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    phone: Phone | None = None


class Party(BaseModel):
    """A party to a dispute."""

    model_config = ConfigDict(extra="forbid")

    role: PartyRole = Field(description="applicant, respondent or third_party")
    name: Name
    phone: Phone | None = None


class CaseSubmitted(BaseModel):
    """Data of ``org.gridcase.case.submitted``: a resident's complaint or a neighbours' dispute."""

    model_config = ConfigDict(extra="forbid", title="CaseSubmitted")

    category: Category = Field(description="Category code from DOMAIN.md, e.g. NEI for neighbour disputes")
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), NoNul,
                           NoNulSchema]
    grid: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), NoNul,
                    NoNulSchema] | None = Field(
        default=None, description="Code of the grid unit where it happened; or give address or household"
    )
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        default=None, description="Where it happened as an address of the register (compound + building "
        "[+ entrance + room], e.g. 金桂园1号楼1单元101); the case goes to that building's grid",
        examples=["金桂园1号楼1单元101"])
    household: Id | None = Field(default=None, description="Id of a household of the register, instead of grid")
    severity: Severity | None = Field(default=None, description="P0-P3; the category's default if absent")
    channel: Channel = Channel.API
    reporter: Person | None = None
    parties: list[Party] = Field(default_factory=list, max_length=20)
    occurred_at: Timestamp | None = None

    @model_validator(mode="after")
    def _a_place(self) -> CaseSubmitted:
        if self.grid is None and self.address is None and self.household is None:
            raise ValueError("give the place as grid, address or household")
        return self


class CaseActionRequested(BaseModel):
    """Data of ``org.gridcase.case.action_requested``: a trigger to fire on a case, queued for a worker."""

    model_config = ConfigDict(extra="forbid", title="CaseActionRequested")

    case_id: int
    trigger: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    actor: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="User name of the member who asked, or 'system'"
    )
    reason: str | None = None
    summary: str | None = None
    message: str | None = None
    merge_into: int | None = None
    extend_by: str | None = None
    expected_version: int | None = None


class CaseDeadlineDue(BaseModel):
    """Data of ``org.gridcase.case.deadline_due``: the sweeper found a deadline of a case due."""

    model_config = ConfigDict(extra="forbid", title="CaseDeadlineDue")

    case_id: int
    deadline_id: int
    kind: Literal["first_contact", "warn", "resolve", "supervision", "evaluation"]
    token: int = Field(description="The case's clock token when the deadline was armed; stale if it moved on")


class SubjectDeadlineDue(BaseModel):
    """Data of ``org.gridcase.deadline_due``: a deadline of a machine kind other than a case fell due."""

    model_config = ConfigDict(extra="forbid", title="SubjectDeadlineDue")

    subject: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,19}$")] = Field(
        description="The machine kind the deadline belongs to, as registered in workflow/machines.py")
    subject_id: int = Field(description="The id of the mediation, decision, ... the deadline is for")
    deadline_id: int
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,19}$")] = Field(
        description="What the deadline is for, in the machine kind's own words")
    token: int = Field(description="The subject's clock token when the deadline was armed; stale if it moved on")


class CloudEvent(BaseModel):
    """The CloudEvents 1.0 attributes common to every event (structured mode)."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul, NoNulSchema]
    source: Annotated[str, StringConstraints(min_length=1, max_length=500), NoNul, NoNulSchema]
    type: Annotated[str, NoNul, NoNulSchema]
    subject: Annotated[str, NoNul, NoNulSchema] | None = None
    time: Timestamp | None = None
    datacontenttype: str | None = None
    dataschema: str | None = None

    @model_validator(mode="after")
    def _extension_names(self) -> CloudEvent:
        # The spec limits extension attribute names to lower-case letters and digits.
        for name, value in (self.model_extra or {}).items():
            if not (name.isascii() and name.isalnum() and name.islower() and len(name) <= 20):
                raise ValueError(f"'{name}' is not a valid CloudEvents attribute name")
            if len(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)) > MAX_EXTENSION_CHARS:
                raise ValueError(f"extension attribute '{name}' is longer than {MAX_EXTENSION_CHARS} characters; "
                                 "gridcase does not store extension attributes: put the content in data")
        return self


class CaseSubmittedEvent(CloudEvent):
    """A CloudEvent of type ``org.gridcase.case.submitted``."""

    model_config = ConfigDict(title="CaseSubmittedEvent")

    type: Literal["org.gridcase.case.submitted"]
    data: CaseSubmitted


class CaseActionRequestedEvent(CloudEvent):
    """A CloudEvent of type ``org.gridcase.case.action_requested`` (internal: workers and the clock)."""

    model_config = ConfigDict(title="CaseActionRequestedEvent")

    type: Literal["org.gridcase.case.action_requested"]
    data: CaseActionRequested


class CaseDeadlineDueEvent(CloudEvent):
    """A CloudEvent of type ``org.gridcase.case.deadline_due`` (internal: the clock)."""

    model_config = ConfigDict(title="CaseDeadlineDueEvent")

    type: Literal["org.gridcase.case.deadline_due"]
    data: CaseDeadlineDue


class SubjectDeadlineDueEvent(CloudEvent):
    """A CloudEvent of type ``org.gridcase.deadline_due`` (internal: the clock, for every other machine kind)."""

    model_config = ConfigDict(title="SubjectDeadlineDueEvent")

    type: Literal["org.gridcase.deadline_due"]
    data: SubjectDeadlineDue


EXPORTED_EVENTS: dict[str, type[CloudEvent]] = {
    SUBMITTED: CaseSubmittedEvent,
    ACTION_REQUESTED: CaseActionRequestedEvent,
    DEADLINE_DUE: CaseDeadlineDueEvent,
    SUBJECT_DEADLINE_DUE: SubjectDeadlineDueEvent,
}

