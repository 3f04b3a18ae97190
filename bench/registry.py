"""Import of a 50,000-row household 台账 (XLSX): the time of reading alone, a dry run, the import, a re-import.

Runs on a temporary SQLite file by default (the embedded default of `gridcase up`), or on
`--database-url` (its name must contain `bench`; its schema is dropped and re-created).
Last line: `rows=… read_s=… dry_run_s=… import_s=… reimport_s=… ratio_import_to_read=…`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select

from workflow.base.db import make_engine, unit_of_work
from workflow.base.schema import upgrade
from workflow.notices.org_file import import_org
from workflow.org.models import Unit
from workflow.org.tree import DEMO_ORG_FILE, read_org_file
from workflow.registry import idnumber
from workflow.registry.importer import import_rows, read_rows
from workflow.registry.ledger import COLUMNS
from workflow.registry.models import Building, Resident

BUILDINGS = 120
PER_HOUSEHOLD = 3


def write_workbook(path: Path, rows: int) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(["向阳街道住户台账"])
    sheet.append([c.headers[0] for c in COLUMNS])
    for n in range(rows):
        household, person = divmod(n, PER_HOUSEHOLD)
        building, room = divmod(household, 150)
        building %= BUILDINGS
        born = (date(1930, 1, 1) + timedelta(days=n % 25_000)).strftime("%Y%m%d")
        number = idnumber.make(f"150404{born}{n // 25_000:03d}")  # unique for up to 25,000,000 rows
        sheet.append([f"基准{building // 10}小区", f"{building % 10 + 1}号楼", f"{1 + room % 6}单元", 1 + room // 6,
                      f"{1 + room // 6}{1 + room % 6:02d}-{household}", f"居民{n}",
                      "户主" if person == 0 else "家属", "男" if int(number[16]) % 2 else "女", born,
                      f"139{n:08d}", number, "独居" if n % 17 == 0 else ""])
    book.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
        if args.database_url and "bench" not in args.database_url:
            raise SystemExit("the database name must contain 'bench'")
        engine = make_engine(url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        upgrade(engine)
        with unit_of_work(engine) as session:
            import_org(session, read_org_file(DEMO_ORG_FILE))
            grids = session.scalars(select(Unit.id).where(Unit.level == "grid")).all()
            session.add_all(Building(compound=f"基准{b // 10}小区", name=f"{b % 10 + 1}号楼",
                                     grid_unit_id=grids[b % len(grids)]) for b in range(BUILDINGS))
        path = Path(folder) / "ledger.xlsx"
        write_workbook(path, args.rows)
        print(f"workbook: {args.rows} rows, {path.stat().st_size // 1024} KiB", flush=True)

        started = time.perf_counter()
        read = sum(1 for _ in read_rows(path))
        read_s = time.perf_counter() - started

        def timed(dry_run: bool = False) -> tuple[float, Any]:
            t0 = time.perf_counter()
            with unit_of_work(engine) as session:
                report = import_rows(session, read_rows(path), "bench", dry_run=dry_run)
            return time.perf_counter() - t0, report

        dry_s, dry = timed(dry_run=True)
        import_s, report = timed()
        reimport_s, again = timed()
        with unit_of_work(engine) as session:
            stored = session.scalar(select(func.count()).select_from(Resident))
        assert not report.problems and report.residents_added == args.rows == stored, (report.problems[:3], stored)
        assert again.residents_unchanged == args.rows
        print(f"rows={args.rows} sheet_rows={read} database={engine.dialect.name} read_s={read_s:.1f} "
              f"dry_run_s={dry_s:.1f} import_s={import_s:.1f} reimport_s={reimport_s:.1f} "
              f"ratio_import_to_read={import_s / read_s:.2f}")
        engine.dispose()


if __name__ == "__main__":
    main()
