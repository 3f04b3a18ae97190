"""What an operator sees of a worker or beat: its logs through structlog with the task's ids, and its metrics port.

Logs: Celery calls ``setup_logging`` instead of installing its own handlers, so every line
(Celery's own included) goes through ``workflow.base.logs``. ``task_prerun`` binds the task's
id, name and inbox id (or outbox ids) for every line the task logs; ``task_postrun`` forgets
them. A task published inside a web request carries the request's id in a message header.

Metrics: a worker serves its counters on ``GRIDCASE_WORKER_METRICS_PORT`` (unset: none), from
its main process. Prefork children count in files under ``PROMETHEUS_MULTIPROC_DIR`` (one
folder per worker process, emptied when it starts) that the main process adds up per scrape.
A port rather than the push gateway: a worker is a long-running service that Prometheus
can scrape and see go down (``up == 0``), while pushes from the gateway keep the last values
of a dead worker forever; the push gateway is meant for batch jobs.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from celery.signals import (
    before_task_publish,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
)

from workflow.base import logs

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "gridcase_request_id"


def process_name(argv: list[str] | None = None) -> str:
    """Return ``beat``, ``flower`` or ``worker`` from the command line Celery was started with."""
    words = argv if argv is not None else sys.argv
    return next((name for name in ("beat", "flower") if name in words), "worker")


@setup_logging.connect
def _setup_logging(**_: Any) -> None:
    logs.configure(process_name())


def _is_flower(argv: list[str]) -> bool:
    return bool(argv) and os.path.basename(argv[0]) in ("celery", "__main__.py") and "flower" in argv[1:]


if _is_flower(sys.argv):
    # Flower never sends setup_logging; it sets up tornado's pretty lines only where the root
    # logger has no handler yet. Installed here, as Celery loads the app, its lines are JSON too.
    logs.configure("flower")


@before_task_publish.connect
def _carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = logs.bound().get("request_id")
    if headers is not None and request_id:
        headers[REQUEST_ID_HEADER] = request_id


def task_fields(task_id: str | None, name: str, args: tuple[Any, ...] | list[Any], request: Any) -> dict[str, Any]:
    """Return the fields bound for a task's lines: its id and name, the inbox id or outbox ids, the request id."""
    fields: dict[str, Any] = {"task_id": task_id, "task": name}
    if name == "gridcase.handle_event" and args:
        fields["inbox_id"] = args[0]
    elif name == "gridcase.deliver_notices" and args:
        fields["outbox_ids"] = args[0]
    # A worker puts a message's own headers on the request; an eager apply keeps them in .headers.
    request_id = getattr(request, REQUEST_ID_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        REQUEST_ID_HEADER)
    if request_id:
        fields["request_id"] = request_id
    return fields


@task_prerun.connect
def _bind_task(task_id: str | None = None, task: Any = None, args: Any = None, **_: Any) -> None:
    logs.clear()
    logs.bind(**task_fields(task_id, getattr(task, "name", "?"), args or (), getattr(task, "request", None)))


@task_postrun.connect
def _unbind_task(**_: Any) -> None:
    logs.clear()


@worker_init.connect
def _serve_metrics(**_: Any) -> None:
    port = os.environ.get("GRIDCASE_WORKER_METRICS_PORT")
    if not port:
        return
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

    registry = REGISTRY
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        # Files left by an earlier run of this worker would be added to this run's counts.
        for stale in Path(folder).glob("*.db"):
            stale.unlink(missing_ok=True)
        Path(folder).mkdir(parents=True, exist_ok=True)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    address = os.environ.get("GRIDCASE_WORKER_METRICS_ADDR", "127.0.0.1")
    start_http_server(int(port), addr=address, registry=registry)
    logger.info("worker metrics on http://%s:%s/metrics", address, port,
                extra={"metrics_port": int(port), "multiprocess": bool(folder)})


@worker_process_shutdown.connect
def _forget_child(**_: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


