"""Repeat disputes (重复矛盾) and likely duplicates, found by the parties' phones and the place (矛盾纠纷排查).

A case is a *repeat* when another case, open or logged in the last 12 months, shares a party's
phone or the household (or the address) it is about: the same people or the same door in
dispute again. It is a *likely duplicate* when another open case from the same reporter, of the
same category and grid, was logged within 48 hours of it: the same complaint sent twice, offered
to be merged. Merged cases count for neither.

Phones are compared by their blind index (the vault's keyed HMAC, workflow/base/vault.py) made by
``party_key``, the one place that reads a party's phone for matching: whether the column holds
it in clear or decrypts it on load, the comparison sees only the key. The place comes from the
event that logged the case (its ``household``, or its ``address`` resolved against the register
to the room's household, else the address as written, normalised) or from the patrol visit that
logged it. Matching runs when asked, within the community (general branch) of the case.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from schemas.events import SUBMITTED
from schemas.vocabulary import Level, Role, State
from workflow.base import wallclock
from workflow.base.errors import N_, DomainError, Forbidden, InvalidInput, NotFound
from workflow.base.privacy import mask_name, mask_phone
from workflow.base.vault import blind
from workflow.cases.models import Case, InboxEvent
from workflow.cases.views import check_can_view
from workflow.org.models import Unit, User
from workflow.org.tree import ancestors, is_at_or_above
from workflow.registry.addresses import match, normalise
from workflow.registry.models import Household, Visit
from workflow.registry.register import address_label, subtree_ids

WINDOW = timedelta(days=365)
DUPLICATE_WINDOW = timedelta(hours=48)
OPEN = frozenset(s.value for s in State) - {State.CLOSED.value, State.REJECTED.value, State.WITHDRAWN.value,
                                             State.MERGED.value}


def party_key(phone: str | None) -> str | None:
    """Return the blind index of a phone number (the vault's keyed hash, as stored beside encrypted phones)."""
    if not phone:
        return None
    digits = "".join(c for c in unicodedata.normalize("NFKC", phone) if c.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) < 7:
        return None
    return blind(digits, "phone")


@dataclass(frozen=True)
class Place:
    """Where a case is: a household of the register, or an address as written (normalised)."""

    key: str
    label: str


@dataclass
class Print:
    """What a case is matched by."""

    case: Case
    parties: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # key -> (name, phone)
    reporter: str | None = None
    place: Place | None = None


def _places(session: Session, cases: list[Case]) -> dict[int, Place]:
    """Return the place of each case that names one: its logging event's household or address, or its visit."""
    ids = [c.id for c in cases]
    found: dict[int, Place] = {}
    households: dict[int, int] = {}
    rows = session.execute(select(InboxEvent.case_id, InboxEvent.data).where(
        InboxEvent.case_id.in_(ids), InboxEvent.type == SUBMITTED))
    for case_id, data in rows:
        if not isinstance(data, dict) or case_id is None:
            continue
        if isinstance(data.get("household"), int):
            households[case_id] = data["household"]
        elif isinstance(data.get("address"), str) and data["address"].strip():
            text = data["address"].strip()
            try:
                hit = match(session, text)
            except InvalidInput:
                hit = None
            if hit is not None and hit.household_id is not None:
                households[case_id] = hit.household_id
            else:
                found[case_id] = Place(f"a:{normalise(text)}", text)
    for case_id, household_id in session.execute(select(Visit.case_id, Visit.household_id).where(
            Visit.case_id.in_(ids))):
        if case_id is not None:
            households.setdefault(case_id, household_id)
    if households:
        rooms = {h.id: h for h in session.scalars(select(Household).where(Household.id.in_(set(households.values()))))}
        for case_id, household_id in households.items():
            label = address_label(rooms[household_id].address) if household_id in rooms else f"#{household_id}"
            found[case_id] = Place(f"h:{household_id}", label)
    return found


def _prints(session: Session, cases: list[Case]) -> list[Print]:
    places = _places(session, cases)
    prints = []
    for case in cases:
        p = Print(case, place=places.get(case.id))
        for party in case.parties:
            key = party_key(party.phone)
            if key is None:
                continue
            p.parties.setdefault(key, (party.name, party.phone))
            if party.role == "reporter":
                p.reporter = key
        prints.append(p)
    return prints


def community_of(unit: Unit) -> Unit:
    """Return the general branch (community) a unit lies in, or the unit itself above it."""
    return next((u for u in ancestors(unit) if u.level == Level.GENERAL_BRANCH.value), unit)


def _cases_under(session: Session, unit_id: int, now: datetime) -> list[Case]:
    """Return the cases of a subtree that can be matched: open, or logged in the last 12 months; never merged."""
    units = subtree_ids(session, unit_id)
    return list(session.scalars(
        select(Case).where(Case.grid_unit_id.in_(units), Case.state != State.MERGED.value,
                           or_(Case.state.in_(OPEN), Case.submitted_at >= now - WINDOW))
        .options(selectinload(Case.parties)).order_by(Case.id)))


@dataclass(frozen=True)
class Link:
    """Another case that matches, and by what: "party" (a phone) or "place" (the household or address)."""

    case_id: int
    by: str
    state: str
    category: str
    submitted_at: datetime


@dataclass(frozen=True)
class Matches:
    """A case's repeats and likely duplicates, newest first."""

    repeats: list[Link]
    duplicates: list[Link]

    @property
    def repeat(self) -> bool:
        """Tell whether the case is a repeat dispute."""
        return bool(self.repeats)


def matches_of(session: Session, case: Case, now: datetime | None = None) -> Matches:
    """Return the cases of the same community a case repeats (same party or place) and its likely duplicates."""
    now = now or wallclock.now()
    pool = _cases_under(session, community_of(case.grid_unit).id, now)
    if case not in pool:
        pool.append(case)
    prints = _prints(session, pool)
    mine = next(p for p in prints if p.case.id == case.id)
    repeats, duplicates = [], []
    for other in prints:
        if other.case.id == case.id:
            continue
        by = ("party" if set(mine.parties) & set(other.parties)
              else "place" if mine.place and other.place and mine.place.key == other.place.key else None)
        c = other.case
        link = Link(c.id, by or "", c.state, c.category, c.submitted_at)
        if by:
            repeats.append(link)
        if (mine.reporter and mine.reporter == other.reporter and c.category == case.category
                and c.grid_unit_id == case.grid_unit_id and c.state in OPEN
                and abs(c.submitted_at - case.submitted_at) <= DUPLICATE_WINDOW):
            duplicates.append(Link(c.id, "reporter", c.state, c.category, c.submitted_at))
    newest = sorted(repeats, key=lambda x: x.submitted_at, reverse=True)
    return Matches(newest, sorted(duplicates, key=lambda x: x.submitted_at, reverse=True))


@dataclass(frozen=True)
class Group:
    """A party or a place with two or more disputes in a subtree: who or where (masked for parties), the cases."""

    by: str
    label: str
    cases: list[Link]


def repeat_groups(session: Session, unit_id: int, now: datetime | None = None) -> list[Group]:
    """Return the parties and places with repeat disputes under a unit, most disputes first.

    A party is shown by masked name and phone; a place by its address (to the room, as staff see it).
    """
    now = now or wallclock.now()
    prints = _prints(session, _cases_under(session, unit_id, now))
    by_key: dict[tuple[str, str], list[Print]] = defaultdict(list)
    labels: dict[tuple[str, str], str] = {}
    for p in prints:
        for key, (name, phone) in p.parties.items():
            by_key[("party", key)].append(p)
            labels[("party", key)] = f"{mask_name(name) or ''} {mask_phone(phone) or ''}".strip()
        if p.place is not None:
            by_key[("place", p.place.key)].append(p)
            labels[("place", p.place.key)] = p.place.label
    groups = [
        Group(kind, labels[(kind, key)], [Link(p.case.id, kind, p.case.state, p.case.category, p.case.submitted_at)
                                          for p in sorted(found, key=lambda x: x.case.submitted_at, reverse=True)])
        for (kind, key), found in by_key.items() if len(found) >= 2
    ]
    return sorted(groups, key=lambda g: (-len(g.cases), g.by, g.label))


def repeat_case_ids(session: Session, unit_id: int, now: datetime | None = None) -> set[int]:
    """Return the ids of the cases under a unit that are repeat disputes (for the inbox's 重复矛盾 mark)."""
    return {link.case_id for group in repeat_groups(session, unit_id, now) for link in group.cases}


# The levels that screen their subtree for repeat disputes (矛盾纠纷排查): the branch, the community, the street.
SCREENING_LEVELS = frozenset({Level.BRANCH.value, Level.GENERAL_BRANCH.value, Level.STREET.value})


def screening_unit(session: Session, user: User, unit_code: str | None) -> Unit:
    """Return the unit whose repeat disputes a member asks for: theirs by default, or one below it.

    Raises:
        Forbidden: the member is not of a branch, a general branch or the street.
        NotFound: no such unit in the member's subtree.
    """
    mine = session.get(Unit, user.unit_id)
    if mine is None or user.role == Role.ADMIN or mine.level not in SCREENING_LEVELS:
        raise Forbidden(N_("the list of repeat disputes is for a branch, a general branch or the street"))
    if not unit_code:
        return mine
    unit = session.scalars(select(Unit).where(Unit.code == unit_code)).one_or_none()
    if unit is None or not is_at_or_above(mine, unit):
        raise NotFound(N_("no unit with code '%(code)s' in your subtree"), field="unit", code=unit_code)
    return unit


def visible_matches(session: Session, case: Case, user: User) -> Matches:
    """Return a case's matches that this member may open (the others are left out, not masked)."""
    found = matches_of(session, case)

    def seen(link: Link) -> bool:
        other = session.get(Case, link.case_id)
        if other is None:
            return False
        try:
            check_can_view(user, other)
        except DomainError:
            return False
        return True

    return Matches([x for x in found.repeats if seen(x)], [x for x in found.duplicates if seen(x)])
