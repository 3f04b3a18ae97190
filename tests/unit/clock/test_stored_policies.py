"""Policies stored with the clocks they start: one row per content, whoever stores it first."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from workflow.clock import stored_policies
from workflow.clock.models import Policy as PolicyRow
from workflow.clock.policy import DEFAULT_POLICY_FILE, Policy, load_policy
from workflow.clock.stored_policies import record_policy


def a_new_policy(tmp_path: Path) -> Policy:
    """A policy no earlier test stored (its digest is new): the shipped one warning at another, unique fraction."""
    path = tmp_path / f"policy-{uuid.uuid4().hex[:8]}.yaml"
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    warn = f"warn_at: 0.5{uuid.uuid4().int % 10**8:08d}1"
    assert "warn_at: 0.75" in text
    path.write_text(text.replace("warn_at: 0.75", warn), encoding="utf-8")
    return load_policy(path)


def stored(engine: Engine, policy: Policy) -> list[int]:
    with Session(engine) as session:
        return list(session.scalars(select(PolicyRow.id).where(PolicyRow.digest == policy.digest)))


def test_a_policy_stored_by_a_transaction_that_rolled_back_is_stored_again(engine: Engine, tmp_path: Path) -> None:
    policy = a_new_policy(tmp_path)
    with Session(engine) as session:
        record_policy(session, policy)
        session.rollback()  # the case that started the clock was refused: the policy row went with it
    assert stored(engine, policy) == []
    with Session(engine) as session:
        row_id = record_policy(session, policy)
        session.commit()
    assert stored(engine, policy) == [row_id]


def test_two_workers_storing_the_same_new_policy_at_once_share_one_row(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the second cannot look up before the first commits")
    policy = a_new_policy(tmp_path)
    first = Session(engine)
    first_id = record_policy(first, policy)  # inserted, not yet committed
    second: dict[str, object] = {}

    def other_worker() -> None:
        try:
            with Session(engine) as session:
                second["id"] = record_policy(session, policy)  # looks up: nothing committed; inserts: waits
                session.commit()
        except Exception as exc:  # noqa: BLE001 - the failure is what this test looks for
            second["error"] = exc

    stored_policies._recorded.clear()  # the other worker is another process: it remembers nothing of this one
    worker = threading.Thread(target=other_worker)
    worker.start()
    worker.join(0.5)
    assert worker.is_alive(), "the second insert should wait for the first transaction"
    first.commit()
    first.close()
    worker.join(10)
    assert "error" not in second, second.get("error")
    assert second["id"] == first_id
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PolicyRow).where(
            PolicyRow.digest == policy.digest)) == 1
