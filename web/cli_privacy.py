"""``gridcase keys new|rotate|status`` and ``gridcase retention run``: residents' data at rest."""

from __future__ import annotations

import click

from workflow.base.db import default_engine
from workflow.base.schema import upgrade
from workflow.base.vault import Field, KeyProblem, encrypted_fields, key_ring, new_index_key, new_key, pending, rekey
from workflow.retention.anonymise import run
from workflow.tables import metadata


@click.group()
def keys() -> None:
    """The keys that encrypt residents' personal data at rest (README "Keys")."""


@keys.command("new")
@click.option("--index", "index", is_flag=True, help="Print a blind-index key (GRIDCASE_INDEX_KEY) instead.")
def keys_new(index: bool) -> None:
    """Print a new data key as id:key (put it first in GRIDCASE_DATA_KEYS, keep the old ones after it)."""
    click.echo(new_index_key() if index else new_key())


@keys.command("status")
def keys_status() -> None:
    """Say which key encrypts and how many stored values are not yet under it."""
    try:
        ring = key_ring()
    except KeyProblem as exc:
        raise click.ClickException(str(exc)) from exc
    engine = default_engine()
    upgrade(engine)
    with engine.connect() as connection:
        counts = pending(connection, encrypted_fields(metadata))
    click.echo(f"current key: {ring.current_id}; keys that read: {', '.join(k for k, _ in ring.keys)}")
    for label, count in counts.items():
        if count:
            click.echo(f"  {label}: {count} not under the current key")
    click.echo(f"{sum(counts.values())} values to rewrite (gridcase keys rotate)")


@keys.command("rotate")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows rewritten per transaction.")
def keys_rotate(batch: int) -> None:
    """Re-encrypt every encrypted value not under the current key (plaintext rows too); resumable."""
    try:
        ring = key_ring()
    except KeyProblem as exc:
        raise click.ClickException(str(exc)) from exc
    engine = default_engine()
    upgrade(engine)
    with engine.connect() as connection:

        def committed(field: Field, count: int) -> None:
            # One transaction per batch: an interrupted run keeps what it did, and the next
            # run selects only what is left.
            connection.commit()
            click.echo(f"  {field.label}: {count} rewritten")

        try:
            done = rekey(connection, encrypted_fields(metadata), batch=batch, after_batch=committed)
        except KeyProblem as exc:
            raise click.ClickException(str(exc)) from exc
        connection.commit()
    click.echo(f"rotate: {sum(done.values())} values rewritten under key {ring.current_id}")


@click.group()
def retention() -> None:
    """Anonymising the personal data of long-closed cases (GRIDCASE_RETENTION_DAYS)."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Say what would be anonymised; change nothing.")
@click.option("--days", type=click.IntRange(0, None), default=None,
              help="Retention period in days (default: GRIDCASE_RETENTION_DAYS, 1096).")
def retention_run(dry_run: bool, days: int | None) -> None:
    """Anonymise the personal data of cases closed longer than the retention period (each a timeline step)."""
    engine = default_engine()
    upgrade(engine)
    report = run(engine, dry_run=dry_run, days=days)
    for done in report.cases:
        click.echo(("would anonymise " if dry_run else "anonymised ") + done.line())
    verb = "would be anonymised" if dry_run else "anonymised"
    click.echo(f"retention: {len(report.cases)} cases closed before {report.cutoff:%Y-%m-%d %H:%M} UTC {verb}"
               + (" (dry run: nothing changed)" if dry_run else ""))
