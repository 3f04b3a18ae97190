"""The ``gridcase`` command: run it all, migrate, import the org tree, manage users and tokens."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from schemas.vocabulary import Level
from web.audit_trail import note_cli
from web.cli_audit import audit
from web.cli_decisions import decisions
from web.cli_privacy import keys, retention
from web.cli_registry import registry
from web.cli_reports import cards, kiosk
from workflow import machines  # noqa: F401 - registers every machine kind with the clock
from workflow.base import config
from workflow.base.db import default_engine, unit_of_work
from workflow.base.errors import DomainError
from workflow.base.schema import upgrade
from workflow.notices.org_file import import_org
from workflow.org.members import add_user, create_token, set_password, user_by_name
from workflow.org.tree import read_org_file


def _fail(exc: DomainError) -> None:
    click.echo(f"gridcase: {exc.message}", err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """gridcase: grievance and dispute-resolution workflow for community grid governance."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the web server listens on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port of the web server.")
@click.option("--workers", "worker_threads", default=4, show_default=True, type=int,
              help="Threads of the embedded Celery worker.")
@click.option("--flower", is_flag=True, help="Also run Flower, the Celery monitor, on 127.0.0.1:5555.")
def up(host: str, port: int, worker_threads: int, flower: bool) -> None:
    """Run web, worker and beat together (SQLite and a file broker unless configured otherwise)."""
    from web.up import run

    sys.exit(run(host, port, worker_threads, flower))


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations the database lacks."""
    upgrade(default_engine())
    click.echo(f"database is current: {default_engine().url.render_as_string(hide_password=True)}")


@main.group()
def org() -> None:
    """The org tree."""


@org.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def org_import(file: Path) -> None:
    """Create or update units and members from a YAML or JSON org file (see workflow/org/demo/org.yaml)."""
    try:
        tree = read_org_file(file)
        upgrade(default_engine())
        with unit_of_work() as session:
            report = import_org(session, tree)
            note_cli(session, "org.import", f"file {file.name}", report=str(report))
    except DomainError as exc:
        _fail(exc)
        return
    click.echo(f"org import from {file}: {report}")


@main.group()
def user() -> None:
    """Staff members."""


@user.command("add")
@click.argument("name")
@click.option("--unit", "unit_code", required=True, help="Code of the member's unit.")
@click.option("--role", required=True, help="grid_leader, branch_secretary, general_branch_secretary, "
              "street_staff, mediator, household_leader or admin.")
@click.option("--display-name", default=None, help="Name shown to people (default: NAME).")
@click.option("--phone", default=None)
@click.option("--password", "ask_password", is_flag=True, help="Ask for a password to log in to the pages.")
def user_add(name: str, unit_code: str, role: str, display_name: str | None, phone: str | None,
             ask_password: bool) -> None:
    """Add a staff member to a unit with a role."""
    password = _ask_password() if ask_password else None
    try:
        with unit_of_work() as session:
            member = add_user(session, name, unit_code, role, display_name, phone)
            if password is not None:
                set_password(member, password)
            note_cli(session, "member.add", f"member {member.name}", role=member.role, unit=member.unit.code)
            click.echo(f"added {member.name} ({member.role}) to {member.unit.code} {member.unit.name}")
    except DomainError as exc:
        _fail(exc)


@user.command("password")
@click.argument("name")
def user_password(name: str) -> None:
    """Set a member's password for the pages (asked twice, never echoed); other sessions end."""
    password = _ask_password()
    try:
        with unit_of_work() as session:
            set_password(user_by_name(session, name), password)
            note_cli(session, "member.password", f"member {name}")
    except DomainError as exc:
        _fail(exc)
    click.echo(f"password of {name} set")


@user.command("end-sessions")
@click.argument("name")
def user_end_sessions(name: str) -> None:
    """End every session of a member on the pages (they log in again); API tokens are not touched."""
    from workflow.org.sessions import end_sessions

    try:
        with unit_of_work() as session:
            ended = end_sessions(session, user_by_name(session, name), "administrator")
            note_cli(session, "member.end_sessions", f"member {name}", sessions=ended)
    except DomainError as exc:
        _fail(exc)
        return
    click.echo(f"{ended} session(s) of {name} ended")


def _ask_password() -> str:
    # Read from stdin when it is not a terminal, so scripts can pipe a password in.
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True))


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.argument("name")
@click.option("--days", type=int, default=None, help="Days it lasts (default GRIDCASE_TOKEN_DAYS, 90).")
def token_create(name: str, days: int | None) -> None:
    """Create a bearer token for a member and print it (it is shown only once)."""
    try:
        with unit_of_work() as session:
            click.echo(create_token(session, name, days))
            note_cli(session, "token.create", f"member {name}", days=days)
    except DomainError as exc:
        _fail(exc)


