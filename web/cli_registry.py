"""``gridcase registry import|export|repeats``: the household 台账 from and to Excel or CSV files; repeat disputes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from workflow.base.db import default_engine, unit_of_work
from workflow.base.errors import DomainError
from workflow.base.schema import upgrade
from workflow.org.members import user_by_name
from workflow.registry.exporter import export_workbook
from workflow.registry.importer import count_rows, import_rows, problems_workbook, read_rows
from workflow.registry.repeats import repeat_groups, screening_unit


@click.group()
def registry() -> None:
    """The household and party-member registers (台账)."""


@registry.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sheet", help="Sheet of the workbook to read (default: the first).")
@click.option("--dry-run", is_flag=True, help="Check every row and say what would change; store nothing.")
@click.option("--good-rows-only", is_flag=True, help="Store the good rows even if some rows are refused.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the refused rows as XLSX (default: FILE.refused.xlsx when rows are refused).")
@click.option("--as", "actor", default="cli", show_default=True, help="Who the register's steps name.")
def registry_import(file: Path, sheet: str | None, dry_run: bool, good_rows_only: bool,
                    report_file: Path | None, actor: str) -> None:
    """Import a household 台账 (.xlsx or .csv; headers in Chinese, see README "The registers")."""
    upgrade(default_engine())
    total = count_rows(file, sheet)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=False) as progress:
            task = progress.add_task(f"checking {file.name}", total=total)
            with unit_of_work() as session:
                report = import_rows(session, read_rows(file, sheet), actor, dry_run=dry_run,
                                     good_rows_only=good_rows_only,
                                     progress=lambda n: progress.update(task, completed=n))
                progress.update(task, completed=total or 0, description=f"read {file.name}")
    except DomainError as exc:
        click.echo(f"gridcase: {exc.message}", err=True)
        sys.exit(2)
    click.echo(f"{report.rows} rows; {report.refused_rows} refused; households added {report.households_added}; "
               f"residents added {report.residents_added}, changed {report.residents_changed}, "
               f"unchanged {report.residents_unchanged}")
    if report.problems:
        out = report_file or file.with_suffix(".refused.xlsx")
        out.write_bytes(problems_workbook(report.problems))
        for p in report.problems[:20]:
            click.echo(f"  row {p.row}, {p.column}: {p.text}")
        if len(report.problems) > 20:
            click.echo(f"  … {len(report.problems) - 20} more")
        click.echo(f"refused rows written to {out}")
    if dry_run:
        click.echo("dry run: nothing stored")
    elif not report.stored:
        click.echo("nothing stored: rows were refused (fix them, or use --good-rows-only)", err=True)
        sys.exit(1)
    else:
        click.echo("stored")


@registry.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--as", "actor", required=True, help="Member whose subtree and role decide what is exported.")
def registry_export(file: Path, actor: str) -> None:
    """Export the register of a member's subtree to XLSX (masked unless their role sees full details)."""
    upgrade(default_engine())
    try:
        with unit_of_work() as session:
            data, rows = export_workbook(session, user_by_name(session, actor))
    except DomainError as exc:
        click.echo(f"gridcase: {exc.message}", err=True)
        sys.exit(2)
    file.write_bytes(data)
    click.echo(f"{rows} rows written to {file}")


@registry.command("repeats")
@click.option("--as", "actor", required=True, help="Member of a branch, general branch or the street.")
@click.option("--unit", help="Code of a unit of their subtree (default: their own unit).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
def registry_repeats(actor: str, unit: str | None, as_json: bool) -> None:
    """List the parties (masked) and places with repeat disputes (重复矛盾) under a unit, with their cases."""
    upgrade(default_engine())
    try:
        with unit_of_work() as session:
            found = screening_unit(session, user_by_name(session, actor), unit)
            code, groups = found.code, repeat_groups(session, found.id)
    except DomainError as exc:
        click.echo(f"gridcase: {exc.message}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps({"unit": code, "groups": [
            {"by": g.by, "label": g.label, "cases": [{"case_id": c.case_id, "state": c.state, "category": c.category,
                                                       "submitted_at": c.submitted_at.isoformat()} for c in g.cases]}
            for g in groups]}, ensure_ascii=False, indent=2))
        return
    for g in groups:
        cases = ", ".join(f"#{c.case_id} {c.category} {c.state}" for c in g.cases)
        click.echo(f"{g.by}\t{g.label}\t{len(g.cases)}\t{cases}")
    click.echo(f"{len(groups)} parties or places with repeat disputes under {code}")
