"""Anonymising the personal data of long-closed cases, keeping what the figures count.

What goes: the parties' names (replaced by 某某) and phones, numbers and party names in every
free text of the case (descriptions, reasons, comments, mediation records and agreements,
notices' payloads), the events as received, an Open311 client's contact and address, the SMS
targets of residents, agreement PDFs, signature images, and the photos' originals (the
downscaled copies, without EXIF, stay). What stays: the case's category, grid, levels, states,
times, timeline kinds and the resident's answer (resolved, satisfaction), so the analysis
counts the case as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, exists, select
from sqlalchemy.orm import Session, sessionmaker

from schemas.vocabulary import FINAL_STATES
from workflow.audit import log as audit_log
from workflow.audit.chain import GENESIS, link
from workflow.base import config, wallclock
from workflow.base.privacy import scrub
from workflow.cases.attachments import upload_dir
from workflow.cases.chain import step_values
from workflow.cases.models import Attachment, Case, CaseEvent, Evaluation, InboxEvent, OutboxMessage
from workflow.cases.steps import lock_cases
from workflow.integrators.models import IntegratorRequest
from workflow.mediation.models import Mediation
from workflow.notices.models import Delivery

KIND = "retention.anonymise"
ACTOR = "retention"
ANONYMOUS = "某某"
_FINAL = [s.value for s in FINAL_STATES]


@dataclass
class Done:
    """What was (or, on a dry run, would be) anonymised in one case."""

    case_id: int
    closed_at: datetime
    parties: int = 0
    texts: int = 0
    originals: list[str] = field(default_factory=list)

    def line(self) -> str:
        """Return the one line a run prints for this case."""
        return (f"case {self.case_id} (closed {self.closed_at:%Y-%m-%d}): {self.parties} parties, "
                f"{self.texts} texts, {len(self.originals)} photo originals")


@dataclass
class Report:
    """A run: the cutoff it used and the cases it anonymised."""

    cutoff: datetime
    dry_run: bool
    cases: list[Done] = field(default_factory=list)


def cutoff(now: datetime, days: int | None = None) -> datetime:
    """Return the time before which a closed case is due."""
    return now - timedelta(days=config.retention_days() if days is None else days)


def due(session: Session, before: datetime, limit: int, after: int = 0) -> list[int]:
    """Return ids above ``after`` of final cases that ended before ``before`` and are not yet anonymised."""
    done = exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind == KIND)
    return list(session.scalars(select(Case.id).where(Case.id > after, Case.state.in_(_FINAL),
                                                      Case.state_entered_at < before, ~done)
                                .order_by(Case.id).limit(limit)))


class _Cleaner:
    """Scrubs texts of one case: numbers masked, the parties' names replaced; counts what changed."""

    def __init__(self, names: Iterable[str]) -> None:
        # Longest first: 王小明 before 王小.
        self.names = sorted({n for n in names if n and len(n) >= 2 and n != ANONYMOUS}, key=len, reverse=True)
        self.changed = 0

    def text(self, value: str | None) -> str | None:
        if not value:
            return value
        out = scrub(value)
        for name in self.names:
            out = out.replace(name, ANONYMOUS)
        if out != value:
            self.changed += 1
        return out

    def strings(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.strings(v) for v in value]
        if isinstance(value, dict):
            return {k: self.strings(v) for k, v in value.items()}
        return value


