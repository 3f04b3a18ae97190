"""What an operator runs: gunicorn with two workers and a prefork Celery worker, their JSON logs and metrics summed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import GRIDCASE, Up, free_port

EVENTS = 12


def _event(n: int) -> bytes:
    return json.dumps({"specversion": "1.0", "id": f"ops-{n}", "source": "/ops", "type": "org.gridcase.case.submitted",
                       "data": {"category": "NOI", "description": "楼上夜间噪音", "grid": "XY-01-A-1",
                                "reporter": {"name": "王小明", "phone": "13812345678"}}},
                      ensure_ascii=False).encode()


def _post(port: int, n: int) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/events", data=_event(n), method="POST",
                                 headers={"Content-Type": "application/cloudevents+json"})
    with urllib.request.urlopen(req, timeout=10) as answer:
        return int(answer.status)


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {s.name + json.dumps(s.labels, sort_keys=True): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _wait(check: Any, what: str, logs: list[Path], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}\n" + "\n".join(p.read_text()[-2000:] for p in logs))


# Celery's signal handler prints this itself, outside logging (celery/apps/worker.py).
NOT_LOGGED = {"worker: Warm shutdown (MainProcess)"}


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line in NOT_LOGGED or not line.strip():
            continue
        value = json.loads(line)  # a line that is not JSON fails the test here
        assert isinstance(value, dict), line
        lines.append(value)
    return lines


def test_two_gunicorn_workers_and_prefork_children_are_counted_together_and_log_json(tmp_path: Path) -> None:
    home = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL", "GRIDCASE_LOG_FORMAT")}
    # CI runs as root: Celery's warning about it comes before logging is set up, as plain text.
    env.update(GRIDCASE_HOME=str(home), PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore::UserWarning")
    subprocess.run([GRIDCASE, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([GRIDCASE, "org", "import", "workflow/org/demo/org.yaml"], env=env, check=True, capture_output=True)
    web_port, worker_port = free_port(), free_port()
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    python = sys.executable
    procs = []
    with web_log.open("wb") as out:
        procs.append(subprocess.Popen(
            [python, "-m", "gunicorn", "--config", "python:web.gunicorn_conf", "--bind", f"127.0.0.1:{web_port}",
             "--workers", "2", "--threads", "2", "web.wsgi:app"],
            env={**env, "PROMETHEUS_MULTIPROC_DIR": str(home / "metrics" / "web")}, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True))
    try:
        _wait(lambda: _scrape(web_port) is not None, "gunicorn", [web_log])
        with ThreadPoolExecutor(6) as pool:
            assert set(pool.map(lambda n: _post(web_port, n), range(EVENTS))) == {202}
        accepted = _scrape(web_port)["gridcase_events_accepted_total{}"]
        assert accepted == EVENTS  # summed over both gunicorn workers, whichever answered
        with worker_log.open("wb") as out:
            procs.append(subprocess.Popen(
                [python, "-m", "celery", "--quiet", "-A", "workers.app", "worker", "--pool", "prefork", "--concurrency", "2",
                 "--queues", "events,deliveries,deadlines"],
                env={**env, "PROMETHEUS_MULTIPROC_DIR": str(home / "metrics" / "worker"),
                     "GRIDCASE_WORKER_METRICS_PORT": str(worker_port)},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        done = '{"outcome": "done"}'
        _wait(lambda: _scrape(worker_port).get("gridcase_events_handled_total" + done) == EVENTS,
              "the prefork children's counts at the worker's port", [worker_log])
        worker = _scrape(worker_port)
        assert worker["gridcase_intake_to_dispatch_seconds_count{}"] == EVENTS
        assert _scrape(web_port)['gridcase_cases{"level": "grid", "state": "grid_handling"}'] == EVENTS
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)  # the main process only, as systemd's KillMode=mixed does
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                pytest.fail(f"process {proc.pid} did not stop on SIGTERM\n{worker_log.read_text()[-3000:]}")
    web_lines, worker_lines = _json_lines(web_log), _json_lines(worker_log)
    assert {line["process"] for line in web_lines} == {"web"} and {line["process"] for line in worker_lines} == {
        "worker"}
    assert any(line["logger"].startswith("gunicorn") for line in web_lines)
    requests = [line for line in web_lines if line.get("path") == "/api/v1/events"]
    assert len(requests) == EVENTS and all(len(line["request_id"]) == 36 for line in requests)
    steps = [line for line in worker_lines if " dispatch " in line["event"]]
    assert len(steps) == EVENTS and all(line["task_id"] and line["inbox_id"] and line["case_id"] for line in steps)
    assert "楼上夜间噪音" not in web_log.read_text() or "\\u" not in web_log.read_text()
    for path in (web_log, worker_log):
        assert "13812345678" not in path.read_text() and "王小明" not in path.read_text()


def test_up_with_flower_serves_flower_behind_basic_auth_on_the_file_broker(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    flower_port = free_port()
    monkeypatch.setenv("FLOWER_PORT", str(flower_port))
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "ops:flower-pass")
    runner = Up(tmp_path / "var", free_port(), extra_args=["--flower"])
    try:
        runner.start()
        url = f"http://127.0.0.1:{flower_port}/api/workers?refresh=1"  # refresh: ask the workers now
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 401
        refused.value.close()

        def workers_seen() -> bool:
            req = urllib.request.Request(url, headers={"Authorization": "Basic b3BzOmZsb3dlci1wYXNz"})
            with urllib.request.urlopen(req, timeout=5) as answer:
                return bool(json.loads(answer.read()))
        runner.wait_for(lambda: _quiet(workers_seen), "Flower to see the worker", timeout=90)

        def beat_tasks_seen() -> bool:
            req = urllib.request.Request(f"http://127.0.0.1:{flower_port}/metrics",
                                         headers={"Authorization": "Basic b3BzOmZsb3dlci1wYXNz"})
            with urllib.request.urlopen(req, timeout=5) as answer:
                return 'task="gridcase.relay",type="task-succeeded"' in answer.read().decode()
        # Task events travel through the file broker too: Flower counts the relay's runs.
        runner.wait_for(lambda: _quiet(beat_tasks_seen), "Flower to count the relay's runs", timeout=90)
    finally:
        runner.stop()
    for line in runner.log().splitlines():
        if line.startswith("{"):
            assert isinstance(json.loads(line), dict)
    # Flower's own lines (tornado's) come through the same JSON chain.
    assert any('"process": "flower"' in line and "Visit me at" in line for line in runner.log().splitlines())


def _quiet(check: Any) -> bool:
    try:
        return bool(check())
    except (OSError, ValueError):
        return False
