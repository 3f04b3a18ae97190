"""The retention task on beat: anonymise the personal data of cases closed longer than the retention period."""

from __future__ import annotations

import logging

from workers.app import app
from workflow.base.db import default_engine
from workflow.retention.anonymise import run

logger = logging.getLogger(__name__)


@app.task(name="gridcase.retention")
def retention() -> int:
    """Anonymise every due case; return how many were anonymised (each is a step on its timeline)."""
    report = run(default_engine())
    logger.info("retention: %s cases anonymised (closed before %s)", len(report.cases), report.cutoff.isoformat(),
                extra={"cases": len(report.cases)})
    return len(report.cases)
