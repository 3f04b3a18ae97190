"""Languages of the pages: the member's setting, the visitor's choice, else the browser's; dates in local time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_babel import Babel, format_datetime, get_locale
from flask_login import current_user

from schemas.vocabulary import Category, Level, State
from workflow.base import config
from workflow.base.labels import DEFAULT_LANGUAGE, LANGUAGES, LEVEL_LABELS, STATE_LABELS, pick_language
from workflow.cases.categories import CATEGORIES

TRANSLATIONS = Path(__file__).parent / "translations"
# What each language is called in itself, for the switcher.
LANGUAGE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """Choose the language: the visitor's switch, the member's setting, then Accept-Language."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    if current_user.is_authenticated and current_user.language in LANGUAGES:
        return str(current_user.language)
    return pick_language(request.headers.get("Accept-Language"))


def current_language() -> str:
    """Return the language of this request as one of ``LANGUAGES``."""
    locale = str(get_locale() or DEFAULT_LANGUAGE)
    return locale if locale in LANGUAGES else DEFAULT_LANGUAGE


def safe_next(target: str | None, default: str = "/") -> str:
    """Return ``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.get("/lang/<code>")
def switch(code: str) -> ResponseReturnValue:
    """Switch the page language for this browser and go back where the visitor was."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))


def _index(language: str) -> int:
    return LANGUAGES.index(language)


def state_name(state: str) -> str:
    """Name a state in the page language."""
    return STATE_LABELS[State(state)][_index(current_language())]


def level_name(level: str) -> str:
    """Name a level in the page language."""
    return LEVEL_LABELS[Level(level)][_index(current_language())]


def category_name(code: str) -> str:
    """Name a category in the page language."""
    info = CATEGORIES[Category(code)]
    return (info.zh_hans, info.zh_hant, info.en)[_index(current_language())]


# One pattern in every language, on the 24-hour clock: CLDR's short zh_Hant form says "清晨6:27"
# while zh_Hans says "06:27", and staff compare times across languages.
TIME_PATTERN = "yyyy-MM-dd HH:mm"


def when(value: datetime | None, style: str = TIME_PATTERN) -> str:
    """Format a time in the deployment's time zone as year-month-day and 24-hour time."""
    return format_datetime(value, style) if value is not None else "—"


def init(app: Flask) -> None:
    """Install Flask-Babel and the template helpers on ``app``."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LANGUAGE
    app.config["BABEL_DEFAULT_TIMEZONE"] = config.timezone_name()
    Babel(app, locale_selector=select_locale, timezone_selector=config.timezone_name)
    app.register_blueprint(bp)

    @app.context_processor
    def helpers() -> dict[str, Any]:
        return {"state_name": state_name, "level_name": level_name, "category_name": category_name,
                "when": when, "language": current_language(), "language_names": LANGUAGE_NAMES}
