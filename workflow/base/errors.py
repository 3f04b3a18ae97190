"""The domain's refusals, each answered by the web layer with its own status."""

from __future__ import annotations

from pydantic import ValidationError


class DomainError(Exception):
    """Base of every refusal the domain raises on purpose."""

    code = "refused"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        """Keep a message a person can read and, where one is at fault, the field."""
        super().__init__(message)
        self.message = message
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
