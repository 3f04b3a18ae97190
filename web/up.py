"""``gridcase up``: prepare the database, load the demo tree, run and supervise web, worker and beat together."""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import sys
from collections.abc import Callable

import click
from sqlalchemy import select

from web.supervisor import STATE_FILE, Supervisor
from web.up_output import JsonLinesPrinter
from workers.app import QUEUES
from workflow.base import config, logs
from workflow.base.db import default_engine, unit_of_work
from workflow.base.errors import DomainError
from workflow.base.private_files import lock_down, write_private
from workflow.base.schema import upgrade
from workflow.clock.policy import current_policy
from workflow.notices.org_file import import_org
from workflow.org.members import create_token, set_password
from workflow.org.models import ApiToken, User
from workflow.org.tree import DEMO_ORG_FILE, is_empty, read_org_file

# Demo members who get a token and a password on first start, so the API and the pages can be tried at once.
DEMO_USERS = ("xy01a1.leader", "xy01a.secretary", "xy01.secretary", "xy.street")
DEMO_ADMIN = "xy.admin"


def prepare() -> tuple[dict[str, str], dict[str, str]]:
    """Check the policy, migrate the database, load the demo tree if it is empty; return new tokens and passwords."""
    current_policy()
    upgrade(default_engine())
    tokens: dict[str, str] = {}
    passwords: dict[str, str] = {}
    with unit_of_work() as session:
        if not is_empty(session):
            return tokens, passwords
        import_org(session, read_org_file(DEMO_ORG_FILE))
        for name in (*DEMO_USERS, DEMO_ADMIN):
            user = session.scalars(select(User).where(User.name == name)).one()
            if name != DEMO_ADMIN and session.scalars(
                    select(ApiToken).where(ApiToken.user_id == user.id)).first() is None:
                tokens[name] = create_token(session, name)
            if user.password_hash is None:
                passwords[name] = secrets.token_urlsafe(9)
                set_password(user, passwords[name])
    for file_name, values in (("demo-tokens.txt", tokens), ("demo-passwords.txt", passwords)):
        if values:
            lines = [f"{name}\t{value}" for name, value in values.items()]
            write_private(config.data_dir() / file_name, ("\n".join(lines) + "\n").encode())
    return tokens, passwords


def flower_port() -> int:
    """Return the port Flower listens on (``FLOWER_PORT``, default 5555)."""
    return int(os.environ.get("FLOWER_PORT", "5555"))


def commands(host: str, port: int, worker_threads: int, flower: bool = False) -> dict[str, str]:
    """Return the command line of each process ``up`` runs (Flower's too with ``flower``)."""
    python = shlex.quote(sys.executable)
    schedule = shlex.quote(str(config.data_dir() / "celerybeat-schedule"))
    extra = {"flower": f"{python} -m celery -A workers.app flower --address=127.0.0.1 --port={flower_port()}"}
    return {
        "web": f"{python} -m gunicorn --config python:web.gunicorn_conf --bind {host}:{port} --workers 1 "
               "--threads 8 web.wsgi:app",
        # Threads, not prefork: the supervisor stops a process group with SIGTERM, which would kill
        # prefork children mid-task; a thread pool finishes its tasks in a warm shutdown.
        "worker": f"{python} -m celery -A workers.app worker --pool threads "
                  f"--concurrency {worker_threads} --queues {','.join(QUEUES)} --loglevel INFO",
        "beat": f"{python} -m celery -A workers.app beat --loglevel INFO --schedule {schedule}",
        **(extra if flower else {}),
    }


def child_environment(host: str, port: int) -> dict[str, str]:
    """Return the environment of the processes ``up`` runs: links in slips and notices name the port served.

    ``GRIDCASE_PUBLIC_URL`` wins when set (a deployment behind a proxy or a domain name).
    """
    served = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # an "any" address is no link
    env = dict(os.environ, GRIDCASE_HOME=str(config.data_dir()), PYTHONUNBUFFERED="1")
    env.setdefault("GRIDCASE_PUBLIC_URL", f"http://{served}:{port}")
    return env


def make_data_folder_private() -> None:
    """Keep the data folder to this user: 0700, its files 0600, and so for what the processes write next.

    The umask is inherited by web, worker and beat: the SQLite database, the broker's message
    files and the beat schedule are created private too. A folder made by an older version is
    tightened once here.
    """
    os.umask(0o077)
    lock_down(config.data_dir())


def _speaker(log_format: str) -> Callable[[str], None]:
    """Return how ``up`` speaks: plain lines on a terminal, one JSON object a line otherwise, as its children do."""
    if log_format != "json":
        return click.echo
    banner = logging.getLogger("gridcase.up")
    return lambda line: banner.info(line.strip())


def run(host: str, port: int, worker_threads: int, flower: bool = False) -> int:
    """Run everything until Ctrl-C; return the exit code."""
    make_data_folder_private()
    log_format = logs.log_format(sys.stdout)
    logs.configure("up", sys.stdout, log_format)
    say = _speaker(log_format)
    try:
        tokens, passwords = prepare()
    except DomainError as exc:
        click.echo(f"gridcase: {exc.message}", err=True)  # to stderr, plain: the reason it did not start
        return 2
    base = f"http://{host}:{port}"
    say(f"gridcase is starting; data in {config.data_dir()}")
    say(f"  database: {default_engine().url.render_as_string(hide_password=True)}")
    say(f"  broker:   {config.broker_url()}")
    say(f"  pages:    {base}/   (staff log in at {base}/login; residents follow cases at {base}/track)")
    say(f"  API:      {base}/api/v1/units   (OpenAPI: {base}/openapi.json)")
    say(f"  submit:   POST {base}/api/v1/events  (see README.md for an example)")
    if tokens:
        say("  demo staff tokens (also in demo-tokens.txt in the data folder):")
        for name, token in tokens.items():
            say(f"    {name}: {token}")
    if passwords:
        say("  demo logins for the pages (also in demo-passwords.txt in the data folder):")
        for name, password in passwords.items():
            say(f"    {name}: {password}")
    say("A process that exits is started again (restarts on /healthz). "
               "Press Ctrl-C to stop; nothing is lost when you start it again.")
    env = child_environment(host, port)
    env["GRIDCASE_LOG_FORMAT"] = log_format  # the children write to a pipe: they follow up's terminal
    if flower:
        env.setdefault("FLOWER_BASIC_AUTH", f"admin:{secrets.token_urlsafe(9)}")
        say(f"  Flower:   http://127.0.0.1:{flower_port()}/   (log in as {env['FLOWER_BASIC_AUTH']})")
    printer = JsonLinesPrinter(sys.stdout) if log_format == "json" else None
    supervisor = Supervisor(commands(host, port, worker_threads, flower), env, config.data_dir() / STATE_FILE,
                            printer=printer)
    return supervisor.run()