@token.command("list")
@click.option("--user", "user_name", default=None, help="Only this member's tokens.")
def token_list(user_name: str | None) -> None:
    """List tokens: id, member, created, expires, last used (UTC) and whether each still works."""
    from workflow.base.wallclock import now
    from workflow.org.members import list_tokens, token_expiry

    def when(at: datetime | None) -> str:
        return f"{at:%Y-%m-%d %H:%M}" if at else "never"

    try:
        with unit_of_work() as session:
            rows = list_tokens(session, user_name)
            for row in rows:
                expires = token_expiry(row)
                state = "revoked" if row.revoked_at else "expired" if expires <= now() else "valid"
                click.echo(f"{row.id}\t{row.user.name}\tcreated {when(row.created_at)}\texpires {when(expires)}"
                           f"\tlast used {when(row.last_used_at)}\t{state}")
    except DomainError as exc:
        _fail(exc)
        return
    if not rows:
        click.echo("no tokens")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token by its id (from 'gridcase token list'); it stops working at once."""
    from workflow.org.members import revoke_token

    try:
        with unit_of_work() as session:
            row = revoke_token(session, token_id)
            note_cli(session, "token.revoke", f"token {token_id}")
            click.echo(f"token {row.id} of {row.user.name} revoked")
    except DomainError as exc:
        _fail(exc)


@main.group()
def schemas() -> None:
    """The JSON Schema files of the events."""


@schemas.command("export")
@click.option("--check", is_flag=True, help="Exit 1 if the files on disk differ from the models.")
def schemas_export(check: bool) -> None:
    """Write schemas/json/*.json from the pydantic models."""
    from schemas.export import export

    stale = export(check=check)
    for path in stale:
        click.echo(f"{'out of date' if check else 'wrote'}: {path}")
    if check and stale:
        click.echo("run 'gridcase schemas export' and commit the result", err=True)
        sys.exit(1)



@main.group()
def deadlines() -> None:
    """The clock of cases."""


@deadlines.command("simulate")
@click.option("--case", "case_id", required=True, type=int, help="The case id.")
def deadlines_simulate(case_id: int) -> None:
    """Print when each future step of the clock would fire for a case, if nobody acts."""
    from workflow.base.labels import LEVEL_LABELS
    from workflow.base.wallclock import now
    from workflow.cases.simulate import plan
    from workflow.cases.views import get_case

    try:
        with unit_of_work() as session:
            case = get_case(session, case_id)
            zone = ZoneInfo(config.timezone_name())
            click.echo(f"case {case.id}: {case.state} at the {case.level} {case.holding_unit.code}, "
                       f"severity {case.severity}, category {case.category} (times in {zone.key})")
            steps = plan(session, case, now())
    except DomainError as exc:
        _fail(exc)
        return
    if not steps:
        click.echo("  nothing will fire: the clock of this case is not running")
    for step in steps:
        label = LEVEL_LABELS[Level(step.level)][0]
        click.echo(f"  {step.at.astimezone(zone):%Y-%m-%d %H:%M} {label:<3} {step.what}")


@deadlines.command("reapply")
@click.option("--case", "case_id", required=True, type=int, help="The case id.")
@click.option("--reason", required=True, help="Why (kept on the case's timeline).")
def deadlines_reapply(case_id: int, reason: str) -> None:
    """Restart a case's clock under the policy in force now (logged on its timeline)."""
    from workflow.cases.steps import ActorContext, apply_trigger, load_case_for_update

    try:
        with unit_of_work() as session:
            case = load_case_for_update(session, case_id)
            apply_trigger(session, case, "reapply_policy", ActorContext.system(), {"reason": reason})
            note_cli(session, "policy.reapply", f"case {case_id}")
            session.flush()
            click.echo(f"case {case.id}: clock restarted, deadline {case.deadline_at:%Y-%m-%d %H:%M} UTC")
    except DomainError as exc:
        _fail(exc)


@main.group()
def policy() -> None:
    """The deadline policy."""


@policy.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def policy_check(file: Path | None) -> None:
    """Validate a policy file (default: the one in force, GRIDCASE_POLICY or the shipped one)."""
    from workflow.clock.policy import current_policy, load_policy

    try:
        loaded = load_policy(file) if file else current_policy()
    except DomainError as exc:
        _fail(exc)
        return
    click.echo(f"{loaded.source}: valid (fingerprint {loaded.digest})")


@main.group()
def subscription() -> None:
    """Who is told of what (see the org file's `subscriptions`)."""


@subscription.command("add")
@click.argument("unit_code")
@click.option("--topics", default="*", show_default=True, help="Comma-separated event kinds, or *.")
@click.option("--subtree", is_flag=True, help="Also the events of every unit below.")
@click.option("--category", "categories", multiple=True, help="Only these categories (repeatable).")
@click.option("--severity", "severities", multiple=True, help="Only these severities (repeatable).")
@click.option("--channel", default="members", show_default=True,
              help="members, email, sms, wecom, dingtalk or webhook.")
@click.option("--target", default=None, help="Robot or webhook URL, email address or phone.")
@click.option("--secret", default=None, help="DingTalk signing secret or webhook HMAC key.")
@click.option("--language", default=None, help="zh_Hans, zh_Hant or en.")
def subscription_add(unit_code: str, topics: str, subtree: bool, categories: tuple[str, ...],
                     severities: tuple[str, ...], channel: str, target: str | None, secret: str | None,
                     language: str | None) -> None:
    """Subscribe a unit (its members, or one address) to events of the unit or its subtree."""
    from pydantic import ValidationError

    from schemas.org import SubscriptionSpec
    from workflow.notices.subscriptions import add

    try:
        spec = SubscriptionSpec.model_validate({
            "topics": [t.strip() for t in topics.split(",") if t.strip()], "subtree": subtree,
            "categories": list(categories) or None, "severities": list(severities) or None, "channel": channel,
            "target": target, "secret": secret, "language": language})
    except ValidationError as exc:
        first = exc.errors()[0]
        click.echo(f"gridcase: {'.'.join(str(p) for p in first['loc']) or 'subscription'}: {first['msg']}", err=True)
        sys.exit(2)
    try:
        with unit_of_work() as session:
            sub = add(session, unit_code, spec)
            note_cli(session, "subscription.add", f"subscription {sub.id}", unit=unit_code, channel=sub.channel,
                     topics=list(sub.topics))
            click.echo(f"subscription {sub.id}: {unit_code} {','.join(sub.topics)} via {sub.channel}")
    except DomainError as exc:
        _fail(exc)


@subscription.command("list")
@click.option("--unit", "unit_code", default=None, help="Only this unit's.")
def subscription_list(unit_code: str | None) -> None:
    """List subscriptions."""
    from workflow.notices.subscriptions import listing

    try:
        with unit_of_work() as session:
            for sub in listing(session, unit_code):
                where = "subtree" if sub.subtree else "unit"
                filters = " ".join(f"{k}={','.join(v)}" for k, v in
                                   (("categories", sub.categories), ("severities", sub.severities)) if v)
                target = (sub.target or "").split("?")[0]
                click.echo(f"{sub.id}\t{sub.unit.code}\t{where}\t{','.join(sub.topics)}\t{sub.channel}"
                           f"\t{target}\t{filters}".rstrip())
    except DomainError as exc:
        _fail(exc)


@subscription.command("remove")
@click.argument("subscription_id", type=int)
def subscription_remove(subscription_id: int) -> None:
    """Remove a subscription."""
    from workflow.notices.subscriptions import remove

    try:
        with unit_of_work() as session:
            remove(session, subscription_id)
            note_cli(session, "subscription.remove", f"subscription {subscription_id}")
    except DomainError as exc:
        _fail(exc)
    click.echo(f"removed subscription {subscription_id}")


@main.group()
def outbox() -> None:
    """Notices on their way."""


@outbox.command("stuck")
def outbox_stuck() -> None:
    """List dead deliveries and those pending for more than ten minutes."""
    from workflow.notices.delivery import as_dict, stuck

    with unit_of_work() as session:
        rows = stuck(session)
        for d in rows:
            shown = as_dict(d)
            click.echo(f"{d.id}\tcase {d.case_id}\t{shown['topic']}\t{d.channel}\t{shown['to']}\t{d.status}"
                       f"\t{d.attempts} attempts\t{d.last_error or ''}")
    if not rows:
        click.echo("nothing stuck")


@outbox.command("retry")
@click.argument("delivery_id", type=int)
def outbox_retry(delivery_id: int) -> None:
    """Send a dead delivery again (it is published by the relay within seconds)."""
    from workflow.notices.delivery import retry

    try:
        with unit_of_work() as session:
            retry(session, delivery_id)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"delivery {delivery_id} will be tried again")


@main.group()
def integrator() -> None:
    """Integrator keys: systems that file cases (Open311, CloudEvents) and hear of them by webhook."""


@integrator.command("add")
@click.argument("name")
@click.option("--scopes", required=True, help="Comma-separated: submit, read, webhook.")
@click.option("--rate", default="60/minute", show_default=True, help="Requests the key may send, e.g. 60/minute.")
@click.option("--source", default=None, help="CloudEvent source of what it files (default /integrators/NAME).")
@click.option("--answer", default="realtime", show_default=True, type=click.Choice(["realtime", "batch"]),
              help="Open311 POST answers the request id (realtime) or a token (batch).")
@click.option("--webhook", "webhook_url", default=None, help="URL that receives the steps of the cases it filed.")
@click.option("--secret", "webhook_secret", default=None, help="HMAC key of the webhook (default: made and printed).")
@click.option("--language", default=None, type=click.Choice(["zh_Hans", "zh_Hant", "en"]),
              help="Language of the webhook's texts.")
def integrator_add(name: str, scopes: str, rate: str, source: str | None, answer: str, webhook_url: str | None,
                   webhook_secret: str | None, language: str | None) -> None:
    """Create an integrator and print its API key (shown only once; only its hash is kept)."""
    from workflow.integrators.keys import add_integrator

    try:
        with unit_of_work() as session:
            made, key = add_integrator(session, name, [s.strip() for s in scopes.split(",") if s.strip()],
                                       rate=rate, source=source, answer=answer, webhook_url=webhook_url,
                                       webhook_secret=webhook_secret, language=language)
            note_cli(session, "integrator.add", f"integrator {made.name}", scopes=list(made.scopes),
                     key_prefix=made.key_prefix)
            click.echo(key)
            click.echo(f"integrator {made.name}: scopes {','.join(made.scopes)}, rate {made.rate}, "
                       f"source {made.source}", err=True)
            if made.webhook_url and not webhook_secret:
                click.echo(f"webhook secret (HMAC-SHA256 key): {made.webhook_secret}", err=True)
    except DomainError as exc:
        _fail(exc)


@integrator.command("list")
def integrator_list() -> None:
    """List integrators: name, key prefix, scopes, rate, source, webhook, revoked or active."""
    from workflow.integrators.keys import listing

    with unit_of_work() as session:
        rows = listing(session)
        for i in rows:
            state = f"revoked {i.revoked_at:%Y-%m-%d %H:%M}" if i.revoked_at else "active"
            click.echo(f"{i.id}\t{i.name}\t{i.key_prefix}…\t{','.join(i.scopes)}\t{i.rate}\t{i.source}"
                       f"\t{(i.webhook_url or '-').split('?')[0]}\t{state}")
    if not rows:
        click.echo("no integrators")


@integrator.command("revoke")
@click.argument("name")
def integrator_revoke(name: str) -> None:
    """Revoke an integrator's key at once (what it filed stays)."""
    from workflow.integrators.keys import revoke

    try:
        with unit_of_work() as session:
            revoke(session, name)
            note_cli(session, "integrator.revoke", f"integrator {name}")
    except DomainError as exc:
        _fail(exc)
    click.echo(f"revoked integrator {name}")


@main.group()
def analysis() -> None:
    """The figures: derive the facts the dashboard and the KPIs read."""


@analysis.command("refresh")
@click.option("--all", "everything", is_flag=True, help="Derive every case again, not only those changed.")
def analysis_refresh(everything: bool) -> None:
    """Derive again the facts of the cases changed since the last run (beat does this every minute)."""
    from workflow.analysis.refresh import refresh_facts

    with unit_of_work() as session:
        count = refresh_facts(session, everything=everything)
    click.echo(f"analysis: derived the facts of {count} cases")


@main.group()
def report() -> None:
    """Reports: the monthly 民意分析 workbook."""


@report.command("monthly")
@click.option("--unit", "unit_code", required=True, help="Code of the unit (its whole subtree is reported).")
@click.option("--month", required=True, help="The month, YYYY-MM.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the XLSX (default: gridcase-UNIT-MONTH.xlsx here).")
@click.option("--language", default="zh_Hans", show_default=True, type=click.Choice(["zh_Hans", "zh_Hant", "en"]))
def report_monthly(unit_code: str, month: str, out: Path | None, language: str) -> None:
    """Bring the figures up to date, make the month's workbook, keep it as a snapshot and write it out."""
    from rich.progress import Progress

    from workflow.analysis.refresh import refresh_facts
    from workflow.analysis.report import build, request_report
    from workflow.org.tree import unit_by_code

    target = out or Path(f"gridcase-{unit_code}-{month}.xlsx")
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task("民意分析", total=100)
            with unit_of_work() as session:
                bar.update(task, description="facts")
                refresh_facts(session)
            with unit_of_work() as session:
                made = request_report(session, unit_by_code(session, unit_code), month, "cli")
                content = build(session, made, language,
                                lambda pct, stage: bar.update(task, completed=pct, description=stage))
                report_id = made.id
    except DomainError as exc:
        _fail(exc)
        return
    target.write_bytes(content)
    click.echo(f"report {report_id}: {unit_code} {month} written to {target} ({len(content):,} bytes)")


main.add_command(registry)
main.add_command(keys)
main.add_command(retention)
main.add_command(decisions)
main.add_command(kiosk)
main.add_command(cards)
main.add_command(audit)
