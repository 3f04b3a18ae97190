"""The registers on the API: address look-up, a household (masked per role), the 台账 export; routing by address."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from flask import Response
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field, StringConstraints

from schemas.api import Problem
from schemas.events import CaseSubmittedEvent
from schemas.text import MAX_ID, Id, NoNul, NoNulSchema, TextSchema
from schemas.vocabulary import Category, Role, Severity
from web.api.auth import SECURITY, current_user, staff_required
from web.api.errors import documented
from web.session import db_session, publish_event
from workflow.base import wallclock
from workflow.base.errors import N_, Forbidden, InvalidInput, NotFound
from workflow.cases.intake import Accepted
from workflow.cases.tracking import display
from workflow.cases.views import check_can_view, get_case
from workflow.registry.addresses import by_household, match, search
from workflow.registry.exporter import export_workbook
from workflow.registry.models import PartyMember
from workflow.registry.party import look_after, member_view, members_of
from workflow.registry.register import address_label, get_household, household_view, link_case, subtree_ids
from workflow.registry.repeats import Link, repeat_groups, screening_unit, visible_matches
from workflow.registry.risks import check_risk, get_risk, open_risk, risk_view, risks_of
from workflow.registry.visits import coverage, record_visit

api = APIBlueprint("registry", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="registry")],
                   abp_security=SECURITY)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AddressQuery(BaseModel):
    """The text to look for in addresses."""

    q: str = Field(min_length=1, max_length=200,
                   description="Part of an address, e.g. 金桂园1号楼 or 1单元101, or a resident's phone number")


class AddressOut(BaseModel):
    """A registered room, its grid and the household living there."""

    id: int
    address: str
    grid: str
    household_id: int | None


class AddressList(BaseModel):
    """Matching addresses of the caller's subtree, at most 20."""

    addresses: list[AddressOut]


class HouseholdPath(BaseModel):
    """A household in the URL."""

    household_id: Id


class HouseholdQuery(BaseModel):
    """Whether to show the residents' full details (allowed roles only; logged)."""

    reveal: bool = False


class TagOut(BaseModel):
    """A tag of a resident."""

    code: str
    label: str


class ResidentOut(BaseModel):
    """A member of a household, masked unless revealed."""

    id: int
    name: str
    relation: str | None
    sex: str | None
    birth_year: int | None
    birth_date: str | None = Field(description="Only when revealed")
    phone: str | None
    id_number: str | None
    tags: list[TagOut]
    vulnerable: bool = Field(description="Tagged as vulnerable: may have the 爱心呼叫 line")


class StepOut(BaseModel):
    """A change, reveal or export of the household's register: who, when, what."""

    kind: str
    actor: str
    at: str
    detail: dict[str, Any]


class HouseholdOut(BaseModel):
    """A household, its residents and its history."""

    id: int
    address: str
    grid: str
    revealed: bool
    residents: list[ResidentOut]
    steps: list[StepOut]


@api.get("/addresses", summary="Look up addresses", responses={200: AddressList, **documented(401, 422)})
@staff_required
def get_addresses(query: AddressQuery) -> Any:
    """Return the registered rooms of the caller's subtree whose address contains ``q``."""
    user = current_user()
    with db_session() as session:
        found = search(session, query.q, subtree_ids(session, user.unit_id))
        return AddressList(addresses=[
            AddressOut(id=a.id, address=address_label(a), grid=a.building.grid.code, household_id=h)
            for a, h in found]).model_dump()


@api.get("/households/<int:household_id>", summary="Read a household",
         responses={200: HouseholdOut, **documented(401, 403, 404, 422)})
@staff_required
def get_household_view(path: HouseholdPath, query: HouseholdQuery) -> Any:
    """Return a household of the caller's subtree, masked unless ``reveal`` (grid leader, central household, branch)."""
    user = current_user()
    with db_session() as session:
        household = get_household(session, path.household_id, user)
        return HouseholdOut.model_validate(household_view(session, household, user, reveal=query.reveal)).model_dump()


