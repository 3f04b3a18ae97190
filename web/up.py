"""``gridcase up``: prepare the database, load the demo tree, run and supervise web, worker and beat together."""

from __future__ import annotations

import os
import secrets
import shlex
import sys

import click
from sqlalchemy import select

from web.supervisor import STATE_FILE, Supervisor
from workers.app import QUEUES
from workflow.base import config
from workflow.base.db import default_engine, unit_of_work
from workflow.base.errors import DomainError
from workflow.base.schema import upgrade
from workflow.clock.policy import current_policy
from workflow.notices.org_file import import_org
from workflow.org.members import create_token, set_password
from workflow.org.models import ApiToken, User
from workflow.org.tree import DEMO_ORG_FILE, is_empty, read_org_file
from workflow.registry.demo import load_demo_register

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
        load_demo_register(session)
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
            (config.data_dir() / file_name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tokens, passwords


def commands(host: str, port: int, worker_threads: int) -> dict[str, str]:
    """Return the command line of each process ``up`` runs."""
    python = shlex.quote(sys.executable)
    schedule = shlex.quote(str(config.data_dir() / "celerybeat-schedule"))
    return {
        "web": f"{python} -m gunicorn --bind {host}:{port} --workers 1 --threads 8 "
               "--access-logfile - web.wsgi:app",
        # Threads, not prefork: the supervisor stops a process group with SIGTERM, which would
        # kill prefork children mid-task; a thread pool finishes its tasks in a warm shutdown.
        "worker": f"{python} -m celery -A workers.app worker --pool threads "
                  f"--concurrency {worker_threads} --queues {','.join(QUEUES)} --loglevel INFO",
        "beat": f"{python} -m celery -A workers.app beat --loglevel INFO --schedule {schedule}",
    }


def run(host: str, port: int, worker_threads: int) -> int:
    """Run everything until Ctrl-C; return the exit code."""
    config.data_dir().mkdir(parents=True, exist_ok=True)
    try:
        tokens, passwords = prepare()
    except DomainError as exc:
        click.echo(f"gridcase: {exc.message}", err=True)
        return 2
    base = f"http://{host}:{port}"
    click.echo(f"gridcase is starting; data in {config.data_dir()}")
    click.echo(f"  database: {default_engine().url.render_as_string(hide_password=True)}")
    click.echo(f"  broker:   {config.broker_url()}")
    click.echo(f"  pages:    {base}/   (staff log in at {base}/login; residents follow cases at {base}/track)")
    click.echo(f"  API:      {base}/api/v1/units   (OpenAPI: {base}/openapi.json)")
    click.echo(f"  submit:   POST {base}/api/v1/events  (see README.md for an example)")
    if tokens:
        click.echo("  demo staff tokens (also in demo-tokens.txt in the data folder):")
        for name, token in tokens.items():
            click.echo(f"    {name}: {token}")
    if passwords:
        click.echo("  demo logins for the pages (also in demo-passwords.txt in the data folder):")
        for name, password in passwords.items():
            click.echo(f"    {name}: {password}")
    click.echo("A process that exits is started again (restarts on /healthz). "
               "Press Ctrl-C to stop; nothing is lost when you start it again.")
    env = dict(os.environ, GRIDCASE_HOME=str(config.data_dir()), PYTHONUNBUFFERED="1")
    supervisor = Supervisor(commands(host, port, worker_threads), env, config.data_dir() / STATE_FILE)
    return supervisor.run()
