"""gunicorn's settings (``gunicorn --config python:web.gunicorn_conf``): JSON logs, metrics across workers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from web.access_log import PrivateLogger
from workflow.base import logs


class StructlogLogger(PrivateLogger):
    """gunicorn's own lines (booting, worker timeouts) through the same structlog chain as the app's.

    An access log, if one is turned on, still has tracking codes cut short (``PrivateLogger``).
    """

    def setup(self, cfg: Any) -> None:
        """Let gunicorn set up, then send its loggers to the root handler (access lines come from the app)."""
        super().setup(cfg)
        logs.configure("web")


logger_class = StructlogLogger
# The app logs one line per request with its request id (web/request_log.py); gunicorn's
# access log would be a second, plainer copy.
accesslog = None


def on_starting(_server: Any) -> None:
    """Start with an empty PROMETHEUS_MULTIPROC_DIR: files of a previous run would be added to this one's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(_server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the sums (its counters stay counted)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
