"""The words shared by code, API, UI and tests: levels, states, severities, categories, roles."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """The five levels of the grid org tree, top first."""

    STREET = "street"
    GENERAL_BRANCH = "general_branch"
    BRANCH = "branch"
    GRID = "grid"
    HOUSEHOLD = "household"


# The ladder a case climbs, bottom first; households report but never handle.
HANDLING_LADDER: tuple[Level, ...] = (
    Level.GRID,
    Level.BRANCH,
    Level.GENERAL_BRANCH,
    Level.STREET,
)


class State(StrEnum):
    """The states of a case (DESIGN.md's vocabulary)."""

    COLLECTED = "collected"
    GRID_HANDLING = "grid_handling"
    BRANCH_HANDLING = "branch_handling"
    GENERAL_BRANCH_HANDLING = "general_branch_handling"
    STREET_HANDLING = "street_handling"
    RESOLVED = "resolved"
    REPORTED_BACK = "reported_back"
    CLOSED = "closed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


HANDLING_STATE: dict[Level, State] = {
    Level.GRID: State.GRID_HANDLING,
    Level.BRANCH: State.BRANCH_HANDLING,
    Level.GENERAL_BRANCH: State.GENERAL_BRANCH_HANDLING,
    Level.STREET: State.STREET_HANDLING,
}

FINAL_STATES = frozenset({State.CLOSED, State.REJECTED, State.WITHDRAWN, State.MERGED})


class Severity(StrEnum):
    """How urgent a case is: P0 critical to P3 low."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class Category(StrEnum):
    """Dispute and complaint categories (DOMAIN.md)."""

    FAM = "FAM"
    NEI = "NEI"
    NOI = "NOI"
    PRO = "PRO"
    HOU = "HOU"
    CON = "CON"
    DAM = "DAM"
    LAB = "LAB"
    CSM = "CSM"
    MED = "MED"
    TRF = "TRF"
    ENV = "ENV"
    DEM = "DEM"
    UTL = "UTL"
    SAF = "SAF"
    PUB = "PUB"
    GOV = "GOV"
    OTH = "OTH"


class Channel(StrEnum):
    """Ways a complaint reaches the grid."""

    GRID_PATROL = "grid_patrol"
    HOUSEHOLD_REPORT = "household_report"
    WALK_IN = "walk_in"
    HOTLINE = "hotline"
    SERVICE_CARD = "service_card"
    TOUCH_SCREEN = "touch_screen"
    WEB = "web"
    TRANSFER_12345 = "12345"
    REFERRAL = "referral"
    API = "api"
    LOVE_CALL = "love_call"  # 爱心呼叫: a vulnerable resident's one-tap link or help number


class PartyRole(StrEnum):
    """A person's part in a case."""

    REPORTER = "reporter"
    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    THIRD_PARTY = "third_party"


class Role(StrEnum):
    """Staff roles; what each may see and do follows from it and the member's unit."""

    GRID_LEADER = "grid_leader"
    HOUSEHOLD_LEADER = "household_leader"
    BRANCH_SECRETARY = "branch_secretary"
    GENERAL_BRANCH_SECRETARY = "general_branch_secretary"
    MEDIATOR = "mediator"
    STREET_STAFF = "street_staff"
    ADMIN = "admin"


class ResolvedAnswer(StrEnum):
    """The resident's answer to "was it resolved?"."""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"
