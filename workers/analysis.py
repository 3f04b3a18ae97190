"""Beat task of the analysis: derive again the facts of the cases that changed."""

from __future__ import annotations

from workers.app import app
from workflow.analysis.refresh import refresh_facts
from workflow.base.db import unit_of_work


@app.task(name="gridcase.refresh_analysis")
def refresh_analysis() -> int:
    """Bring the analysis facts up to date; return how many cases were derived again."""
    with unit_of_work() as session:
        return refresh_facts(session)
