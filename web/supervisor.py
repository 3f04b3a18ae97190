"""The process supervisor of ``gridcase up``: restarts a child that exits, stops only on Ctrl-C or SIGTERM.

honcho's ``Manager`` stops every process as soon as one exits, so one worker crash took the
web server and beat down with it. This runs each child in a process group of its own,
prints its output prefixed with its name in honcho's format (honcho's ``Printer``), starts a
child that exits again after a short backoff, and records the restarts in a small JSON file
in the data folder that ``GET /healthz`` shows. A child that exits ``RESTART_LIMIT`` times
within ``RESTART_WINDOW`` seconds is failing, not unlucky: the supervisor says so, stops the
group and exits non-zero rather than restarting it forever in silence.
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from honcho.colour import get_colours
from honcho.printer import Message, Printer

RESTART_LIMIT = 5
RESTART_WINDOW = 60.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 10.0
# Long enough for the worker's warm shutdown to finish the tasks in hand.
KILL_WAIT = 10.0
STATE_FILE = "supervisor.json"
# Tells the web app where the supervisor keeps its state, so /healthz shows this run's restarts only.
STATE_ENV = "GRIDCASE_SUPERVISOR_STATE"
SIGNAL_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


@dataclass
class Child:
    """One supervised command and what happened to it."""

    name: str
    argv: list[str]
    colour: str
    proc: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = None
    restarts: int = 0
    deaths: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    last_exit_code: int | None = None
    last_exit_at: str | None = None


class Supervisor:
    """Run named commands until a signal, restarting any that exits."""

    def __init__(self, commands: Mapping[str, str], env: Mapping[str, str], state_path: Path,
                 output: IO[str] | None = None, printer: Printer | None = None) -> None:
        colours = get_colours()
        self.children = [Child(name, shlex.split(command), next(colours)) for name, command in commands.items()]
        self.env = dict(env, **{STATE_ENV: str(state_path)})
        self.state_path = state_path
        # honcho's format by default; gridcase up passes a JSON-lines printer when it logs JSON.
        self.printer = printer or Printer(output or sys.stdout)
        self.printer.width = max(len("system"), *(len(c.name) for c in self.children))
        self.lock = threading.Lock()
        self.signal: int | None = None
        self.signals_seen = 0
        self.started_at = _now_iso()
        self.gave_up: str | None = None

    def run(self) -> int:
        """Start every child and supervise until Ctrl-C, SIGTERM or a child failing too often; return the exit code."""
        previous = {signum: signal.signal(signum, self._on_signal) for signum in SIGNAL_CODES}
        try:
            return self._supervise()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _supervise(self) -> int:
        for child in self.children:
            self._start(child)
        self._write_state()
        while self.signal is None and self.gave_up is None:
            now = time.monotonic()
            for child in self.children:
                if child.proc is not None and child.proc.poll() is not None:
                    self._exited(child, now)
                elif child.proc is None and child.restart_at is not None and now >= child.restart_at:
                    self._start(child)
                    self._write_state()
            time.sleep(0.1)
        if self.signal is not None:
            self._say(f"{signal.Signals(self.signal).name} received")
        self._stop_all()
        self._write_state()
        if self.gave_up is not None:
            return 1
        return SIGNAL_CODES.get(signal.Signals(self.signal or signal.SIGTERM), 0)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only note it: the loop stops the children, outside the signal handler.
        self.signals_seen += 1
        if self.signal is None:
            self.signal = signum

    def _say(self, text: str) -> None:
        self._print("system", "", text)

    def _print(self, name: str, colour: str, text: str | bytes) -> None:
        message = Message(type="line", data=text, time=datetime.datetime.now().astimezone(), name=name, colour=colour)
        with self.lock:
            self.printer.write(message)

    def _start(self, child: Child) -> None:
        child.restart_at = None
        try:
            # A session of its own: the terminal's Ctrl-C reaches the supervisor only, which
            # then stops each group in order instead of every process at once.
            child.proc = subprocess.Popen(child.argv, env=self.env, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        except OSError as exc:
            self._say(f"{child.name} could not start: {exc}")
            child.proc = None
            self._exited(child, time.monotonic(), code=127)
            return
        self._say(f"{child.name} started (pid={child.proc.pid})")
        child.reader = threading.Thread(target=self._relay_output, args=(child, child.proc), daemon=True)
        child.reader.start()

    def _relay_output(self, child: Child, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in iter(proc.stdout.readline, b""):
            self._print(child.name, child.colour, line)
        proc.stdout.close()

    def _exited(self, child: Child, now: float, code: int | None = None) -> None:
        if child.proc is not None:
            code = child.proc.returncode
            if child.reader is not None:
                child.reader.join(timeout=1)  # its last lines, such as a traceback, before ours
        child.proc, child.reader = None, None
        child.last_exit_code, child.last_exit_at = code, _now_iso()
        self._say(f"{child.name} stopped (rc={code})")
        child.deaths.append(now)
        while child.deaths and now - child.deaths[0] > RESTART_WINDOW:
            child.deaths.popleft()
        if len(child.deaths) >= RESTART_LIMIT:
            self.gave_up = (f"{child.name} exited {len(child.deaths)} times within {RESTART_WINDOW:.0f} s "
                            f"(last exit code {code}); it is failing, not unlucky: stopping everything")
            self._say(self.gave_up)
            print(f"gridcase: {self.gave_up}", file=sys.stderr, flush=True)
        else:
            delay = min(BACKOFF_FIRST * 2 ** (len(child.deaths) - 1), BACKOFF_MAX)
            child.restarts += 1
            child.restart_at = now + delay
            self._say(f"{child.name} exited unexpectedly; starting it again in {delay:g} s "
                      f"(restart {child.restarts})")
        self._write_state()

    def _stop_all(self) -> None:
        running = [c for c in self.children if c.proc is not None and c.proc.poll() is None]
        for child in running:
            assert child.proc is not None
            self._say(f"sending SIGTERM to {child.name} (pid {child.proc.pid})")
            self._signal_group(child.proc, signal.SIGTERM)
        deadline = time.monotonic() + KILL_WAIT
        signals_at_start = self.signals_seen
        while any(c.proc is not None and c.proc.poll() is None for c in running):
            # A second Ctrl-C, or the wait running out, kills what is left.
            if time.monotonic() > deadline or self.signals_seen > signals_at_start:
                for child in running:
                    if child.proc is not None and child.proc.poll() is None:
                        self._say(f"sending SIGKILL to {child.name} (pid {child.proc.pid})")
                        self._signal_group(child.proc, signal.SIGKILL)
                break
            time.sleep(0.1)
        for child in running:
            assert child.proc is not None
            code = child.proc.wait()
            if child.reader is not None:
                child.reader.join(timeout=2)
            child.last_exit_code, child.last_exit_at = code, _now_iso()
            self._say(f"{child.name} stopped (rc={code})")
            child.proc = None

    @staticmethod
    def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass  # it exited meanwhile

    def state(self) -> dict[str, Any]:
        """Return what ``/healthz`` shows: each child's pid, restarts and last exit."""
        return {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "restarts": sum(c.restarts for c in self.children),
            "gave_up": self.gave_up,
            "children": {c.name: {"pid": c.proc.pid if c.proc is not None else None, "restarts": c.restarts,
                                  "last_exit_code": c.last_exit_code, "last_exit_at": c.last_exit_at}
                         for c in self.children},
        }

    def _write_state(self) -> None:
        # Written whole and renamed, so the web process never reads half a file.
        temp = self.state_path.with_name(f".{self.state_path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(self.state(), indent=1), encoding="utf-8")
        os.replace(temp, self.state_path)


def read_state(path: str | None) -> dict[str, Any] | None:
    """Return the supervisor's state from ``path``, or None when there is none or it is unreadable."""
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
