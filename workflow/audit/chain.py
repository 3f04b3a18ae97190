"""One way to chain rows: SHA-256 over a canonical serialisation of a row's content and the previous hash.

A row's hash is ``sha256(canonical([*content, previous_hash]))``; the first row of a chain
links to ``GENESIS``. Changing any stored field, removing a row or inserting one then shows as
a row whose recomputed hash differs, or whose ``prev_hash`` is not its predecessor's hash.
The serialisation is frozen: rows chained years ago are verified with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = "0" * 64


def _plain(value: object) -> object:
    # Times as the database gives them back (UTC, microseconds): one spelling for one instant.
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    raise TypeError(f"{type(value).__name__} has no canonical form")


def canonical(values: Sequence[object]) -> str:
    """Return the canonical JSON text of a row's values: an array, compact, UTF-8 as is, times in UTC."""
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"), default=_plain, sort_keys=True)


def link(values: Sequence[object], prev_hash: str) -> str:
    """Return the hex SHA-256 chaining a row's ``values`` to ``prev_hash``."""
    return hashlib.sha256(canonical([*values, prev_hash]).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first link of a chain that does not hold: which row, and what is wrong with it."""

    chain: str  # "case 12" or "admin log"
    seq: int | None
    problem: str  # "missing", "hash", "link" or "tail"
    detail: str

    def as_json(self) -> dict[str, object]:
        """Return the break as a JSON object (for the CLI, the heartbeat and the API)."""
        return {"chain": self.chain, "seq": self.seq, "problem": self.problem, "detail": self.detail}


PROBLEMS = {
    "missing": "the row carries no hash (written outside the chain)",
    "hash": "the row's content no longer matches its hash (changed after it was written)",
    "link": "the row does not link to the row before it (a row was removed, inserted or reordered)",
    "tail": "the chain ends before the last step recorded (rows removed from its end)",
}


class Walker:
    """Checks one chain row by row, in order; keeps the first break."""

    def __init__(self, chain: str) -> None:
        """Start a chain named ``chain`` at GENESIS."""
        self.chain = chain
        self.prev = GENESIS
        self.last_seq: int | None = None
        self.rows = 0
        self.broken: Break | None = None

    def step(self, seq: int, values: Sequence[object], prev_hash: str | None, row_hash: str | None) -> None:
        """Check one row: its link to the row before, then its own hash."""
        self.rows += 1
        self.last_seq = seq
        if self.broken is not None:
            return
        if row_hash is None or prev_hash is None:
            self._break(seq, "missing")
        elif prev_hash != self.prev:
            self._break(seq, "link")
        elif link(values, prev_hash) != row_hash:
            self._break(seq, "hash")
        # Go on from the stored hash: a later break is then reported against what was stored.
        self.prev = row_hash or ""

    def end(self, expected_last: int | None) -> None:
        """Check that the chain reaches the last row the owner says it has."""
        if self.broken is None and expected_last is not None and self.last_seq != expected_last:
            self._break(self.last_seq, "tail")

    def _break(self, seq: int | None, problem: str) -> None:
        self.broken = Break(self.chain, seq, problem, PROBLEMS[problem])
