"""The Flask app: the JSON API and the pages; thin adapters over ``workflow``."""

from __future__ import annotations

from typing import Any

from flask_openapi3.models.info import Info
from flask_openapi3.openapi import OpenAPI

from web.api import cases, errors, events, health, mediation, openapi, track, units
from web.session import EXTENSION
from web.ui import init_ui
from workflow.base import config
from workflow.base.db import engine_for
from workflow.clock.policy import current_policy

MAX_BODY_BYTES = 64 * 1024


def create_app(settings: dict[str, Any] | None = None) -> OpenAPI:
    """Create the app; ``settings`` may name ``DATABASE_URL`` and the publishers (tests do)."""
    settings = settings or {}
    current_policy()  # a broken policy file stops the start with a message naming the entry
    app = OpenAPI(
        __name__,
        info=Info(title="gridcase", version="0.1.0",
                  description="Grievance and dispute-resolution workflow for community grid governance"),
        security_schemes=openapi.SECURITY_SCHEMES,
        doc_ui=False,
        static_folder=None,  # the pages serve their own assets (web/ui/static)
        validation_error_status=422,
        validation_error_callback=errors.flask_openapi3_validation_error,
    )
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    database_url = settings.get("DATABASE_URL") or config.database_url()
    if database_url.startswith("sqlite:///"):
        config.data_dir().mkdir(parents=True, exist_ok=True)
    app.extensions[EXTENSION] = {
        "engine": settings.get("ENGINE") or engine_for(database_url),
        "publish_event": settings.get("PUBLISH_EVENT") or _broker_publish_event,
        "publish_notices": settings.get("PUBLISH_NOTICES") or _broker_publish_notices,
    }
    for blueprint in (events.api, cases.api, mediation.case_api, mediation.api, track.api, units.api):
        app.register_api(blueprint)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(health.bp)
    errors.register(app)
    init_ui(app)
    return app


def _broker_publish_event(inbox_id: int) -> None:
    from workers.publish import publish_event

    publish_event(inbox_id)


def _broker_publish_notices(outbox_ids: list[int]) -> None:
    from workers.publish import publish_notices

    publish_notices(outbox_ids)
