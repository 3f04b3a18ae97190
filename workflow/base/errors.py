"""The domain's refusals, each answered by the web layer with its own status."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


def N_(sentence: str) -> str:  # noqa: N802 - gettext's conventional marker name, a default keyword of pybabel
    """Mark a refusal's sentence for the catalogues; the domain keeps it in English, the pages translate it."""
    return sentence


class DomainError(Exception):
    """Base of every refusal the domain raises on purpose.

    ``message`` is an English sentence with ``%(name)s`` placeholders, marked with ``N_`` so
    pybabel extracts it; ``params`` fill them. The API answers the English text and ``code``;
    the pages translate the sentence (web/ui/errors.py) and the words among the params.
    """

    code = "refused"

    def __init__(self, message: str, *, field: str | None = None, **params: Any) -> None:
        """Keep a sentence a person can read, its params and, where one is at fault, the field."""
        text = message % params if params else message
        super().__init__(text)
        self.template = message
        self.params = params
        self.message = text
        self.field = field


class NotFound(DomainError):
    """The case, unit, user or tracking code does not exist."""

    code = "not_found"


class InvalidInput(DomainError):
    """A value is well-formed but wrong here (an unknown grid, a unit of the wrong level)."""

    code = "invalid"

    @classmethod
    def from_validation(cls, exc: ValidationError, source: str) -> InvalidInput:
        """Name the first entry a file failed validation on: ``source: where.it.is: what is wrong``."""
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return cls(f"{source}: {where}: {first['msg']}", field=where)


class InvalidTransition(DomainError):
    """The trigger does not apply to the case in its current state."""

    code = "invalid_transition"


class StaleVersion(DomainError):
    """The caller acted on a version of the case that is no longer current."""

    code = "stale_version"


class Forbidden(DomainError):
    """The actor may not do this to this case."""

    code = "forbidden"


class EventConflict(DomainError):
    """An event id was reused for different content."""

    code = "event_conflict"
