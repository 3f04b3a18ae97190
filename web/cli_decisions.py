"""``gridcase decisions list|show``: the community decisions (四议两公开) for an operator at a terminal."""

from __future__ import annotations

import sys
from zoneinfo import ZoneInfo

import click

from workflow.base import config
from workflow.base.db import unit_of_work
from workflow.base.errors import DomainError
from workflow.base.privacy import mask_name, mask_phone
from workflow.decisions.machine import DState
from workflow.decisions.steps import all_decisions, get_decision


@click.group()
def decisions() -> None:
    """Community decisions (四议两公开): where each stands, its meetings, publication and objections."""


def _local(value: object) -> str:
    return value.astimezone(ZoneInfo(config.timezone_name())).strftime("%Y-%m-%d %H:%M") \
        if hasattr(value, "astimezone") else "—"


@decisions.command("list")
@click.option("--state", type=click.Choice([s.value for s in DState]), help="Only decisions in this state.")
@click.option("--community", help="Only this community's (its unit code, e.g. XY-01).")
def decisions_list(state: str | None, community: str | None) -> None:
    """List decisions, newest first: id, community, state, the publication period's end, open objections."""
    with unit_of_work() as session:
        for d in all_decisions(session, state):
            if community and d.unit.code != community:
                continue
            open_ = sum(1 for o in d.objections if o.answered_at is None)
            period = "-"
            if d.period_kind:
                ends = "paused" if d.paused_at else f"until {_local(d.period_ends_at)}"
                period = f"{d.period_kind} {ends}"
            click.echo(f"{d.id}\t{d.unit.code}\t{d.state}\t{period}\t{open_} open objection(s)\t{d.title}")


@decisions.command("show")
@click.argument("decision_id", type=int)
def decisions_show(decision_id: int) -> None:
    """Show one decision: its meetings and votes, objections (residents masked) and timeline."""
    try:
        with unit_of_work() as session:
            d = get_decision(session, decision_id)
            click.echo(f"#{d.id} {d.title} · {d.unit.name} ({d.unit.code}) · {d.state}")
            for m in d.meetings:
                votes = "" if m.votes_for is None else \
                    f", {m.votes_for} for / {m.votes_against} against / {m.votes_abstaining} abstaining"
                click.echo(f"  meeting {m.kind} {m.held_on}: {len(m.present)} of {len(m.entitled)} present{votes}, "
                           f"{'passed' if m.passed else 'not passed'}")
            for o in d.objections:
                click.echo(f"  objection #{o.id} ({o.stage}) {mask_name(o.name)} {mask_phone(o.phone)}: "
                           f"{'answered' if o.answered_at else 'OPEN'}")
            for e in d.events:
                click.echo(f"  {e.seq:>3} {_local(e.at)} {e.kind:<18} {e.actor:<16} {e.reason or ''}")
    except DomainError as exc:
        click.echo(exc.message, err=True)
        sys.exit(1)
