"""The timeline's hash chain: the cost of link() per step and of verify_timelines over a synthetic SQLite database.

    python bench/chain.py CASES STEPS_PER_CASE      # e.g. 10000 5

Prints one line last: the microseconds link() takes a step and how many steps a second verify walks.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from workflow.audit.chain import GENESIS, link
from workflow.base.db import make_engine, unit_of_work
from workflow.base.schema import upgrade
from workflow.cases.chain import CHAINED, verify_timelines
from workflow.cases.models import Case, CaseEvent


def main(cases: int, per: int) -> None:
    """Build the database, then time hashing and verifying."""
    path = tempfile.mktemp(suffix=".sqlite3")
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO units (id, code, name, level) VALUES (1, 'G', 'grid', 'grid')"))
        conn.execute(insert(Case), [dict(id=i, tracking_code=f"T{i}", state="grid_handling", level="grid",
            grid_unit_id=1, holding_unit_id=1, category="NOI", severity="P2", channel="hotline", description="噪音",
            submitted_at=t0, state_entered_at=t0, updated_at=t0, reopen_count=0, supervised=False, version=per,
            clock_token=0, filed_by_integrator=False) for i in range(1, cases + 1)])
        rows: list[dict[str, Any]] = []
        started = time.perf_counter()
        for c in range(1, cases + 1):
            prev = GENESIS
            for s in range(1, per + 1):
                r = dict(case_id=c, seq=s, kind="note", actor="xy01a1.leader", actor_unit_id=1, from_state="grid_handling",
                         to_state="grid_handling", from_level="grid", to_level="grid", reason="上门了解情况，已联系物业处理",
                         public=False, at=t0 + timedelta(seconds=s), inbox_id=None)
                h = link([r[n] for n in CHAINED], prev)
                rows.append({**r, "prev_hash": prev, "row_hash": h})
                prev = h
        hashing = time.perf_counter() - started
        conn.execute(insert(CaseEvent), rows)
    with unit_of_work(engine) as session:
        started = time.perf_counter()
        found = verify_timelines(session)
        took = time.perf_counter() - started
    print(f"{cases * per} steps: link() {hashing / (cases * per) * 1e6:.1f} µs a step; "
          f"verify {took:.2f} s ({cases * per / took:,.0f} steps/s), broken {len(found.broken)}")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
