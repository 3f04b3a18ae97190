"""``gridcase up`` keeps going: unreadable broker files are set aside, a killed process is started again."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from tests.e2e.harness import Up
from tests.e2e.test_up import submit


def street_headers(up: Up) -> dict[str, str]:
    tokens = dict(line.split("\t") for line in (up.home / "demo-tokens.txt").read_text().splitlines())
    return {"Authorization": f"Bearer {tokens['xy.street']}"}


def states(up: Up, case_ids: list[int], headers: dict[str, str]) -> dict[int, Any]:
    # The staff API, not the residents' tracking page: that one is rate limited per address.
    return {case_id: (up.get(f"/api/v1/cases/{case_id}", headers) or {}).get("state") for case_id in case_ids}


def test_unreadable_broker_files_never_stop_the_worker(up: Up) -> None:
    up.start()
    headers = street_headers(up)
    queue = up.home / "broker" / "queue"
    dropped: list[str] = []
    accepted: list[int] = []
    web_failures = 0
    # What kombu's own transport leaves for a reader to find (an empty file, created and not
    # yet written), and worse, on every queue the worker reads, while events keep coming.
    bad = (("empty.events.msg", b""), ("garbage.events.msg", b'{"prop'), ("empty.deliveries.msg", b""),
           ("binary.deadlines.msg", b"\xff\x00"))
    for i in range(24):
        suffix, content = bad[i % len(bad)]
        (queue / f"{i}_{suffix}").write_bytes(content)
        dropped.append(f"{i}_{suffix}")
        answer = submit(up, f"resilience-{i}")
        accepted.append(answer["case_id"])
        if up.get("/api/v1/units") is None:
            web_failures += 1
        time.sleep(0.25)
    assert web_failures == 0
    up.wait_for(lambda: set(states(up, accepted, headers).values()) == {"grid_handling"},
                "every accepted event to reach grid_handling", timeout=30)
    for _ in range(10):  # and web still answers, the worker still there
        assert up.get("/api/v1/units") is not None
        time.sleep(0.1)
    assert len(up.process_ids("celery", "worker")) == 1
    up.wait_for(lambda: not any((queue / name).exists() for name in dropped), "the bad files to be taken")
    quarantined = {p.name for p in (up.home / "broker" / "quarantine").iterdir()}
    assert set(dropped) <= quarantined
    log = up.log()
    assert "Unrecoverable error" not in log
    assert all(name in log for name in dropped)  # each one logged by name


def test_a_killed_worker_is_started_again_and_counted_on_healthz(up: Up) -> None:
    up.start()
    headers = street_headers(up)
    [worker] = up.process_ids("celery", "worker")
    os.kill(worker, signal.SIGKILL)
    up.wait_for(lambda: up.process_ids("celery", "worker") not in ([], [worker]), "the worker to come back")
    assert up.get("/api/v1/units") is not None  # web never went away
    up.wait_for(lambda: ((up.health() or {}).get("supervisor") or {}).get("restarts") == 1,
                "/healthz to count the restart")
    health = up.health()
    assert health is not None
    assert health["supervisor"]["children"]["worker"]["restarts"] == 1
    assert health["supervisor"]["children"]["worker"]["last_exit_code"] == -signal.SIGKILL
    assert health["supervisor"]["children"]["web"]["restarts"] == 0
    case = submit(up, "after-the-kill")
    up.wait_for(lambda: states(up, [case["case_id"]], headers)[case["case_id"]] == "grid_handling",
                "a new event to be handled by the new worker")
    assert "worker exited unexpectedly" in up.log()
