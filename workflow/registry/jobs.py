"""Large 台账 uploads imported by a worker: the job row the page polls for progress, and the step the worker runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from workflow.base import wallclock
from workflow.base.errors import N_, Forbidden, NotFound
from workflow.org.members import user_by_name
from workflow.org.models import User
from workflow.registry.importer import ImportReport, Problem, count_rows, import_rows, read_rows
from workflow.registry.models import ImportJob
from workflow.registry.register import may_see_full, subtree_ids


def inline_rows() -> int:
    """Rows up to which an upload is imported while the page waits (``GRIDCASE_IMPORT_INLINE_ROWS``)."""
    return int(os.environ.get("GRIDCASE_IMPORT_INLINE_ROWS", "2000"))


def request_import(session: Session, user: User, path: Path, file_name: str, *, sheet: str | None, dry_run: bool,
                   good_rows_only: bool, total: int | None) -> ImportJob:
    """Record an upload for a worker to import (the file is already saved at ``path``).

    Raises:
        Forbidden: the member's role does not import the register.
    """
    if not may_see_full(user):
        raise Forbidden(N_("your role sees the register masked"))
    job = ImportJob(actor=user.name, file_name=file_name[:200], path=str(path), sheet=sheet, dry_run=dry_run,
                    good_rows_only=good_rows_only, status="pending", total=total, done_rows=0,
                    created_at=wallclock.now())
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int, user: User) -> ImportJob:
    """Return an import job of the member (each sees their own uploads).

    Raises:
        NotFound: no such job, or another member's.
    """
    job = session.get(ImportJob, job_id)
    if job is None or job.actor != user.name:
        raise NotFound(N_("no import %(id)s of yours"), id=str(job_id))
    return job


def run_import(session: Session, job: ImportJob, progress: Callable[[int], None]) -> ImportReport:
    """Import the job's file as its member would (their subtree), calling ``progress`` with the row reached."""
    user = user_by_name(session, job.actor)
    path = Path(job.path)
    if job.total is None:
        job.total = count_rows(path, job.sheet)
    return import_rows(session, read_rows(path, job.sheet), user.name, dry_run=job.dry_run,
                       good_rows_only=job.good_rows_only, progress=progress,
                       unit_ids=subtree_ids(session, user.unit_id))


def report_dict(report: ImportReport) -> dict[str, Any]:
    """Return an import report as the job row keeps it (JSON)."""
    return {"rows": report.rows, "households_added": report.households_added,
            "residents_added": report.residents_added, "residents_changed": report.residents_changed,
            "residents_unchanged": report.residents_unchanged, "stored": report.stored,
            "problems": [[p.row, p.column, p.problem, p.params] for p in report.problems]}


def report_of(job: ImportJob) -> ImportReport | None:
    """Return the report a finished job kept, as the import page shows it."""
    if job.report is None:
        return None
    data = job.report
    return ImportReport(rows=data["rows"], households_added=data["households_added"],
                        residents_added=data["residents_added"], residents_changed=data["residents_changed"],
                        residents_unchanged=data["residents_unchanged"], stored=data["stored"],
                        problems=[Problem(int(r), str(c), str(t), dict(p)) for r, c, t, p in data["problems"]])
