"""The tags a community puts on residents (空巢老人, 独居, …), read from ``data/tags.yaml``."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

TAGS_FILE = Path(__file__).parent / "data" / "tags.yaml"
_SEPARATORS = re.compile(r"[、,，;；/\s]+")


@dataclass(frozen=True)
class Tag:
    """A tag: its stored code, its names in the three languages, whether it marks a vulnerable resident."""

    code: str
    zh_Hans: str  # noqa: N815 - the language tag is the key of data/tags.yaml
    zh_Hant: str  # noqa: N815
    en: str
    vulnerable: bool
    # How often a household with this tag is visited, in days; None: once in the coverage month.
    visit_every_days: int | None = None

    def label(self, language: str) -> str:
        """Return the tag's name in ``language`` (zh_Hans, zh_Hant or en)."""
        return str(getattr(self, language, self.zh_Hans))


@functools.cache
def all_tags() -> dict[str, Tag]:
    """Return every tag by code, in the file's order."""
    data = yaml.safe_load(TAGS_FILE.read_text(encoding="utf-8"))
    return {t["code"]: Tag(t["code"], t["zh_Hans"], t["zh_Hant"], t["en"], bool(t.get("vulnerable")),
                           int(t["visit_every_days"]) if t.get("visit_every_days") else None)
            for t in data["tags"]}


def visit_cycle(codes: list[str]) -> int | None:
    """Return how often a household whose residents carry ``codes`` is visited, in days (the shortest cycle)."""
    known = all_tags()
    cycles = [known[c].visit_every_days for c in codes if c in known and known[c].visit_every_days]
    return min(c for c in cycles if c is not None) if cycles else None


@functools.cache
def _by_name() -> dict[str, str]:
    names: dict[str, str] = {}
    for tag in all_tags().values():
        for name in (tag.code, tag.zh_Hans, tag.zh_Hant, tag.en):
            names[name.casefold()] = tag.code
    return names


def parse(cell: str) -> tuple[list[str], list[str]]:
    """Split a 台账 cell into tag codes; return (codes, the names that are no known tag)."""
    codes: list[str] = []
    unknown: list[str] = []
    for name in _SEPARATORS.split(cell.strip()):
        if not name:
            continue
        code = _by_name().get(name.casefold())
        if code is None:
            unknown.append(name)
        elif code not in codes:
            codes.append(code)
    return codes, unknown


def names(codes: list[str]) -> str:
    """Return the 台账 cell for tag codes: their Simplified Chinese names joined by 、."""
    known = all_tags()
    return "、".join(known[c].zh_Hans if c in known else c for c in codes)
