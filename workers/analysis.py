"""Tasks of the analysis: derive again the facts of the cases that changed (beat); make a monthly report."""

from __future__ import annotations

from sqlalchemy import update

from workers.app import app
from workflow.analysis.models import Report
from workflow.analysis.refresh import refresh_facts
from workflow.analysis.report import build
from workflow.base.db import default_engine, is_sqlite, unit_of_work


@app.task(name="gridcase.refresh_analysis")
def refresh_analysis() -> int:
    """Bring the analysis facts up to date; return how many cases were derived again."""
    with unit_of_work() as session:
        return refresh_facts(session)


@app.task(name="gridcase.monthly_report", acks_late=True)
def monthly_report(report_id: int, language: str = "zh_Hans") -> int:
    """Make a requested monthly report, its progress stored on the report row for the page."""
    with unit_of_work() as session:
        report = session.get(Report, report_id)
        if report is None or report.status == "done":
            return 0  # a second delivery of a finished task: nothing to do
        report.status = "running"
    # On SQLite every transaction holds the write lock (BEGIN IMMEDIATE): progress is shown only
    # on PostgreSQL, where it is committed beside the transaction that builds the report.
    separate = not is_sqlite(default_engine())

    def progress(pct: int, stage: str) -> None:
        if separate:
            with unit_of_work() as other:
                other.execute(update(Report).where(Report.id == report_id).values(progress=pct))

    try:
        with unit_of_work() as session:
            report = session.get(Report, report_id)
            assert report is not None
            build(session, report, language, progress)
    except Exception as exc:
        with unit_of_work() as session:
            session.execute(update(Report).where(Report.id == report_id).values(status="failed", error=str(exc)[:500]))
        raise
    return report_id