@api.get("/registry/export", summary="Export the register as XLSX",
         responses={200: None, **documented(401, 422)})
@staff_required
def get_export() -> Any:
    """Return the 台账 of the caller's subtree as XLSX, masked per role; the export is logged."""
    user = current_user()
    with db_session() as session:
        data, _ = export_workbook(session, user)
    return Response(data, mimetype=XLSX, headers={"Content-Disposition": 'attachment; filename="registry.xlsx"'})


class CaredHousehold(BaseModel):
    """A household a central household looks after."""

    id: int
    address: str


class PartyMemberOut(BaseModel):
    """A party member of a branch, masked unless the caller's role sees full details."""

    id: int
    name: str
    branch: str
    phone: str | None
    central_household: bool
    in_service: bool
    service: str | None
    households: list[CaredHousehold]
    below_target: bool = Field(description="A central household looking after fewer than 5 households")


class PartyMemberList(BaseModel):
    """The party members of the caller's branches."""

    party_members: list[PartyMemberOut]


class PartyMemberPath(BaseModel):
    """A party member in the URL."""

    member_id: Id


class CareRequest(BaseModel):
    """The households a central household looks after, 5 to 20."""

    households: list[Id] = Field(description="Household ids, 5 to 20")


@api.get("/party-members", summary="List party members", responses={200: PartyMemberList, **documented(401)})
@staff_required
def get_party_members() -> Any:
    """Return the party members of the caller's branches, with the households each looks after."""
    user = current_user()
    with db_session() as session:
        return PartyMemberList(party_members=[PartyMemberOut.model_validate(member_view(session, m, user))
                                              for m in members_of(session, user)]).model_dump()


@api.put("/party-members/<int:member_id>/households", summary="Set the households a central household looks after",
         responses={200: PartyMemberOut, **documented(401, 403, 404, 422)})
@staff_required
def put_care(path: PartyMemberPath, body: CareRequest) -> Any:
    """Replace the households a central household looks after (5 to 20); branch secretaries of its branch and above."""
    user = current_user()
    with db_session() as session:
        member = session.get(PartyMember, path.member_id)
        if member is None or member.branch_unit_id not in subtree_ids(session, user.unit_id):
            raise NotFound(N_("no party member %(id)s"), id=str(path.member_id))
        if user.role not in (Role.BRANCH_SECRETARY, Role.GENERAL_BRANCH_SECRETARY):
            raise Forbidden(N_("only a branch secretary sets the households a central household looks after"))
        look_after(session, member.id, body.households, user.name)
        return PartyMemberOut.model_validate(member_view(session, member, user)).model_dump()


class VisitCase(BaseModel):
    """The case a visit's problem becomes: its category, and optionally severity and description (default: the note)."""

    category: Category
    severity: Severity | None = None
    description: str | None = Field(default=None, max_length=4000)


class VisitRisk(BaseModel):
    """The risk a visit noticed: its kind and when to look again (default: a week on)."""

    kind: Literal["tension", "difficulty", "other"] = "tension"
    next_check_on: date | None = Field(default=None, description="Default: a week after today; within a year")


class VisitRequest(BaseModel):
    """A patrol visit to one of the caller's households."""

    household: Id
    visited_on: date | None = Field(default=None, description="Default: today")
    met: str | None = Field(default=None, max_length=100, description="Whom the visitor met")
    outcome: Literal["nothing", "service", "risk", "case"] = Field(
        description="nothing to report, a need for a service, a risk noticed, or a problem to log as a case")
    note: str | None = Field(default=None, max_length=2000)
    case: VisitCase | None = Field(default=None, description="Required when outcome is case")
    risk: VisitRisk | None = Field(default=None, description="With outcome risk: the risk register entry")


class VisitOut(BaseModel):
    """A stored visit; with the case it became, if any, or the risk it put on the risk register."""

    visit_id: int
    risk_id: int | None = None
    case_id: int | None
    tracking_code: str | None