def anonymise_case(session: Session, case: Case, now: datetime, days: int) -> Done:
    """Anonymise one case's personal data and add the step that says so (the caller commits, then deletes files)."""
    done = Done(case.id, case.state_entered_at)
    steps = sorted(case.events, key=lambda e: e.seq)
    # The timeline is hash-chained (workflow/cases/chain.py): rewriting its texts breaks the chain, so
    # the case is chained again below and the old head kept on the chained admin log, which proves the
    # timeline was whole up to this anonymisation.
    old_head = steps[-1].row_hash if steps else None
    clean = _Cleaner(p.name for p in case.parties)
    for party in case.parties:
        if party.name != ANONYMOUS or party.phone is not None:
            done.parties += 1
        party.name, party.phone = ANONYMOUS, None
    case.description = clean.text(case.description) or ""
    for event in case.events:
        event.reason = clean.text(event.reason)
    for evaluation in session.scalars(select(Evaluation).where(Evaluation.case_id == case.id)):
        evaluation.comment = clean.text(evaluation.comment)
    for row in session.scalars(select(InboxEvent).where(InboxEvent.case_id == case.id)):
        if row.data != {"anonymised": True}:
            row.data = {"anonymised": True}
            clean.changed += 1
    for message in session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)):
        message.payload = clean.strings(message.payload)
    for delivery in session.scalars(select(Delivery).where(Delivery.case_id == case.id)):
        if delivery.recipient.startswith(("resident:", "party:")) and delivery.target:
            delivery.target = ""
            clean.changed += 1
    for request in session.scalars(select(IntegratorRequest).where(IntegratorRequest.case_id == case.id)):
        if request.contact is not None or request.address is not None:
            request.contact, request.address = None, None
            clean.changed += 1
    for mediation in session.scalars(select(Mediation).where(Mediation.case_id == case.id)):
        _mediation(mediation, clean)
    for photo in session.scalars(select(Attachment).where(Attachment.case_id == case.id)):
        if photo.original_file_name:
            done.originals.append(photo.original_file_name)
            photo.original_file_name = None
    done.texts = clean.changed
    _rechain(steps)
    session.flush()  # the new step below is chained to the rewritten head, read from the database
    audit_log.record(session, ACTOR, KIND, f"case {case.id}",
                     {"old_head": old_head, "steps": len(steps), "texts": done.texts, "parties": done.parties})
    case.version += 1
    case.updated_at = now
    session.add(CaseEvent(case_id=case.id, seq=case.version, kind=KIND, actor=ACTOR, actor_unit_id=None,
                          from_state=case.state, to_state=case.state, from_level=case.level, to_level=case.level,
                          reason=f"retention {days} days: {done.parties} parties, {done.texts} texts, "
                                 f"{len(done.originals)} photo originals",
                          public=False, at=now))
    return done


def _rechain(steps: list[CaseEvent]) -> None:
    """Chain a rewritten timeline again from its first step."""
    prev = GENESIS
    for step in steps:
        step.prev_hash = prev
        step.row_hash = prev = link(step_values(step), prev)


def _mediation(mediation: Mediation, clean: _Cleaner) -> None:
    mediation.outcome = clean.text(mediation.outcome)
    for party in mediation.parties:
        if party.witness:
            party.witness = None
            clean.changed += 1
        party.reason = clean.text(party.reason)
    for held in mediation.sessions:
        held.record = clean.text(held.record) or ""
        held.attendees = [clean.text(a) or "" for a in held.attendees]
    for agreement in mediation.agreements:
        # The party's ID number, birth date and address go; which party it was stays.
        agreement.party_facts = [{"party_id": f.get("party_id")} for f in agreement.party_facts]
        agreement.facts = clean.text(agreement.facts) or ""
        agreement.responsibility = clean.text(agreement.responsibility) or ""
        agreement.terms = clean.strings(agreement.terms)
        if agreement.pdf is not None:
            # The signed PDF holds everything in full; its SHA-256 stays as the record that it existed.
            agreement.pdf = None
            clean.changed += 1
        for signature in agreement.signatures:
            if signature.signer.startswith("party:"):
                signature.signer_name = ANONYMOUS
            signature.image = b""


def run(engine: Engine, *, dry_run: bool = False, now: datetime | None = None, days: int | None = None,
        batch: int = 100) -> Report:
    """Anonymise every due case, a batch per transaction; on a dry run, say the same and change nothing.

    A dry run does the work in a transaction it rolls back, so its report is what a run would do.
    The originals' files are deleted once their rows are committed.
    """
    now = now or wallclock.now()
    days = config.retention_days() if days is None else days
    report = Report(cutoff(now, days), dry_run)
    make = sessionmaker(engine, expire_on_commit=False)
    after = 0
    while True:
        with make() as session:
            session.begin()
            ids = due(session, report.cutoff, batch, after)
            if not ids:
                session.rollback()
                break
            # Locked as every step locks them: a case being reopened meanwhile waits, or wins.
            cases = lock_cases(session, ids)
            batch_done = [anonymise_case(session, cases[i], now, days) for i in sorted(cases)]
            if dry_run:
                session.rollback()
            else:
                session.commit()
        after = ids[-1]
        report.cases += batch_done
        if not dry_run:
            for done in batch_done:
                for name in done.originals:
                    (upload_dir() / Path(name).name).unlink(missing_ok=True)
    return report
