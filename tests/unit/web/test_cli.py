"""The gridcase command: org import, users, tokens, schema export, exit codes that say what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from web.cli import main
from workflow.base.db import engine_for, unit_of_work
from workflow.org.members import create_token, revoke_token, user_for_token
from workflow.org.models import ApiToken
from workflow.org.tree import DEMO_ORG_FILE


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "var"))
    return CliRunner()


def test_org_import_then_user_and_token(runner: CliRunner, tmp_path: Path) -> None:
    first = runner.invoke(main, ["org", "import", str(DEMO_ORG_FILE)])
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, ["org", "import", str(DEMO_ORG_FILE)])
    assert "0 created, 0 updated" in again.output

    added = runner.invoke(main, ["user", "add", "wang", "--unit", "XY-01-A-1", "--role", "grid_leader"])
    assert added.exit_code == 0, added.output
    created = runner.invoke(main, ["token", "create", "wang"])
    assert created.exit_code == 0
    token = created.output.strip()
    engine = engine_for(f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    with unit_of_work(engine) as s:
        user = user_for_token(s, token)
        assert user is not None and user.name == "wang" and user.unit.code == "XY-01-A-1"
        assert token not in {t.token_hash for t in s.scalars(select(ApiToken))}


@pytest.mark.parametrize(("args", "says"), [
    (["user", "add", "li", "--unit", "NOPE", "--role", "grid_leader"], "no unit with code 'NOPE'"),
    (["user", "add", "li", "--unit", "XY", "--role", "king"], "unknown role 'king'"),
    (["user", "add", "xy.street", "--unit", "XY", "--role", "street_staff"], "exists already"),
    (["token", "create", "nobody"], "no user named 'nobody'"),
])
def test_bad_arguments_exit_2_with_a_line_that_says_why(runner: CliRunner, args: list[str], says: str) -> None:
    runner.invoke(main, ["org", "import", str(DEMO_ORG_FILE)])
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert says in result.output


def test_bad_org_file_exits_2_naming_the_entry(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("units:\n- {code: S, name: 街道, level: street, children: [{code: H, name: 户, level: household}]}\n",
                   encoding="utf-8")
    result = runner.invoke(main, ["org", "import", str(bad)])
    assert result.exit_code == 2
    assert "a household cannot sit under the street S" in result.output


def test_schema_check_passes_on_a_clean_tree(runner: CliRunner) -> None:
    result = runner.invoke(main, ["schemas", "export", "--check"])
    assert result.exit_code == 0, result.output


def _token_lines(runner: CliRunner, *args: str) -> list[str]:
    result = runner.invoke(main, ["token", "list", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()


def test_tokens_are_listed_with_their_last_use_and_revoked_by_id(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(main, ["org", "import", str(DEMO_ORG_FILE)])
    assert _token_lines(runner) == ["no tokens"]
    token = runner.invoke(main, ["token", "create", "xy.street"]).output.strip()
    other = runner.invoke(main, ["token", "create", "xy01a1.leader"]).output.strip()
    [line] = _token_lines(runner, "--user", "xy.street")
    assert line.startswith("1\txy.street\tcreated ") and "last used never" in line and line.endswith("valid")
    assert token not in line
    engine = engine_for(f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    with unit_of_work(engine) as s:
        assert user_for_token(s, token) is not None
    assert "last used never" not in _token_lines(runner, "--user", "xy.street")[0]

    revoked = runner.invoke(main, ["token", "revoke", "1"])
    assert revoked.exit_code == 0 and "token 1 of xy.street revoked" in revoked.output
    with unit_of_work(engine) as s:
        assert user_for_token(s, token) is None
        assert user_for_token(s, other) is not None
    assert [line.rsplit("\t", 1)[1] for line in _token_lines(runner)] == ["revoked", "valid"]
    missing = runner.invoke(main, ["token", "revoke", "99"])
    assert missing.exit_code == 2 and "no token with id 99" in missing.output


def test_a_token_expires_after_the_days_set(runner: CliRunner, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    runner.invoke(main, ["org", "import", str(DEMO_ORG_FILE)])
    engine = engine_for(f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        default = runner.invoke(main, ["token", "create", "xy.street"]).output.strip()
        monkeypatch.setenv("GRIDCASE_TOKEN_DAYS", "7")
        week = runner.invoke(main, ["token", "create", "xy.street"]).output.strip()
        day = runner.invoke(main, ["token", "create", "xy.street", "--days", "1"]).output.strip()
        assert "expires 2027-03-01 09:00" in _token_lines(runner)[0]  # 90 days
        clock.move_to(start + timedelta(days=1, seconds=1))
        with unit_of_work(engine) as s:
            assert [user_for_token(s, t) is not None for t in (default, week, day)] == [True, True, False]
        clock.move_to(start + timedelta(days=90, seconds=1))
        with unit_of_work(engine) as s:
            assert [user_for_token(s, t) is not None for t in (default, week, day)] == [False, False, False]
        assert [line.rsplit("\t", 1)[1] for line in _token_lines(runner)] == ["expired"] * 3
    bad = runner.invoke(main, ["token", "create", "xy.street", "--days", "0"])
    assert bad.exit_code == 2 and "at least one day" in bad.output


def test_an_expired_or_revoked_token_is_refused_by_the_api(client: FlaskClient, engine: Engine) -> None:
    with unit_of_work(engine) as s:
        token = create_token(s, "xy.street", days=1)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/cases/1", headers=headers).status_code == 404  # known token, no such case
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2)):
        assert client.get("/api/v1/cases/1", headers=headers).status_code == 401
    with unit_of_work(engine) as s:
        revoke_token(s, s.scalars(select(ApiToken)).one().id)
    assert client.get("/api/v1/cases/1", headers=headers).status_code == 401
