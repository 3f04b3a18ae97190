"""The gridcase command: org import, users, tokens, schema export, exit codes that say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from web.cli import main
from workflow.base.db import engine_for, unit_of_work
from workflow.org.members import user_for_token
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
