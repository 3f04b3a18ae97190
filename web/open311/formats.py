"""Answers in the two formats of the spec: JSON, and XML with a declaration (arrays as repeated elements)."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from flask import Response

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"

# The element a member of each array is written as (the Spark convention): the plural's singular.
ITEM = {"services": "service", "attributes": "attribute", "values": "value", "service_requests": "request",
        "endpoints": "endpoint", "formats": "format", "errors": "error"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ElementTree.Element, name: str, value: Any) -> None:
    node = ElementTree.SubElement(parent, name)
    _fill(node, name, value)


def _fill(node: ElementTree.Element, name: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _append(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _append(node, ITEM.get(name, "item"), item)
    else:
        node.text = _text(value)


def to_xml(root: str, value: Any) -> str:
    """Return ``value`` as an XML document whose root element is ``root``."""
    node = ElementTree.Element(root)
    _fill(node, root, value)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(node, encoding="unicode")


def answer(fmt: str, root: str, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return ``value`` in the format asked for; ``root`` names the XML root (the JSON is the value itself)."""
    if fmt == "xml":
        response = Response(to_xml(root, value), status=status, content_type=XML_TYPE)
    else:
        response = Response(json.dumps(value, ensure_ascii=False), status=status, content_type=JSON_TYPE)
    for name, header in (headers or {}).items():
        response.headers[name] = header
    return response


def errors(fmt: str, status: int, *descriptions: str, headers: dict[str, str] | None = None) -> Response:
    """Return the spec's error answer: an array of ``{code, description}`` with the HTTP status as the code."""
    return answer(fmt, "errors", [{"code": status, "description": d} for d in descriptions], status, headers)


def format_of_path(path: str) -> str:
    """Return the format a path asks for (its suffix), JSON if it names none."""
    return "xml" if path.rstrip("/").endswith(".xml") else "json"
