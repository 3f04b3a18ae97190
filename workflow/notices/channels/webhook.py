"""A webhook for integrators: the notice as a CloudEvent, signed with HMAC-SHA256.

The receiver checks ``X-Gridcase-Signature: sha256=<hex>`` against
HMAC-SHA256(secret, ``<X-Gridcase-Timestamp>.<raw body>``), refuses timestamps older than a
few minutes, and dedupes on the CloudEvent ``id`` (a notice may arrive twice if a worker
dies between sending and recording it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

from workflow.notices.channels.base import Message, post_json, register


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the value of X-Gridcase-Signature for a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


@register
class Webhook:
    """POSTs application/cloudevents+json to ``target``."""

    name = "webhook"
    rate = None

    def send(self, message: Message) -> None:
        """Post the notice as a structured CloudEvent."""
        event = {
            "specversion": "1.0", "id": message.id, "source": "gridcase", "type": f"org.gridcase.{message.topic}",
            "time": datetime.now(UTC).isoformat(), "subject": str(message.case_id or ""),
            "datacontenttype": "application/json",
            "data": {"case_id": message.case_id, "title": message.title, "text": message.body,
                     "language": message.language},
        }
        body = json.dumps(event, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/cloudevents+json", "X-Gridcase-Timestamp": timestamp}
        if message.secret:
            headers["X-Gridcase-Signature"] = signature(message.secret, timestamp, body)
        post_json(message.target, body, headers)
