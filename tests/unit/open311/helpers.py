"""Calling the Open311 adapter in both formats and reading its answers the same way."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from flask.testing import FlaskClient
from sqlalchemy import Engine

from workflow.base.db import unit_of_work
from workflow.integrators.keys import add_integrator

BASE = "/open311/v2"
# Inside the polygon of XY-01-A-1 and the circle of XY-02-A-1 in the demo org file.
IN_XY01A1 = ("42.2801", "118.9301")
IN_XY02A1 = ("42.28002", "118.94003")
NOWHERE = ("39.9042", "116.4074")


def make_key(engine: Engine, name: str = "hotline", scopes: tuple[str, ...] = ("submit", "read"),
             **options: Any) -> str:
    """Create an integrator and return its key."""
    with unit_of_work(engine) as session:
        return add_integrator(session, name, list(scopes), **options)[1]


def _plain(node: ElementTree.Element) -> Any:
    children = list(node)
    if not children:
        return node.text or ""
    names = [c.tag for c in children]
    if len(set(names)) == 1 and (len(names) > 1 or node.tag in ("services", "service_requests", "attributes",
                                                                   "values", "errors", "endpoints", "formats")):
        return [_plain(c) for c in children]
    return {c.tag: _plain(c) for c in children}


def read(response: Any, fmt: str) -> Any:
    """Return an answer as plain data: JSON as is, XML as dicts and lists of strings."""
    if fmt == "json":
        assert response.content_type.startswith("application/json"), response.content_type
        return response.get_json()
    assert response.content_type.startswith("text/xml"), response.content_type
    text = response.get_data(as_text=True)
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ElementTree.fromstring(text.split("\n", 1)[1])
    return _plain(root)


def post(client: FlaskClient, fmt: str, key: str | None, **fields: Any) -> Any:
    """POST requests.{fmt} form-encoded, as the spec sends it."""
    data = dict(fields)
    if key is not None:
        data["api_key"] = key
    return client.post(f"{BASE}/requests.{fmt}", data=data)