class CoverageQuery(BaseModel):
    """A unit and a month."""

    unit: str = Field(min_length=1, max_length=64, description="Code of a unit of the caller's subtree")
    # Years 1000-9999 and months 01-12: the pattern says what the API reads, so 0000-00 is refused by the schema.
    month: str = Field(pattern=r"^[1-9]\d{3}-(0[1-9]|1[0-2])$", description="YYYY-MM, e.g. 2026-11")


class DueHousehold(BaseModel):
    """A tagged household whose own visit cycle passed without a visit."""

    id: int
    address: str
    every_days: int = Field(description="The shortest visit_every_days of its residents' tags (data/tags.yaml)")
    last_visited: str | None


class GridCoverage(BaseModel):
    """A grid's households visited in the month, and the tagged ones due a visit by their own cycle."""

    grid: str
    name: str
    households: int
    visited: int
    coverage: float | None
    not_visited: list[CaredHousehold]
    due_by_tag: list[DueHousehold] = Field(
        description="Households visited more often than monthly by their tags (空巢 weekly…) whose cycle passed, "
                    "as of the month's last day or today")


class CoverageOut(BaseModel):
    """走访覆盖率: the share of households visited in the month, per grid, with those not visited."""

    unit: str
    month: str
    households: int
    visited: int
    coverage: float | None
    visits: int
    grids: list[GridCoverage]


@api.post("/visits", summary="Record a patrol visit", responses={201: VisitOut, **documented(401, 403, 404, 422)})
@staff_required
def post_visit(body: VisitRequest) -> Any:
    """Record a visit (grid leaders, central households); a ``case`` outcome logs a case prefilled from the visit."""
    user = current_user()
    with db_session() as session:
        recorded = record_visit(session, user, body.household, visited_on=body.visited_on, met=body.met,
                                outcome=body.outcome, note=body.note,
                                case=body.case.model_dump(mode="json") if body.case else None,
                                risk=body.risk.model_dump() if body.risk else None)
    case_id = tracking_code = None
    if recorded.case is not None:
        publish_event(recorded.case.inbox_id)
        case_id, tracking_code = recorded.case.case_id, display(recorded.case.tracking_code or "")
    return VisitOut(visit_id=recorded.visit_id, risk_id=recorded.risk_id, case_id=case_id,
                    tracking_code=tracking_code).model_dump(), 201


@api.get("/analysis/coverage", summary="Monthly visit coverage",
         responses={200: CoverageOut, **documented(401, 404, 422)})
@staff_required
def get_coverage(query: CoverageQuery) -> Any:
    """Return each grid's share of households visited in the month under a unit, and who was not visited."""
    user = current_user()
    with db_session() as session:
        return CoverageOut.model_validate(coverage(session, user, query.unit, query.month)).model_dump()


RiskText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), NoNul, TextSchema]


class RiskRequest(BaseModel):
    """A risk noticed at one of the caller's households (矛盾隐患台账)."""

    household: Id
    kind: Literal["tension", "difficulty", "other"] = Field(
        description="a tension between people, a vulnerable resident in difficulty, or something else")
    description: RiskText
    next_check_on: date | None = Field(default=None, description="Default: a week after today; within a year")


class RiskPath(BaseModel):
    """A risk in the URL."""

    risk_id: Id


class RiskQuery(BaseModel):
    """Which risks to list."""

    status: Literal["open", "resolved", "all"] = "open"


class RiskOut(BaseModel):
    """A risk of the register and where it stands on its clock."""

    id: int
    household: int
    address: str
    grid: str
    kind: str
    description: str = Field(description="Numbers masked for roles that see the register masked")
    status: Literal["open", "resolved"]
    next_check_on: str
    stage: Literal["on_time", "due", "warned", "escalated", "resolved"] = Field(
        description="due: the check is today; warned: its day passed unchecked (the grid leader is warned); "
                    "escalated: two days later (the branch is warned too)")
    warned: Literal["grid", "branch"] | None
    overdue_since: str | None
    opened_by: str
    opened_at: str
    visit: int | None
    case: int | None
    last_checked_at: str | None


