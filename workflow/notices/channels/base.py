"""What every channel is: a name and ``send(message)``, failing with ``DeliveryError``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

import httpx


@dataclass(frozen=True)
class Message:
    """A notice addressed on one channel: where to, the text, and an id receivers can dedupe on."""

    id: str
    target: str
    title: str
    body: str
    topic: str
    language: str
    secret: str | None = None
    case_id: int | None = None


class DeliveryError(Exception):
    """A send that failed; ``retryable`` says whether trying again later may succeed."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        """Keep the reason (shown on the delivery row) and whether to retry."""
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Channel(Protocol):
    """A way to reach people."""

    @property
    def name(self) -> str:
        """The name subscriptions and deliveries use."""

    @property
    def rate(self) -> str | None:
        """Sends per destination the far end accepts, in the ``limits`` syntax ("20/minute"), or None."""

    def send(self, message: Message) -> None:
        """Send ``message``; raise DeliveryError if it did not arrive."""


REGISTRY: dict[str, Channel] = {}
C = TypeVar("C", bound=Channel)


def register(cls: type[C]) -> type[C]:
    """Class decorator: make one instance of the channel available by its name."""
    instance = cls()
    REGISTRY[instance.name] = instance
    return cls


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> httpx.Response:
    """POST JSON; a network failure or a 5xx/429 is retryable, another 4xx is not."""
    try:
        response = httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers},
                              timeout=timeout, trust_env=False)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{exc.__class__.__name__}: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")
    if response.status_code >= 400:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", retryable=False)
    return response
