"""The access log of the web server as `gridcase up` runs it: tracking codes cut short, never whole."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from web import up
from web.access_log import scrub

CODE = "7K3M-9QXR-2B8D-H4TN"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_as_up_runs_it_logs_tracking_codes_cut_short(tmp_path: Path) -> None:
    port = _free_port()
    env = dict(os.environ, GRIDCASE_HOME=str(tmp_path / "var"), DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}",
               GRIDCASE_SECRET_KEY="test")
    argv = shlex.split(up.commands("127.0.0.1", port, 1)["web"])
    server = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=Path.cwd())
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/api/v1/units", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        httpx.get(f"{base}/api/v1/track/{CODE}", timeout=5)
        httpx.post(f"{base}/api/v1/track/{CODE.replace('-', '')}/evaluation", json={}, timeout=5)
        httpx.get(f"{base}/track?code={CODE}", timeout=5)
        httpx.get(f"{base}/static/app.css", headers={"Referer": f"{base}/track/{CODE}"}, timeout=5)
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0].decode()
    lines = [line for line in output.splitlines() if "/track" in line]
    # One request line each, from the app's request log (web/request_log.py), which names the path
    # and not the Referer; gunicorn's own access log, which would repeat them, is off (gunicorn_conf).
    assert len(lines) == 3, output
    assert "7K3M" in output
    for secret in ("9QXR", "2B8D", "H4TN", "7K3M9QXR"):
        assert secret not in output, output


@pytest.mark.parametrize(("line", "logged"), [
    ("GET /api/v1/track/7K3M-9QXR-2B8D-H4TN HTTP/1.1", "GET /api/v1/track/7K3M... HTTP/1.1"),
    ("POST /api/v1/track/7K3M9QXR2B8DH4TN/evaluation", "POST /api/v1/track/7K3M.../evaluation"),
    ("/track?lang=en&code=7K3M9QXR2B8DH4TN", "/track?lang=en&code=7K3M..."),
    ("http://x/track/7k3m-9qxr-2b8d-h4tn", "http://x/track/7k3m..."),
    ("GET /api/v1/units HTTP/1.1", "GET /api/v1/units HTTP/1.1"),
])
def test_scrub_cuts_every_tracking_code_to_four_characters(line: str, logged: str) -> None:
    assert scrub(line) == logged
