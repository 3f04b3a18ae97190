"""Tasks of the registers: a large 台账 upload imported by a worker, its progress stored for the page."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import update

from workers.app import app
from workflow.base import wallclock
from workflow.base.db import default_engine, is_sqlite, unit_of_work
from workflow.base.errors import DomainError
from workflow.registry.jobs import report_dict, run_import
from workflow.registry.models import ImportJob

# The page polls every second: a progress write per half second is enough and costs little.
PROGRESS_EVERY = 0.5


@app.task(name="gridcase.registry_import", acks_late=True)
def registry_import(job_id: int) -> int:
    """Import an uploaded 台账 for the member who sent it; rows reached are committed as it goes (PostgreSQL)."""
    with unit_of_work() as session:
        job = session.get(ImportJob, job_id)
        if job is None or job.status in ("done", "failed"):
            return 0  # a second delivery of a finished task: nothing to do
        job.status = "running"
    # On SQLite every transaction holds the write lock: progress is written only on PostgreSQL, beside
    # the transaction that imports (as the monthly report does).
    separate = not is_sqlite(default_engine())
    last = [0.0]

    def progress(row: int) -> None:
        now = time.monotonic()
        if separate and now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            with unit_of_work() as other:
                other.execute(update(ImportJob).where(ImportJob.id == job_id).values(done_rows=row))

    try:
        with unit_of_work() as session:
            job = session.get(ImportJob, job_id)
            assert job is not None
            report = run_import(session, job, progress)
            job.report, job.status, job.finished_at = report_dict(report), "done", wallclock.now()
            job.done_rows = job.total or report.rows
            path = Path(job.path)
    except DomainError as exc:
        # A file the importer cannot read (no header row, no such sheet): the member's to fix, not a crash.
        with unit_of_work() as session:
            session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
                status="failed", error=exc.message[:500], finished_at=wallclock.now()))
        return job_id
    except Exception as exc:
        with unit_of_work() as session:
            session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
                status="failed", error=str(exc)[:500], finished_at=wallclock.now()))
        raise
    path.unlink(missing_ok=True)  # the upload was kept only for the worker
    return job_id
