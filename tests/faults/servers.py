"""Private servers the fault tests may stop and start at will: never the machine's own.

PostgreSQL and Redis are started here, on free ports of 127.0.0.1, in temporary folders removed
at the end. RabbitMQ is the exception (a second node is hard to start): the machine's broker is
used with a vhost of its own, created for the run and deleted after it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis
from psycopg import sql


def _pg_bin() -> Path:
    """Return GRIDCASE_FAULT_PG_BIN, or the newest Debian PostgreSQL's bin folder (15 on Debian 12)."""
    named = os.environ.get("GRIDCASE_FAULT_PG_BIN")
    if named:
        return Path(named)
    found = sorted((p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").is_file()),
                   key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
PG_TOOLS = ("initdb", "pg_ctl", "postgres")
RABBIT_VHOST = "gridcase_faults"
RABBIT_PORT = 5672
START_SECONDS = 60


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


# -- PostgreSQL -----------------------------------------------------------------------------


def postgres_problem() -> str | None:
    """Return why a private PostgreSQL cannot be started here, or None."""
    missing = [tool for tool in PG_TOOLS if not (PG_BIN / tool).is_file()]
    if missing:
        return f"no {', '.join(missing)} in {PG_BIN} (set GRIDCASE_FAULT_PG_BIN, or apt-get install postgresql-15)"
    if os.geteuid() == 0:
        # initdb refuses to run as root: the server runs as the postgres OS user.
        if shutil.which("runuser") is None:
            return "running as root and no runuser to start PostgreSQL as the postgres user"
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres OS user to run PostgreSQL as"
    return None


class PrivatePostgres:
    """A PostgreSQL cluster of the test run's own, in a temporary folder, on a free port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="gridcase-faults-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.root.chmod(0o755)  # readable for the log; the data folder itself is 0700

    def _run(self, *argv: str, timeout: float = START_SECONDS) -> None:
        command = [str(PG_BIN / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root,
                              stdin=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:1])} failed ({done.returncode}): {done.stdout}\n{done.stderr}\n"
                               f"{_tail(self.log_path)}")

    def init(self) -> None:
        """Create the cluster (trust authentication, superuser postgres)."""
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        # Durability is not what these tests are about (a restart is a clean or crash stop of the
        # server, never of the machine): no fsync keeps a 2-core box fast.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log_path), "-w",
                  "-t", str(START_SECONDS), "start", timeout=START_SECONDS + 10)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back every session and shut down cleanly)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(START_SECONDS), "stop",
                  timeout=START_SECONDS + 10)

    def url(self, database: str) -> str:
        """Return the SQLAlchemy URL of a database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _conninfo(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def answers(self) -> bool:
        """Tell whether the server accepts a query now."""
        try:
            with psycopg.connect(self._conninfo(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def create_database(self, name: str, template: str | None = None) -> None:
        """Create a database, as a copy of ``template`` if given (which must have no connections)."""
        with psycopg.connect(self._conninfo(), connect_timeout=5, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            if template is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            else:
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                              sql.Identifier(template)))

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of the server's log."""
        return f"--- last {lines} lines of PostgreSQL ({self.log_path}) ---\n{_tail(self.log_path, lines)}"

    def destroy(self) -> None:
        """Stop the server if it runs (immediately: nothing in it is kept) and remove its folder."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# -- Redis ----------------------------------------------------------------------------------


def redis_problem() -> str | None:
    """Return why a private Redis cannot be started here, or None."""
    if shutil.which("redis-server") is None:
        return "no redis-server on PATH (apt-get install redis-server)"
    return None


class PrivateRedis:
    """A Redis of one test's own that keeps nothing on disk: a restart loses every message."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="gridcase-faults-redis-"))
        self.log_path = self.root / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        """Return the broker URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """Return a new client of database 0 (close it after use)."""
        return redis.Redis(host="127.0.0.1", port=self.port, db=0, socket_timeout=5, socket_connect_timeout=2)

    def start(self) -> None:
        """Start the server in the foreground as a child, in its own session; wait until it answers PING."""
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                "no", "--dir", str(self.root), "--logfile", str(self.log_path), "--daemonize", "no"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}\n{_tail(self.log_path)}")
            try:
                with self.client() as client:
                    if client.ping():
                        return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"redis-server on {self.port} did not answer within 20 s\n{_tail(self.log_path)}")

    def kill(self) -> None:
        """Kill the server (SIGKILL): it keeps nothing, so every queued message and flag is gone."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def restart(self, down_seconds: float) -> None:
        """Kill the server, leave it down ``down_seconds``, start an empty one on the same port."""
        self.kill()
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of the server's log."""
        return f"--- last {lines} lines of Redis ({self.log_path}) ---\n{_tail(self.log_path, lines)}"

    def destroy(self) -> None:
        """Stop the server and remove its folder."""
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


# -- RabbitMQ -------------------------------------------------------------------------------


def rabbitmq_problem() -> str | None:
    """Return why the machine's RabbitMQ cannot host the run's vhost, or None."""
    if shutil.which("rabbitmqctl") is None:
        return "no rabbitmqctl on PATH (apt-get install rabbitmq-server)"
    if not _port_answers(RABBIT_PORT):
        return f"RabbitMQ does not answer on 127.0.0.1:{RABBIT_PORT}"
    try:
        _rabbitmqctl("list_vhosts")
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"rabbitmqctl cannot manage the node ({exc})"
    return None


def _rabbitmqctl(*args: str) -> str:
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


class RabbitVhost:
    """A vhost of the run's own on the machine's RabbitMQ (guest/guest), deleted at the end."""

    def __init__(self, name: str = RABBIT_VHOST) -> None:
        self.name = name

    @property
    def url(self) -> str:
        """Return the broker URL of the vhost."""
        return f"amqp://guest:guest@127.0.0.1:{RABBIT_PORT}/{self.name}"

    def create(self) -> None:
        """Create the vhost afresh (one left by an aborted run is deleted first) and let guest use it."""
        if self.name in _rabbitmqctl("list_vhosts", "name").split():
            _rabbitmqctl("delete_vhost", self.name)
        _rabbitmqctl("add_vhost", self.name)
        _rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")

    def backlog(self) -> int:
        """Return how many messages wait in the vhost's queues or are delivered and not acknowledged."""
        out = _rabbitmqctl("list_queues", "-p", self.name, "--no-table-headers", "name", "messages")
        total = 0
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                total += int(parts[1])
        return total

    def delete(self) -> None:
        """Delete the vhost and everything in it."""
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            _rabbitmqctl("delete_vhost", self.name)
