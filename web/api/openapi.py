"""``GET /openapi.json``: the OpenAPI 3.1 document, generated from the models that validate."""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_openapi3.models.security_scheme import SecurityScheme
from pydantic.json_schema import models_json_schema

from schemas.api import ErrorBody
from schemas.events import CaseSubmittedEvent
from schemas.open311 import (
    CreatedRequests,
    Discovery,
    Open311Errors,
    ServiceDefinition,
    ServiceRequests,
    Services,
    TokenAnswers,
)

# The Open311 answers come in JSON or XML, so the routes document them by reference.
OPEN311_ANSWERS = (Discovery, Services, ServiceDefinition, CreatedRequests, TokenAnswers, ServiceRequests,
                   Open311Errors)

bp = Blueprint("openapi", __name__)

SECURITY_SCHEMES: dict[str, SecurityScheme | dict[str, Any]] = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "Staff token from `gridcase token create NAME`"},
    "api_key": {"type": "apiKey", "in": "header", "name": "X-Api-Key",
                "description": "Integrator key from `gridcase integrator add NAME` (also as a Bearer token, "
                               "or api_key in an Open311 form)"},
}


def document() -> dict[str, Any]:
    """Return the OpenAPI document, with the event schemas the intake route validates against."""
    doc = cast(dict[str, Any], current_app.api_doc)  # type: ignore[attr-defined]
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    if "CaseSubmittedEvent" not in schemas:
        # flask-openapi3 documents models it validates itself; intake validates by hand
        # (it reads two CloudEvents modes), so its models are added here.
        _, defs = models_json_schema(
            [(CaseSubmittedEvent, "validation"), (ErrorBody, "serialization"),
             *((model, "serialization") for model in OPEN311_ANSWERS)],
            ref_template="#/components/schemas/{model}",
        )
        schemas.update(defs.get("$defs", {}))
    return doc


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """Serve the OpenAPI document."""
    return jsonify(document())
