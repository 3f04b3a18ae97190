"""The words of the Open311 adapter in the reader's language: services, questions, notices."""

from __future__ import annotations

from flask import Request
from flask_babel import gettext, lazy_gettext

from workflow.base.labels import LANGUAGES, pick_language
from workflow.integrators.catalogue import Attribute

_l = lazy_gettext


def language_of(request: Request) -> str:
    """Return the language asked for: ``locale`` if it names one, else Accept-Language."""
    locale = (request.args.get("locale") or request.form.get("locale") or "").strip()
    if locale:
        chosen = pick_language(locale)
        if chosen in LANGUAGES:
            return chosen
    return pick_language(request.headers.get("Accept-Language"))


GROUPS = {
    "dispute": _l("Dispute between residents"),
    "complaint": _l("Complaint about the community"),
}
GROUP_DESCRIPTIONS = {
    "dispute": _l("A dispute between residents or with a company: the grid hears both sides and may "
                  "bring in a mediator."),
    "complaint": _l("Something in the community that needs fixing or looking into: the grid handles it "
                    "and tells you the result."),
}
QUESTIONS = {
    "OTHER_PARTY": _l("Who is the other party? A name, or how you know them (e.g. the neighbour upstairs)."),
    "OTHER_PARTY_PHONE": _l("The other party's phone, if you know it (never shown to anyone but the mediator)."),
    "MEDIATION": _l("Do both sides agree to mediation by the community?"),
    "STARTED": _l("When did it start?"),
    "AMOUNT": _l("The amount of money at stake, in yuan."),
    "TRIED": _l("What has been tried so far?"),
    "PRIVACY": _l("The other party never sees your name or phone number."),
    "NOISE_WHEN": _l("When does the noise happen?"),
}
DATATYPE_HINTS = {
    "string": _l("One line of text."),
    "number": _l("A number, e.g. 3000."),
    "datetime": _l("A date and time with its zone, e.g. 2026-11-05T20:00:00+08:00."),
    "text": _l("Free text; line breaks allowed."),
    "singlevaluelist": _l("One of the values listed."),
    "multivaluelist": _l("One or more of the values listed."),
}
VALUES = {
    "yes": _l("Yes"),
    "no": _l("No"),
    "unsure": _l("Not sure yet"),
    "night": _l("At night (22:00–06:00)"),
    "early_morning": _l("Early morning"),
    "daytime": _l("During the day"),
    "weekend": _l("At weekends"),
}


def question(attribute: Attribute) -> str:
    """Return the question an attribute asks."""
    return str(QUESTIONS[attribute.code])


def datatype_hint(attribute: Attribute) -> str | None:
    """Return how to answer an attribute; None for a note that asks nothing."""
    return str(DATATYPE_HINTS[attribute.datatype]) if attribute.variable else None


def value_name(key: str) -> str:
    """Return the label of a list value."""
    return str(VALUES[key])


def notice_filed(tracking_code: str, unit: str, status_url: str) -> str:
    """Return the service_notice of a new request: who handles it and how the resident follows it."""
    return str(gettext("Received and sent to %(unit)s. Your tracking code is %(code)s; follow the case at %(url)s.",
                   unit=unit, code=tracking_code, url=status_url))


def notice_handling(unit: str, deadline: str | None) -> str:
    """Return the service_notice of a request in hand: who has it and by when they answer."""
    if deadline:
        return str(gettext("%(unit)s is handling it and answers by %(deadline)s.", unit=unit, deadline=deadline))
    return str(gettext("%(unit)s is handling it.", unit=unit))


def contact_text() -> str:
    """Return the discovery document's contact line."""
    return str(gettext("Ask the street's service centre for help with this interface."))


def key_service_text() -> str:
    """Return the discovery document's line on getting an API key."""
    return str(gettext("An operator issues API keys with 'gridcase integrator add'; ask the street's service centre."))