class RiskList(BaseModel):
    """The risks of the caller's subtree, the longest unchecked first."""

    risks: list[RiskOut]


class CheckRequest(BaseModel):
    """A check of an open risk: still there (with the next check date), resolved, or a case to log now."""

    outcome: Literal["ongoing", "resolved", "case"]
    note: RiskText
    next_check_on: date | None = Field(default=None, description="With ongoing; default a week on, within a year")
    category: Category | None = Field(default=None, description="Required with case")


class CheckOut(BaseModel):
    """The risk after the check, and the case it became, if any."""

    risk: RiskOut
    case_id: int | None
    tracking_code: str | None


@api.get("/risks", summary="List the risk register", responses={200: RiskList, **documented(401, 422)})
@staff_required
def get_risks(query: RiskQuery) -> Any:
    """Return the risks of the caller's subtree, overdue ones first, with where each stands on its clock."""
    user = current_user()
    now = wallclock.now()
    with db_session() as session:
        return RiskList(risks=[RiskOut.model_validate(risk_view(session, r, user, now))
                               for r in risks_of(session, user, status=query.status)]).model_dump()


@api.post("/risks", summary="Put a risk on the register", responses={201: RiskOut, **documented(401, 403, 404, 422)})
@staff_required
def post_risk(body: RiskRequest) -> Any:
    """Put a risk noticed at a household of the caller's subtree on the register (grid leaders, central households)."""
    user = current_user()
    with db_session() as session:
        item = open_risk(session, user, body.household, kind=body.kind, description=body.description,
                         next_check_on=body.next_check_on)
        return RiskOut.model_validate(risk_view(session, item, user, wallclock.now())).model_dump(), 201


@api.get("/risks/<int:risk_id>", summary="Read a risk", responses={200: RiskOut, **documented(401, 404, 422)})
@staff_required
def get_one_risk(path: RiskPath) -> Any:
    """Return a risk of the caller's subtree."""
    user = current_user()
    with db_session() as session:
        item = get_risk(session, path.risk_id, user)
        return RiskOut.model_validate(risk_view(session, item, user, wallclock.now())).model_dump()


@api.post("/risks/<int:risk_id>/checks", summary="Check a risk",
          responses={200: CheckOut, **documented(401, 403, 404, 409, 422)})
@staff_required
def post_check(path: RiskPath, body: CheckRequest) -> Any:
    """Record a check: ongoing (next date; the clock starts again), resolved, or a case logged at once."""
    user = current_user()
    with db_session() as session:
        checked = check_risk(session, user, path.risk_id, note=body.note, outcome=body.outcome,
                             next_check_on=body.next_check_on, category=body.category.value if body.category else None)
        out = RiskOut.model_validate(risk_view(session, checked.item, user, wallclock.now()))
    case_id = tracking_code = None
    if checked.case is not None:
        publish_event(checked.case.inbox_id)
        case_id, tracking_code = checked.case.case_id, display(checked.case.tracking_code or "")
    return CheckOut(risk=out, case_id=case_id, tracking_code=tracking_code).model_dump()


def route_by_address(raw: Any, prefix: str = "") -> Problem | None:
    """Fill ``data.grid`` of a raw submitted event from its ``address`` or ``household``; return the problem if any.

    Left alone: an event that names a grid, or whose data is malformed (validation names that later).
    """
    data = raw.get("data") if isinstance(raw, dict) else None
    if not isinstance(data, dict) or data.get("grid") is not None:
        return None
    address, household = data.get("address"), data.get("household")
    try:
        with db_session() as session:
            # An id outside the column's range is malformed, not unknown: validation names it later.
            if isinstance(household, int) and not isinstance(household, bool) and 1 <= household <= MAX_ID:
                found = by_household(session, household, fld=f"{prefix}data.household")
            elif isinstance(address, str) and address.strip():
                found = match(session, address, fld=f"{prefix}data.address")
            else:
                return None
            data["grid"] = found.grid_code
            if found.household_id is not None and data.get("household") is None:
                # Kept on the event so the case can be linked to the household it is about.
                data["household"] = found.household_id
    except InvalidInput as exc:
        return Problem(field=exc.field, problem=exc.message)
    return None


