"""Bringing the facts table up to date: every case that changed since the last run, derived again.

Runs on beat (``gridcase.refresh_analysis``) and by hand (``gridcase analysis refresh``). A case's
row is derived afresh from its whole timeline each time, so a run that repeats work, or two
runs that overlap, leave the same rows: nothing is incremented.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from workflow.analysis import rollup
from workflow.analysis.facts import MediationLike, derive
from workflow.analysis.kpis import REFRESH_HEARTBEAT
from workflow.analysis.models import CaseFacts
from workflow.base import wallclock
from workflow.base.db import is_sqlite
from workflow.cases.models import Case, CaseEvent, Evaluation
from workflow.clock.models import Deadline, Heartbeat
from workflow.clock.policy import current_policy
from workflow.mediation.models import Mediation

logger = logging.getLogger(__name__)

BATCH = 2000
REFRESH_LOCK = 14_0001  # the advisory lock key of a refresh on PostgreSQL
# A step committed a little after the last run started may carry an earlier updated_at: look
# back this far past the last run, so no late commit is missed (the rows are derived again).
OVERLAP = timedelta(minutes=5)


def changed_case_ids(session: Session, since: datetime | None) -> list[int]:
    """Return the ids of the cases changed since ``since`` (every case if None)."""
    query = select(Case.id)
    if since is not None:
        query = query.where(Case.updated_at >= since - OVERLAP)
    return list(session.scalars(query.order_by(Case.id)))


def derive_rows(session: Session, case_ids: Sequence[int], now: datetime) -> list[CaseFacts]:
    """Derive the facts rows of some cases from their timelines, deadlines and evaluations."""
    calendar = current_policy().calendar()
    ids = list(case_ids)
    cases = session.execute(select(Case.id, Case.grid_unit_id, Case.channel, Case.category, Case.severity,
                                   Case.submitted_at).where(Case.id.in_(ids))).all()
    steps: dict[int, list[CaseEvent]] = defaultdict(list)
    for step in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(ids))
                                .order_by(CaseEvent.case_id, CaseEvent.seq)):
        steps[step.case_id].append(step)
    deadlines: dict[int, list[Deadline]] = defaultdict(list)
    for row in session.scalars(select(Deadline).where(Deadline.subject == "case", Deadline.subject_id.in_(ids))
                               .order_by(Deadline.id)):
        deadlines[row.subject_id].append(row)
    answers: dict[int, list[Evaluation]] = defaultdict(list)
    for answer in session.scalars(select(Evaluation).where(Evaluation.case_id.in_(ids)).order_by(Evaluation.id)):
        answers[answer.case_id].append(answer)
    mediations: dict[int, list[MediationLike]] = defaultdict(list)
    for mediation in session.execute(select(Mediation.case_id, Mediation.state).where(Mediation.case_id.in_(ids))
                                     .order_by(Mediation.id)):
        mediations[mediation.case_id].append(mediation)
    rows = []
    for case_id, grid_unit_id, channel, category, severity, submitted_at in cases:
        facts = derive(submitted_at, steps[case_id], deadlines[case_id], answers[case_id], calendar,
                       mediations[case_id])
        rows.append(CaseFacts(case_id=case_id, grid_unit_id=grid_unit_id, channel=channel, category=category,
                              severity=severity, derived_at=now, **vars(facts)))
    return rows


def refresh_facts(session: Session, *, everything: bool = False) -> int:
    """Derive again the facts of every case changed since the last run; return how many were derived."""
    started = wallclock.now()
    beat = session.get(Heartbeat, REFRESH_HEARTBEAT)
    since = None if everything or beat is None else beat.at
    # Never run (a new deployment, or a migration that asked for it): derive every case and rebuild
    # the tallies, which deltas cannot bring up to date from nothing.
    everything = since is None
    ids = changed_case_ids(session, since)
    if not is_sqlite(session.get_bind().engine):
        # One refresh at a time: the daily tallies take back and add deltas (SQLite's write lock does this there).
        session.execute(select(func.pg_advisory_xact_lock(REFRESH_LOCK)))
    for i in range(0, len(ids), BATCH):
        chunk = ids[i : i + BATCH]
        rows = derive_rows(session, chunk, started)
        old = list(session.scalars(select(CaseFacts).where(CaseFacts.case_id.in_(chunk))))
        if not everything:
            rollup.apply(session, old, rows)
        session.execute(delete(CaseFacts).where(CaseFacts.case_id.in_(chunk)))
        session.add_all(rows)
        session.flush()
        session.expunge_all()
    if everything:
        rollup.rebuild(session)
    beat = session.get(Heartbeat, REFRESH_HEARTBEAT)
    if beat is None:
        session.add(Heartbeat(name=REFRESH_HEARTBEAT, at=started, detail={"cases": len(ids)}))
    else:
        beat.at, beat.detail = started, {"cases": len(ids)}
    logger.info("analysis: derived the facts of %d cases", len(ids))
    return len(ids)
