"""The Flask app: the JSON API and the pages; thin adapters over ``workflow``."""

from __future__ import annotations

from typing import Any

from flask_openapi3.models.info import Info
from flask_openapi3.openapi import OpenAPI

from web.api import (
    analysis,
    audit,
    cases,
    decisions,
    errors,
    events,
    health,
    json_body,
    mediation,
    metrics,
    openapi,
    registry,
    reports,
    track,
    units,
)
from web.open311 import routes as open311
from web.request_log import init_request_log
from web.session import EXTENSION
from web.ui import init_ui
from workflow import machines  # noqa: F401 - registers every machine kind with the clock
from workflow.base import config
from workflow.base.db import engine_for
from workflow.base.private_files import private_dir
from workflow.cases.intake import MAX_EVENT_BYTES
from workflow.clock.policy import current_policy

MAX_BODY_BYTES = MAX_EVENT_BYTES


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
    app.json = json_body.JSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    database_url = settings.get("DATABASE_URL") or config.database_url()
    if database_url.startswith("sqlite:///"):
        private_dir(config.data_dir())
    app.extensions[EXTENSION] = {
        # No ping before each request's statements: a connection lost with a database restart
        # fails its request with a 503 (or is retried, on intake) and the pool starts afresh.
        "engine": settings.get("ENGINE") or engine_for(database_url, pre_ping=False),
        "publish_event": settings.get("PUBLISH_EVENT") or _broker_publish_event,
        "publish_notices": settings.get("PUBLISH_NOTICES") or _broker_publish_notices,
        "publish_report": settings.get("PUBLISH_REPORT"),  # None: the monthly report task on the broker
        "publish_import": settings.get("PUBLISH_IMPORT"),  # None: the registry import task on the broker
    }
    for blueprint in (events.api, cases.api, mediation.case_api, mediation.api, track.api, units.api, open311.api,
                      analysis.api, registry.api, decisions.api, decisions.public_api,
                      reports.api, audit.api):
        app.register_api(blueprint)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    errors.register(app)
    init_request_log(app)
    init_ui(app)
    return app


def _broker_publish_event(inbox_id: int) -> None:
    from workers.publish import publish_event

    publish_event(inbox_id)


def _broker_publish_notices(outbox_ids: list[int]) -> None:
    from workers.publish import publish_notices

    publish_notices(outbox_ids)
