"""The catalogues are complete: every string the pages use is translated in all three languages."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "web" / "ui" / "translations"
LANGUAGES = ("zh_Hans", "zh_Hant", "en")
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2), "N_": None}


def _key(message_id: str | tuple[str, ...] | list[str]) -> str:
    # Plural entries are keyed by their singular form.
    return message_id if isinstance(message_id, str) else message_id[0]


def _text(message_string: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if message_string is None:
        return ("",)
    return (message_string,) if isinstance(message_string, str) else tuple(message_string)


def _source_messages() -> set[str]:
    # workflow/: the domain's refusals, marked N_(), which the pages translate (issue 11, item 9).
    method_map = [("web/**.py", "python"), ("workflow/**.py", "python"), ("web/ui/templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=KEYWORDS):
        found.add(_key(message))
    return found


SOURCE = _source_messages()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_of_the_pages_is_translated(language: str) -> None:
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    translated = {_key(m.id) for m in catalog if m.id and all(_text(m.string))}
    missing = sorted(SOURCE - translated)
    assert not missing, f"{language}: {len(missing)} strings without a translation, e.g. {missing[:5]}"
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert not fuzzy, f"{language}: fuzzy translations to review: {fuzzy[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_its_source(language: str) -> None:
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as handle:
        po = {_key(m.id): _text(m.string) for m in read_po(handle) if m.id}
    with open(folder / "messages.mo", "rb") as handle:
        mo = {_key(m.id): _text(m.string) for m in read_mo(BytesIO(handle.read())) if m.id}
    assert mo == po, f"run: .venv/bin/pybabel compile -d web/ui/translations ({language} .mo is stale)"


def test_chinese_catalogues_are_in_their_own_script() -> None:
    # A few characters that differ between the scripts catch a catalogue filled from the wrong one.
    with open(TRANSLATIONS / "zh_Hant" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        hant = " ".join(" ".join(_text(m.string)) for m in read_po(handle) if m.id)
    with open(TRANSLATIONS / "zh_Hans" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        hans = " ".join(" ".join(_text(m.string)) for m in read_po(handle) if m.id)
    assert not set("录这时间处级门对") & set(hant)
    assert not set("錄這時間處級門對") & set(hans)