class RepeatLink(BaseModel):
    """Another case a case matches: by a party's phone ("party"), the place ("place") or the same reporter."""

    case_id: int
    by: Literal["party", "place", "reporter"]
    state: str
    category: str
    submitted_at: datetime
    url: str = Field(description="The case in the API")


class RepeatsOut(BaseModel):
    """A case's repeat disputes (重复矛盾) and likely duplicates to merge; only cases the caller may open."""

    case_id: int
    repeat: bool = Field(description="Another case, open or of the last 12 months, has a party or the place")
    repeats: list[RepeatLink]
    duplicates: list[RepeatLink] = Field(description="Open cases of the same reporter, category and grid "
                                         "logged within 48 hours: offered to be merged")


class CaseRepeatsPath(BaseModel):
    """A case in the URL."""

    case_id: Id


class RepeatGroupOut(BaseModel):
    """A party (masked name and phone) or a place (address) with two or more disputes, and those cases."""

    by: Literal["party", "place"]
    label: str
    cases: list[RepeatLink]


class RepeatListOut(BaseModel):
    """The parties and places with repeat disputes under a unit, most disputes first."""

    unit: str
    groups: list[RepeatGroupOut]


class RepeatListQuery(BaseModel):
    """Which unit to screen: the caller's own by default."""

    # No NUL: PostgreSQL refuses it in a query parameter (schemathesis found the 500 there).
    unit: Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul, NoNulSchema] | None = Field(
        default=None, description="Code of a unit of the caller's subtree")


def _link(link: Link) -> RepeatLink:
    return RepeatLink(case_id=link.case_id, by=link.by, state=link.state,
                      category=link.category, submitted_at=link.submitted_at,
                      url=f"/api/v1/cases/{link.case_id}")


@api.get("/cases/<int:case_id>/repeats", summary="A case's repeat disputes and likely duplicates",
         responses={200: RepeatsOut, **documented(401, 403, 404, 422)})
@staff_required
def get_case_repeats(path: CaseRepeatsPath) -> Any:
    """Match a case against the cases of its community, open or logged in the last 12 months.

    A repeat shares a party's phone (compared by keyed hash) or the household / address; a likely
    duplicate is an open case of the same reporter, category and grid logged within 48 hours.
    """
    user = current_user()
    with db_session() as session:
        case = get_case(session, path.case_id)
        check_can_view(user, case)
        found = visible_matches(session, case, user)
        return RepeatsOut(case_id=case.id, repeat=found.repeat, repeats=[_link(x) for x in found.repeats],
                          duplicates=[_link(x) for x in found.duplicates]).model_dump(mode="json")


@api.get("/repeat-disputes", summary="Parties and places with repeat disputes (矛盾纠纷排查)",
         responses={200: RepeatListOut, **documented(401, 403, 404, 422)})
@staff_required
def get_repeat_disputes(query: RepeatListQuery) -> Any:
    """Return the parties (masked) and places with two or more disputes under a unit, with their cases.

    For members of a branch, a general branch or the street (403 otherwise); the unit is theirs or
    one below it (404 otherwise).
    """
    user = current_user()
    with db_session() as session:
        unit = screening_unit(session, user, query.unit)
        groups = repeat_groups(session, unit.id)
        return RepeatListOut(unit=unit.code, groups=[
            RepeatGroupOut(by=g.by, label=g.label, cases=[_link(x) for x in g.cases])
            for g in groups]).model_dump(mode="json")


def link_cases(pairs: list[tuple[Accepted, CaseSubmittedEvent]]) -> None:
    """Link each new case whose event named a household (or a room of one) to that household."""
    pairs = [(a, e) for a, e in pairs if not a.duplicate and a.case_id is not None and e.data.household]
    if not pairs:
        return
    with db_session() as session:
        for accepted, event in pairs:
            assert accepted.case_id is not None and event.data.household is not None  # filtered above
            link_case(session, accepted.case_id, event.data.household)
