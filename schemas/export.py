"""Export the JSON Schema of every event to ``schemas/json/``, or check the files are current."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.events import EXPORTED_EVENTS

FOLDER = Path(__file__).parent / "json"


def rendered() -> dict[Path, str]:
    """Return each event's schema file path and its text."""
    files = {}
    for event_type, model in EXPORTED_EVENTS.items():
        schema = model.model_json_schema()
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": event_type, **schema}
        files[FOLDER / f"{event_type}.json"] = json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
    return files


def export(check: bool = False) -> list[Path]:
    """Write the files that differ (or, with ``check``, only list them); return those paths."""
    stale = []
    for path, text in rendered().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return stale
