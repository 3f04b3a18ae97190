"""Reading the codes the default SMS sender wrote, as a resident reads their phone."""

from __future__ import annotations

import json
import re
from pathlib import Path


def last_code(sms_file: Path, phone: str) -> str:
    """Return the six-digit code in the last SMS sent to ``phone``."""
    lines = [json.loads(line) for line in sms_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [m["text"] for m in lines if m["phone"] == phone]
    assert texts, f"no SMS to {phone}"
    found = re.search(r"\b([0-9]{6})\b", texts[-1])
    assert found, texts[-1]
    return found.group(1)


def sms_count(sms_file: Path, phone: str) -> int:
    """Return how many SMS went to ``phone``."""
    if not sms_file.exists():
        return 0
    return sum(1 for line in sms_file.read_text(encoding="utf-8").splitlines()
               if line.strip() and json.loads(line)["phone"] == phone)
