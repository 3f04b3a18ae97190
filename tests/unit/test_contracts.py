"""The published contracts: exported JSON Schemas, the OpenAPI document, migrations matching the models."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask.testing import FlaskClient
from sqlalchemy import Engine

from schemas.events import EXPORTED_EVENTS
from schemas.export import export, rendered
from tests.unit.helpers import event
from workflow.tables import metadata


def test_exported_event_schemas_are_current() -> None:
    stale = export(check=True)
    assert stale == [], "run 'gridcase schemas export' and commit schemas/json/"
    assert len(rendered()) == len(EXPORTED_EVENTS)


def test_exported_schema_validates_a_real_event_and_rejects_a_bad_one() -> None:
    path = next(p for p in rendered() if p.name.startswith("org.gridcase.case.submitted"))
    schema = json.loads(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(event()))
    assert list(validator.iter_errors(event({"category": "XXX"})))


def test_openapi_document_is_3_1_and_covers_the_api(client: FlaskClient) -> None:
    doc: dict[str, Any] = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) >= {
        "/api/v1/events", "/api/v1/units", "/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/actions/{trigger}",
        "/api/v1/track/{tracking_code}", "/api/v1/track/{tracking_code}/evaluation",
    }
    intake = doc["paths"]["/api/v1/events"]["post"]
    assert set(intake["requestBody"]["content"]) == {"application/cloudevents+json", "application/json",
                                                     "application/cloudevents-batch+json"}
    assert "202" in intake["responses"] and "422" in intake["responses"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert doc["paths"]["/api/v1/cases/{case_id}"]["get"]["security"] == [{"bearer": []}]
    schemas = doc["components"]["schemas"]
    assert {"CaseSubmittedEvent", "CaseSubmitted", "CaseOut", "ErrorBody", "EvaluationRequest"} <= set(schemas)
    # Every $ref in the document resolves.
    refs = {ref.rsplit("/", 1)[1] for ref in _refs(doc)}
    assert refs <= set(schemas)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []
