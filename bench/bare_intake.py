"""The bare baseline of ``bench/intake.py``: the least a CloudEvents intake can do over the same HTTP stack.

A minimal Flask app, served by gunicorn with the Procfile's settings, that parses the same
structured-mode CloudEvent body, checks the four required attributes, and does one INSERT and
commit into a table of the same PostgreSQL database (``bench_bare_events``, made by the
benchmark). No validation models, no security headers, no rate limit, no broker: what is left
is the floor that gridcase's own intake is measured against.
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response, request
from sqlalchemy import create_engine, text

app = Flask(__name__)
# gridcase's pool size, and no ping before use (the web app does none either): the floor.
engine = create_engine(os.environ["DATABASE_URL"], pool_size=5, max_overflow=10)
_INSERT = text("INSERT INTO bench_bare_events (source, event_id, data) VALUES (:source, :event_id, :data) "
               "RETURNING id")


@app.post("/api/v1/events")
def events() -> Response:
    """Store one CloudEvent and answer 202 with its row id."""
    body = json.loads(request.get_data())
    if not isinstance(body, dict) or any(not body.get(k) for k in ("specversion", "id", "source", "type")):
        return Response('{"error": "not a CloudEvent"}', status=400, mimetype="application/json")
    with engine.begin() as conn:
        row_id = conn.execute(_INSERT, {"source": body["source"], "event_id": body["id"],
                                        "data": json.dumps(body.get("data"), ensure_ascii=False)}).scalar_one()
    return Response(json.dumps({"case_id": row_id}), status=202, mimetype="application/json")
