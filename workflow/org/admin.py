"""Administration of the org tree: units, members and their roles.

What the administrator's pages call (no web framework here). Every refusal is a
``DomainError`` raised before the transaction commits, so nothing is half-written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.vocabulary import Level, Role
from workflow.base.errors import N_, Forbidden, InvalidInput
from workflow.base.labels import LANGUAGES
from workflow.org.members import add_user, set_password, user_by_name
from workflow.org.models import Unit, User
from workflow.org.sessions import end_sessions
from workflow.org.tree import forget_cached_units, unit_by_code

# The same shapes the org file accepts (schemas/org.py).
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
PHONE_PATTERN = re.compile(r"^\+?[0-9 -]{5,20}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+$")
_LEVELS = list(Level)


# --- the tree ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberLine:
    """A member as the tree shows them."""

    name: str
    display_name: str
    role: str
    active: bool
    has_password: bool


@dataclass
class TreeNode:
    """A unit with its members and the units one level below, detached from any session."""

    code: str
    name: str
    level: str
    depth: int
    members: list[MemberLine] = field(default_factory=list)
    children: list[TreeNode] = field(default_factory=list)

    @property
    def may_have_children(self) -> bool:
        """Tell whether units may be added below this one (not below a household)."""
        return self.level != Level.HOUSEHOLD


def org_tree(session: Session) -> list[TreeNode]:
    """Return the top units with everything below them, children and members ordered by code and name."""
    units = list(session.scalars(select(Unit).order_by(Unit.code)))
    members: dict[int, list[MemberLine]] = {}
    for user in session.scalars(select(User).order_by(User.name)):
        members.setdefault(user.unit_id, []).append(
            MemberLine(user.name, user.display_name, user.role, user.active, user.password_hash is not None))
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)

    def build(unit: Unit, depth: int) -> TreeNode:
        return TreeNode(unit.code, unit.name, unit.level, depth, members.get(unit.id, []),
                        [build(child, depth + 1) for child in children.get(unit.id, [])])

    return [build(top, 0) for top in children.get(None, [])]


def flatten(nodes: list[TreeNode]) -> list[TreeNode]:
    """Return the units of a tree in reading order (each unit before the units below it)."""
    out: list[TreeNode] = []
    for node in nodes:
        out.append(node)
        out.extend(flatten(node.children))
    return out


def child_level(level: str) -> Level:
    """Return the level of the units directly below a unit of ``level``.

    Raises:
        InvalidInput: a household has no units below it.
    """
    index = _LEVELS.index(Level(level))
    if index + 1 >= len(_LEVELS):
        raise InvalidInput(N_("a household has no units below it"), field="code")
    return _LEVELS[index + 1]


def _check_code(code: str) -> str:
    code = code.strip()
    if not code or len(code) > 64 or not CODE_PATTERN.match(code):
        raise InvalidInput(N_("code: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"),
                           field="code")
    return code


def _check_text(value: str, name: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidInput(N_("%(field_name)s: give 1 to %(limit)s characters"), field=name, field_name=name,
                           limit=limit)
    return value


def add_unit(session: Session, parent_code: str, code: str, name: str) -> Unit:
    """Add a unit one level below ``parent_code``.

    Raises:
        NotFound: there is no such parent.
        InvalidInput: the parent is a household, the code is malformed or taken, or the name is empty.
    """
    parent = unit_by_code(session, parent_code)
    level = child_level(parent.level)
    code = _check_code(code)
    name = _check_text(name, "name", 200)
    if session.scalars(select(Unit.id).where(Unit.code == code)).first() is not None:
        raise InvalidInput(N_("code: a unit with code %(code)s exists already"), field="code", code=code)
    unit = Unit(code=code, name=name, level=level.value, parent_id=parent.id)
    session.add(unit)
    try:
        session.flush()
    except IntegrityError as exc:  # added at the same moment by someone else
        raise InvalidInput(N_("code: a unit with code %(code)s exists already"), field="code", code=code) from exc
    forget_cached_units()
    return unit


def rename_unit(session: Session, code: str, name: str) -> Unit:
    """Give a unit a new name (its code, level and place in the tree stay).

    Raises:
        NotFound: there is no such unit.
        InvalidInput: the name is empty or too long.
    """
    unit = unit_by_code(session, code)
    unit.name = _check_text(name, "name", 200)
    session.flush()
    forget_cached_units()
    return unit


# --- members ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberChanges:
    """What the administrator sets on a member; ``password`` None or empty keeps the current one."""

    display_name: str
    role: str
    unit_code: str
    phone: str | None = None
    email: str | None = None
    language: str | None = None
    active: bool = True
    password: str | None = None


def _role(role: str) -> str:
    try:
        return Role(role).value
    except ValueError as exc:
        raise InvalidInput(N_("role: unknown role '%(role)s'"), field="role", role=role) from exc


def _contacts(changes: MemberChanges) -> tuple[str | None, str | None, str | None]:
    phone = (changes.phone or "").strip() or None
    if phone is not None and not PHONE_PATTERN.match(phone):
        raise InvalidInput(N_("phone: digits only, e.g. 13800138000"), field="phone")
    email = (changes.email or "").strip() or None
    if email is not None and (len(email) > 200 or not EMAIL_PATTERN.match(email)):
        raise InvalidInput(N_("email: not an email address"), field="email")
    language = changes.language or None
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(N_("language: use one of %(languages)s"), field="language", languages=", ".join(LANGUAGES))
    return phone, email, language


def _unit(session: Session, code: str) -> Unit:
    unit = session.scalars(select(Unit).where(Unit.code == code)).one_or_none()
    if unit is None:
        raise InvalidInput(N_("unit: there is no unit with code '%(code)s'"), field="unit", code=code)
    return unit


def update_member(session: Session, actor: User, name: str, changes: MemberChanges) -> User:
    """Change a member's name shown, role, unit, contacts, language, active flag and maybe password.

    A new password or deactivation ends the member's sessions on the server.

    Raises:
        NotFound: there is no such member.
        Forbidden: an administrator deactivating themselves or giving up their own admin role.
        InvalidInput: a value is malformed, the unit does not exist or the password is too short.
    """
    user = user_by_name(session, name)
    role = _role(changes.role)
    if user.id == actor.id and not changes.active:
        raise Forbidden(N_("active: you cannot deactivate yourself; ask another administrator"), field="active")
    if user.id == actor.id and user.role == Role.ADMIN and role != Role.ADMIN:
        raise Forbidden(N_("role: you cannot remove your own administrator role; ask another administrator"),
                        field="role")
    display_name = _check_text(changes.display_name, "display_name", 100)
    unit = _unit(session, changes.unit_code)
    phone, email, language = _contacts(changes)
    if changes.password:
        set_password(user, changes.password)
    user.display_name, user.role, user.unit_id = display_name, role, unit.id
    user.phone, user.email, user.language, user.active = phone, email, language, changes.active
    if not changes.active:
        end_sessions(session, user, "deactivated")
    session.flush()
    session.refresh(user)  # the unit relationship follows unit_id
    return user


def create_member(session: Session, name: str, changes: MemberChanges) -> User:
    """Add a member with a login name, a unit, a role and a password to log in with.

    Raises:
        InvalidInput: the login name is malformed or taken, a value is malformed, the unit
            does not exist, or the password is missing or too short.
    """
    name = name.strip()
    if not name or len(name) > 64 or not CODE_PATTERN.match(name):
        raise InvalidInput(N_("name: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"),
                           field="name")
    if not changes.password:
        raise InvalidInput(N_("password: a new member needs a password"), field="password")
    role = _role(changes.role)
    display_name = _check_text(changes.display_name, "display_name", 100)
    unit = _unit(session, changes.unit_code)
    phone, email, language = _contacts(changes)
    user = add_user(session, name, unit.code, role, display_name, phone)
    user.email, user.language, user.active = email, language, changes.active
    set_password(user, changes.password)
    session.flush()
    return user
