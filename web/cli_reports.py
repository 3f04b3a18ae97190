"""``gridcase kiosk add|list|revoke`` (touch screens' keys) and ``gridcase cards print`` (service cards)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from web.ui.security import secret_key
from workflow.base import config
from workflow.base.db import unit_of_work
from workflow.base.errors import DomainError


def _fail(exc: DomainError) -> None:
    click.echo(f"gridcase: {exc.message}", err=True)
    sys.exit(2)


@click.group()
def kiosk() -> None:
    """Touch screens in service centres: each opens /kiosk/UNIT with a signed, revocable key."""


@kiosk.command("add")
@click.argument("unit_code")
@click.option("--label", default="", help="Where the screen stands, e.g. 新华社区服务站大厅.")
def kiosk_add(unit_code: str, label: str) -> None:
    """Make a key for a touch screen of UNIT_CODE and print the URL to open on it."""
    from web.ui.self_report import kiosk_url
    from workflow.reports.kiosk import add_key

    try:
        with unit_of_work() as session:
            key = add_key(session, unit_code, label)
            key_id, unit = key.id, key.unit_code
    except DomainError as exc:
        _fail(exc)
        return
    click.echo(kiosk_url(secret_key(), key_id, unit))
    click.echo(f"kiosk key {key_id} for {unit}; revoke with: gridcase kiosk revoke {key_id}", err=True)


@kiosk.command("list")
def kiosk_list() -> None:
    """List the touch screens' keys: id, unit, label, made, active or revoked."""
    from workflow.reports.kiosk import list_keys

    with unit_of_work() as session:
        keys = list_keys(session)
        for k in keys:
            state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
            click.echo(f"{k.id}\t{k.unit_code}\t{k.label or '-'}\t{k.created_at:%Y-%m-%d %H:%M}\t{state}")
    if not keys:
        click.echo("no kiosk keys")


@kiosk.command("revoke")
@click.argument("key_id", type=int)
def kiosk_revoke(key_id: int) -> None:
    """Revoke a touch screen's key: its URL stops working at once."""
    from workflow.reports.kiosk import revoke_key

    try:
        with unit_of_work() as session:
            revoke_key(session, key_id)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"revoked kiosk key {key_id}")


@click.group()
def cards() -> None:
    """Service cards with the grid's contacts and a QR code to the public form."""


@cards.command("print")
@click.option("--unit", "unit_code", default=None, help="The unit whose buildings get cards (a grid, branch…).")
@click.option("--households", default=None,
              help="Instead: household ids of the register, comma-separated (one card each, with its address).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The PDF to write (default gridcase-cards-UNIT.pdf).")
def cards_print(unit_code: str | None, households: str | None, out: Path | None) -> None:
    """Write a PDF of service cards, eight per A4 page: one per building of the unit, or per household."""
    from workflow.reports.cards import cards_of, cards_pdf, household_cards

    if bool(unit_code) == bool(households):
        raise click.UsageError("give --unit or --households")
    try:
        ids = [int(part) for part in (households or "").split(",") if part.strip()]
    except ValueError as exc:
        raise click.UsageError("--households takes ids such as 1,2,3") from exc
    try:
        with unit_of_work() as session:
            if unit_code:
                made = cards_of(session, unit_code, config.public_base_url())
            else:
                made = household_cards(session, ids, config.public_base_url())
    except DomainError as exc:
        _fail(exc)
        return
    what = unit_code or "households"
    target = out or Path(f"gridcase-cards-{what}.pdf")
    content = cards_pdf(made)
    target.write_bytes(content)
    click.echo(f"{len(made)} cards for {what} written to {target} ({len(content):,} bytes)")
