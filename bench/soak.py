"""Soak test of ``gridcase up`` on the embedded default: a steady trickle of events while the worker is killed.

Run from the repository root::

    .venv/bin/python bench/soak.py [--minutes 30] [--rate 2] [--kill-every 60]

What it does, all on 127.0.0.1, in a temporary data folder (no servers: SQLite and the file
broker, as a newcomer runs it):

1. Starts ``gridcase up`` on a free port with ``GRIDCASE_SWEEP_INTERVAL=1``.
2. For ``--minutes``, posts one ``org.gridcase.case.submitted`` CloudEvent at a time, about
   ``--rate`` a second (a bounded loop: never more than one request in flight), and every
   ``--kill-every`` seconds SIGKILLs the Celery worker process; the supervisor starts it again.
3. Then waits (up to ``--settle`` seconds) until every accepted event's case has left
   ``collected``; the relay publishes again whatever a killed worker took with it.
4. Stops ``gridcase up`` with SIGINT and prints, last,
   ``events_accepted=… events_dispatched=… restarts=… web_errors=…``: events answered 202,
   their cases dispatched (out of ``collected``), restarts the supervisor reported on
   ``/healthz``, and requests that got no answer or an unexpected one.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# Run as a script, this file's folder heads sys.path, not the repository root that holds ``bench``.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import free_port, log  # noqa: E402

GRIDCASE = str(Path(sys.executable).with_name("gridcase"))


def request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Send one request to 127.0.0.1; return (status, JSON body), status 0 when nothing answered."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/cloudevents+json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read())
        except ValueError:
            return exc.code, None
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return 0, None


def worker_pids(up_pid: int) -> list[int]:
    """Return the Celery worker processes under ``gridcase up`` (argument ``worker``, not beat)."""
    parents: dict[int, int] = {}
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"celery" in argv and b"worker" in argv:
            found.append(int(entry.name))

    def under(pid: int) -> bool:
        while pid > 1:
            if pid == up_pid:
                return True
            pid = parents.get(pid, 0)
        return False

    return [pid for pid in found if under(pid)]


def dispatched(db: Path, case_ids: list[int]) -> int:
    """Count the given cases that have left ``collected``."""
    if not case_ids:
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute("SELECT id, state FROM cases").fetchall()
    wanted = set(case_ids)
    return sum(1 for case_id, state in rows if case_id in wanted and state != "collected")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=2.0, help="events a second, one request at a time")
    parser.add_argument("--kill-every", type=float, default=60.0, help="seconds between worker kills")
    parser.add_argument("--settle", type=float, default=90.0, help="seconds to wait for the last cases")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="gridcase-soak-")) / "var"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
    env.update(GRIDCASE_HOME=str(home), GRIDCASE_SWEEP_INTERVAL="1")
    log_path = home.parent / "up.log"
    log(f"gridcase up on 127.0.0.1:{port}, data in {home}, log in {log_path}")
    with log_path.open("wb") as out:
        up = subprocess.Popen([GRIDCASE, "up", "--port", str(port)], env=env, stdout=out,
                              stderr=subprocess.STDOUT, start_new_session=True)
    accepted: list[int] = []
    web_errors = kills = 0
    try:
        started = time.monotonic()
        while request(port, "GET", "/api/v1/units")[0] != 200:
            if up.poll() is not None or time.monotonic() - started > 120:
                raise SystemExit(f"gridcase up did not start; see {log_path}")
            time.sleep(0.5)
        begin = time.monotonic()
        end = begin + args.minutes * 60
        next_kill = begin + args.kill_every
        next_report = begin + 60
        n = 0
        while time.monotonic() < end and up.poll() is None:
            n += 1
            event = {"specversion": "1.0", "id": f"soak-{n}", "source": "/soak", "type": "org.gridcase.case.submitted",
                     "data": {"category": "NOI", "description": "夜间噪音", "grid": "XY-01-A-1"}}
            status, body = request(port, "POST", "/api/v1/events", event)
            if status == 202 and isinstance(body, dict) and "case_id" in body:
                accepted.append(int(body["case_id"]))
            else:
                web_errors += 1
            now = time.monotonic()
            if now >= next_kill:
                for pid in worker_pids(up.pid):
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
                next_kill = now + args.kill_every
            if now >= next_report:
                log(f"{(now - begin) / 60:.0f} min: accepted={len(accepted)} web_errors={web_errors} kills={kills}")
                next_report = now + 60
            time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - now)))
        if up.poll() is not None:
            log(f"gridcase up exited with {up.returncode}; see {log_path}")
        settle_end = time.monotonic() + args.settle
        while dispatched(home / "gridcase.sqlite3", accepted) < len(accepted) and time.monotonic() < settle_end:
            time.sleep(1)
        status, health = request(port, "GET", "/healthz")
        restarts = (health or {}).get("supervisor", {}).get("restarts") if isinstance(health, dict) else None
        done = dispatched(home / "gridcase.sqlite3", accepted)
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    log(f"worker kills={kills} quarantined={len(list((home / 'broker' / 'quarantine').glob('*')))} "
        f"unrecoverable_errors={text.count('Unrecoverable error')} minutes={args.minutes:g}")
    print(f"events_accepted={len(accepted)} events_dispatched={done} restarts={restarts} web_errors={web_errors}",
          flush=True)
    return 0 if done == len(accepted) and web_errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
