"""The Open311 services as data: one per category, and the attributes a dispute needs answered.

Codes, types and allowed values live here, with the checks of submitted answers; the words
people read (names, questions, value labels) are the web layer's, in three languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from schemas.vocabulary import Category
from workflow.base.errors import InvalidInput, NotFound

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]

# Categories where two or more parties stand against each other (DOMAIN.md, "Disputes have
# parties"): the other party and their consent to mediation are asked for up front.
DISPUTES = frozenset({Category.FAM, Category.NEI, Category.PRO, Category.HOU, Category.CON, Category.DAM,
                      Category.LAB, Category.CSM, Category.MED, Category.TRF, Category.DEM})
# Disputes about money: the amount at stake helps choose who mediates.
MONEY = frozenset({Category.HOU, Category.CON, Category.DAM, Category.LAB, Category.CSM, Category.MED, Category.TRF,
                   Category.DEM})


@dataclass(frozen=True)
class Attribute:
    """One question of a service definition."""

    code: str
    datatype: Datatype
    required: bool
    order: int
    variable: bool = True
    values: tuple[str, ...] = ()
    max_length: int = 200


_OTHER_PARTY = Attribute("OTHER_PARTY", "string", True, 1, max_length=64)
_OTHER_PARTY_PHONE = Attribute("OTHER_PARTY_PHONE", "string", False, 2, max_length=20)
_MEDIATION = Attribute("MEDIATION", "singlevaluelist", True, 3, values=("yes", "no", "unsure"))
_STARTED = Attribute("STARTED", "datetime", False, 4)
_AMOUNT = Attribute("AMOUNT", "number", False, 5)
_TRIED = Attribute("TRIED", "text", False, 6, max_length=2000)
_PRIVACY = Attribute("PRIVACY", "string", False, 7, variable=False)
_NOISE_WHEN = Attribute("NOISE_WHEN", "multivaluelist", True, 1,
                        values=("night", "early_morning", "daytime", "weekend"))


# The answers staff must read with the description (the other party, its phone and the start
# go into the case's parties and occurred_at instead). Written into the stored description in
# Simplified Chinese, the working language of the grid, as the category name is when a
# request has no description: stored text, not a page's words.
_SUMMARY = {"MEDIATION": "是否同意调解", "AMOUNT": "涉及金额（元）", "TRIED": "已尝试的办法", "NOISE_WHEN": "噪音时段"}
_VALUE_WORDS = {"yes": "同意", "no": "不同意", "unsure": "尚不确定", "night": "夜间", "early_morning": "清晨",
                "daytime": "白天", "weekend": "周末"}


def summary(answers: dict[str, Any]) -> list[str]:
    """Return the lines that carry the checked answers staff need into the case's description."""
    lines = []
    for code, label in _SUMMARY.items():
        if code not in answers:
            continue
        value = answers[code]
        if isinstance(value, list):
            shown = "、".join(_VALUE_WORDS.get(str(v), str(v)) for v in value)
        elif isinstance(value, float):
            shown = f"{value:g}"
        else:
            shown = _VALUE_WORDS.get(value, str(value))
        lines.append(f"{label}：{shown}")
    return lines


def attributes_of(category: Category) -> tuple[Attribute, ...]:
    """Return the attributes of a category's service definition, in order."""
    if category in DISPUTES:
        money = (_AMOUNT,) if category in MONEY else ()
        return (_OTHER_PARTY, _OTHER_PARTY_PHONE, _MEDIATION, _STARTED, *money, _TRIED, _PRIVACY)
    if category == Category.NOI:
        return (_NOISE_WHEN, _STARTED)
    return ()


def group_of(category: Category) -> Literal["dispute", "complaint"]:
    """Return the service group: disputes between parties, or complaints about the community."""
    return "dispute" if category in DISPUTES else "complaint"


def category_of(service_code: str) -> Category:
    """Return the category a service code names.

    Raises:
        NotFound: no such service.
    """
    try:
        return Category(service_code.strip().upper())
    except ValueError:
        raise NotFound(f"service_code '{service_code}' was not found; GET services lists them",
                       field="service_code") from None


def check_answers(category: Category, answers: dict[str, list[str]]) -> dict[str, Any]:
    """Return the submitted ``attribute[code]`` answers checked and typed.

    Raises:
        InvalidInput: an unknown code, a required answer missing, a value of the wrong type or
            not among the allowed values; ``field`` is ``attribute[CODE]``.
    """
    known = {a.code: a for a in attributes_of(category) if a.variable}
    for code in answers:
        if code not in known:
            allowed = ", ".join(known) or "none"
            raise InvalidInput(f"service {category.value} has no attribute '{code}' (it has: {allowed})",
                               field=f"attribute[{code}]")
    checked: dict[str, Any] = {}
    for code, attribute in known.items():
        values = [v.strip() for v in answers.get(code, []) if v.strip()]
        field = f"attribute[{code}]"
        if not values:
            if attribute.required:
                raise InvalidInput(f"{field} is required for service {category.value}", field=field)
            continue
        checked[code] = _typed(attribute, values, field)
    return checked


def _typed(attribute: Attribute, values: list[str], field: str) -> Any:
    if attribute.datatype == "multivaluelist":
        wrong = [v for v in values if v not in attribute.values]
        if wrong:
            raise InvalidInput(f"{field}: '{wrong[0]}' is not one of {', '.join(attribute.values)}", field=field)
        return sorted(set(values), key=attribute.values.index)
    if len(values) > 1:
        raise InvalidInput(f"{field} takes one value, not {len(values)}", field=field)
    value = values[0]
    if attribute.datatype == "singlevaluelist":
        if value not in attribute.values:
            raise InvalidInput(f"{field}: '{value}' is not one of {', '.join(attribute.values)}", field=field)
        return value
    if attribute.datatype == "number":
        try:
            number = float(value)
        except ValueError:
            raise InvalidInput(f"{field} must be a number, not '{value}'", field=field) from None
        if number != number or number in (float("inf"), float("-inf")) or number < 0:
            raise InvalidInput(f"{field} must be a number of zero or more", field=field)
        return number
    if attribute.datatype == "datetime":
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{field} must be an ISO 8601 date and time with a zone, "
                               f"e.g. 2026-11-05T08:15:30+08:00", field=field) from None
        if when.tzinfo is None:
            raise InvalidInput(f"{field} needs a time zone (Z or +08:00)", field=field)
        return when.isoformat()
    if len(value) > attribute.max_length or (attribute.datatype == "string" and "\n" in value):
        raise InvalidInput(f"{field} must be one line of at most {attribute.max_length} characters"
                           if attribute.datatype == "string" else
                           f"{field} may be at most {attribute.max_length} characters", field=field)
    return value
