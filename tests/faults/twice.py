"""gridcase's Celery app and web app, with every task message published twice.

The duplicate-delivery scenario runs the web, the workers and beat from this module instead of
``workers.app`` / ``web.wsgi``: ``celery -A tests.faults.twice worker``, ``gunicorn
'tests.faults.twice:web_app()'``. Every message any of them publishes (intake's handling task,
the delivery of notices, a drain handing over, a retry, beat's relay and sweeps) goes to the
broker twice with the same task id, as an at-least-once broker may deliver it. Nothing of the
engine is changed: the wrapper sits under ``Celery.send_task``, where kombu is handed the message.
"""

from __future__ import annotations

import logging
from typing import Any

from workers.app import app

logger = logging.getLogger("gridcase.faults.twice")

_send_once = app.amqp.send_task_message


def _send_twice(producer: Any, name: str, message: Any, **options: Any) -> Any:
    _send_once(producer, name, message, **options)
    return _send_once(producer, name, message, **options)


# A cached_property (kombu's): an instance attribute of that name takes its place. celery-types calls
# it read-only, hence setattr.
setattr(app.amqp, "send_task_message", _send_twice)  # noqa: B010
logger.info("every task message of this process is published twice")

__all__ = ["app", "web_app"]


def web_app() -> Any:
    """Return the WSGI app of ``web.wsgi``, publishing through the app above (gunicorn's factory form)."""
    from web.wsgi import app as wsgi

    return wsgi
