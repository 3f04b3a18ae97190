"""Names of states and levels for people, in Simplified Chinese, Traditional Chinese and English."""

from __future__ import annotations

from schemas.vocabulary import Level, State

LANGUAGES = ("zh_Hans", "zh_Hant", "en")
DEFAULT_LANGUAGE = "zh_Hans"

STATE_LABELS: dict[State, tuple[str, str, str]] = {
    State.COLLECTED: ("已受理", "已受理", "Received"),
    State.GRID_HANDLING: ("网格处置", "網格處置", "Handled by the grid"),
    # The ladder names levels by place (DOMAIN.md: 小区党支部, 社区党总支); the states say the same words.
    State.BRANCH_HANDLING: ("小区处置", "小區處置", "Handled by the compound"),
    State.GENERAL_BRANCH_HANDLING: ("社区处置", "社區處置", "Handled by the community"),
    State.STREET_HANDLING: ("街道处置", "街道處置", "Handled by the street"),
    State.RESOLVED: ("已办结", "已辦結", "Resolved"),
    State.REPORTED_BACK: ("已反馈", "已回饋", "Reported back to you"),
    State.CLOSED: ("已结案", "已結案", "Closed"),
    State.REJECTED: ("不予受理", "不予受理", "Not accepted"),
    State.WITHDRAWN: ("已撤回", "已撤回", "Withdrawn"),
    State.MERGED: ("已合并", "已合併", "Merged into another case"),
}

LEVEL_LABELS: dict[Level, tuple[str, str, str]] = {
    Level.STREET: ("街道", "街道", "Street"),
    Level.GENERAL_BRANCH: ("社区", "社區", "Community"),
    Level.BRANCH: ("小区", "小區", "Compound"),
    Level.GRID: ("网格", "網格", "Grid"),
    Level.HOUSEHOLD: ("中心户", "中心戶", "Household"),
}


def pick_language(accept_language: str | None) -> str:
    """Choose zh_Hant, zh_Hans or en from Accept-Language (Werkzeug's matching gets Chinese wrong)."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower().replace("_", "-")
        if tag.startswith(("zh-tw", "zh-hk", "zh-mo", "zh-hant")):
            return "zh_Hant"
        if tag.startswith("zh"):
            return "zh_Hans"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def state_label(state: str, language: str) -> str:
    """Return the name of a state in ``language``."""
    return STATE_LABELS[State(state)][LANGUAGES.index(language)]
