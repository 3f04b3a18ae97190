"""The supervisor of ``gridcase up``: a child that exits comes back; one that keeps failing stops the group."""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from web import supervisor
from web.supervisor import Supervisor, read_state

PYTHON = shlex.quote(sys.executable)


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "BACKOFF_FIRST", 0.05)
    monkeypatch.setattr(supervisor, "BACKOFF_MAX", 0.1)
    monkeypatch.setattr(supervisor, "KILL_WAIT", 3.0)


def test_a_child_that_keeps_failing_stops_the_group_with_an_error(tmp_path: Path) -> None:
    out = io.StringIO()
    commands = {"bad": f"{PYTHON} -c 'print(\"boom\"); raise SystemExit(3)'", "good": f"{PYTHON} -c 'import time; time.sleep(60)'"}
    started = time.monotonic()
    code = Supervisor(commands, dict(os.environ), tmp_path / "state.json", out).run()
    assert code == 1 and time.monotonic() - started < 10
    text = out.getvalue()
    assert "bad exited 5 times within 60 s (last exit code 3)" in text
    assert "bad    | boom" in text  # prefixed as honcho does
    assert "good stopped" in text  # the rest of the group was stopped
    state = read_state(str(tmp_path / "state.json"))
    assert state is not None and state["children"]["bad"]["restarts"] == 4 and state["gave_up"]


def test_a_child_that_exits_is_started_again_and_sigterm_stops_all(tmp_path: Path) -> None:
    marker = tmp_path / "ran-once"
    script = (f"import pathlib, sys, time; p = pathlib.Path({str(marker)!r})\n"
              "if not p.exists(): p.touch(); sys.exit(7)\n"
              "time.sleep(60)")
    (tmp_path / "child.py").write_text(script)
    out = io.StringIO()
    state_path = tmp_path / "state.json"
    sup = Supervisor({"flaky": f"{PYTHON} {tmp_path / 'child.py'}"}, dict(os.environ), state_path, out)

    def stop_when_restarted() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = read_state(str(state_path))
            if state and state["children"]["flaky"]["restarts"] == 1 and state["children"]["flaky"]["pid"]:
                break
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_restarted, daemon=True).start()
    assert sup.run() == 143
    text = out.getvalue()
    assert "flaky stopped (rc=7)" in text and "flaky exited unexpectedly" in text and "SIGTERM received" in text
    state = json.loads(state_path.read_text())
    assert state["restarts"] == 1 and state["children"]["flaky"]["pid"] is None
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handlers are given back
