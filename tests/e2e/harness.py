"""Running ``gridcase up`` from a test: start it on a free port in a folder of its own, stop it with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

GRIDCASE = str(Path(sys.executable).with_name("gridcase"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Up:
    """One ``gridcase up`` process group and its log."""

    def __init__(self, home: Path, port: int, extra_args: list[str] | None = None) -> None:
        self.home, self.port, self.extra_args = home, port, extra_args or []
        self.log_path = home.parent / f"up-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
        env.update(GRIDCASE_HOME=str(self.home), GRIDCASE_RELAY_INTERVAL="1", GRIDCASE_RELAY_GRACE="2")
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([GRIDCASE, "up", "--port", str(self.port), *self.extra_args], env=env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_for(lambda: self.get("/api/v1/units") is not None, "the web server to answer")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return self.request("GET", path, headers=headers)

    def wait_for(self, check: Any, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            assert self.proc is not None and self.proc.poll() is None, f"gridcase up exited:\n{self.log()[-3000:]}"
            time.sleep(0.3)
        pytest.fail(f"timed out waiting for {what}\n{self.log()[-3000:]}")

    def health(self) -> dict[str, Any] | None:
        """GET /healthz, whether it answers 200 or 503 (a just-started beat may not have swept yet)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            return dict(json.loads(exc.read())) if exc.code == 503 else None
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            return None

    def process_ids(self, *words: str) -> list[int]:
        """Return the ids of processes under this ``gridcase up`` whose arguments include every word."""
        assert self.proc is not None
        parents: dict[int, int] = {}
        commands: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])

        def under_up(pid: int) -> bool:
            while pid > 1:
                if pid == self.proc.pid:  # type: ignore[union-attr]
                    return True
                pid = parents.get(pid, 0)
            return False

        found = {pid for pid, command in commands.items()
                 if pid != self.proc.pid and all(w in command.split() for w in words) and under_up(pid)}
        # Not a wrapper (honcho runs each command under /bin/sh -c "..."): the process it runs.
        return sorted(pid for pid in found if not any(parents.get(other) == pid for other in found))
