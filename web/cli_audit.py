"""``gridcase audit verify|log``: the timelines' and the admin log's hash chains, and the admin log itself."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import click

from workflow.audit.log import Filter, entries, verify_log
from workflow.base import config
from workflow.base.db import unit_of_work
from workflow.cases.chain import verify_timelines


@click.group()
def audit() -> None:
    """Tamper evidence: verify the hash chains; read the administrators' audit log."""


@audit.command("verify")
@click.option("--case", "case_id", type=int, default=None, help="Only this case's timeline (and not the admin log).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audit_verify(case_id: int | None, as_json: bool) -> None:
    """Recompute the hash chains; name each broken case's first broken link. Exit 1 if any is broken."""
    with unit_of_work() as session:
        found = verify_timelines(session, case_id)
        log_entries, log_break = (0, None) if case_id is not None else verify_log(session)
    broken = bool(found.broken or log_break)
    if as_json:
        click.echo(json.dumps({**found.as_json(), "first_breaks": [b.as_json() for b in found.broken],
                               "admin_log": {"entries": log_entries,
                                             "broken": log_break.as_json() if log_break else None}},
                              ensure_ascii=False))
    else:
        if case_id is not None and found.cases == 0:
            click.echo(f"gridcase: no case with id {case_id}", err=True)
            sys.exit(2)
        for b in [*found.broken, *([log_break] if log_break else [])]:
            where = f"step {b.seq}" if b.chain.startswith("case") else f"entry {b.seq}"
            click.echo(f"{b.chain}: broken at {where if b.seq is not None else 'its start'}: {b.detail}")
        click.echo(f"checked {found.cases} case timelines ({found.steps} steps)"
                   + (f" and {log_entries} admin log entries" if case_id is None else "")
                   + (f": {len(found.broken)} broken" + (", the admin log broken" if log_break else "")
                      if broken else ": every chain holds"))
    sys.exit(1 if broken else 0)


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    day = datetime.fromisoformat(value)
    return day if day.tzinfo else day.replace(tzinfo=ZoneInfo(config.timezone_name()))


@audit.command("log")
@click.option("--actor", default=None, help="Only this member's acts (login name).")
@click.option("--action", default=None, help="Only this act (member.role) or area (member).")
@click.option("--since", default=None, help="From this date or time (YYYY-MM-DD[THH:MM]), local time.")
@click.option("--until", default=None, help="Before this date or time, local time.")
@click.option("--limit", default=50, show_default=True, type=int, help="At most this many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit_log(actor: str | None, action: str | None, since: str | None, until: str | None, limit: int,
              as_json: bool) -> None:
    """Print the administrators' audit log, newest first."""
    try:
        flt = Filter(actor=actor, action=action, since=_when(since), until=_when(until))
    except ValueError as exc:
        click.echo(f"gridcase: {exc}", err=True)
        sys.exit(2)
    with unit_of_work() as session:
        rows, total = entries(session, flt, limit=limit)
        for e in rows:
            if as_json:
                click.echo(json.dumps({"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor,
                                       "actor_unit": e.actor_unit, "action": e.action, "target": e.target,
                                       "detail": e.detail}, ensure_ascii=False))
            else:
                local = e.at.astimezone(ZoneInfo(config.timezone_name()))
                click.echo(f"{e.seq}\t{local:%Y-%m-%d %H:%M}\t{e.actor}\t{e.action}\t{e.target}\t"
                           f"{json.dumps(e.detail, ensure_ascii=False)}")
    if not as_json:
        click.echo(f"{len(rows)} of {total} entries")
