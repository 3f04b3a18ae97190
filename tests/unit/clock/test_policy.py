"""The deadline policy file: read, checked, and refused with the bad entry named."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from web.cli import main
from workflow.base.errors import InvalidInput
from workflow.clock.policy import DEFAULT_POLICY_FILE, current_policy, load_policy

GOOD = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")


def test_shipped_policy_has_domain_defaults() -> None:
    policy = load_policy(DEFAULT_POLICY_FILE)
    first, resolve, warn_at = policy.times("NOI", "P1", "grid")
    assert (first.text, resolve.text, warn_at) == ("PT2H calendar", "P3D working", 0.75)
    assert policy.times("NEI", "P2", "general_branch")[1].text == "P30D calendar"  # mediation
    assert policy.times("NEI", "P2", "grid")[1].text == "P7D working"


@pytest.mark.parametrize(("edit", "named"), [
    (("P1: {first_contact: PT2H calendar, resolve: P3D working}",
      "P1: {first_contact: PT2H calendar, resolve: P3D sometimes}"), "severity.P1.resolve"),
    (("P3: {first_contact: P1D working, resolve: P3D working}\n", ""), "severity"),
    (("warn_at: 0.75", "warn_at: 1.5"), "warn_at"),
    (("evaluation: P7D working", "evaluation: P1M working"), "evaluation"),
    (("- {category: FAM, level: general_branch", "- {category: XXX, level: general_branch"), "rules.0.category"),
    (("working_hours: []", 'working_hours: [["12:00", "09:00"]]'), "working_hours"),
])
def test_bad_entry_is_named(tmp_path: Path, edit: tuple[str, str], named: str) -> None:
    old, new = edit
    assert old in GOOD
    path = tmp_path / "policy.yaml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        load_policy(path)
    assert refused.value.field is not None and refused.value.field.startswith(named)
    assert named in refused.value.message


def test_gridcase_policy_names_the_file_in_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(GOOD.replace("warn_at: 0.75", "warn_at: 0.5"), encoding="utf-8")
    monkeypatch.setenv("GRIDCASE_POLICY", str(path))
    assert current_policy().spec.warn_at == 0.5
    monkeypatch.setenv("GRIDCASE_POLICY", str(tmp_path / "missing.yaml"))
    with pytest.raises(InvalidInput, match="cannot be read"):
        current_policy()


def test_policy_check_command_and_a_broken_policy_stops_the_web_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from web import create_app

    path = tmp_path / "policy.yaml"
    path.write_text(GOOD.replace("P3D working}", "P3X working}", 1), encoding="utf-8")
    result = CliRunner().invoke(main, ["policy", "check", str(path)])
    assert result.exit_code == 2 and "severity.P1.resolve" in result.output
    assert CliRunner().invoke(main, ["policy", "check"]).exit_code == 0
    monkeypatch.setenv("GRIDCASE_POLICY", str(path))
    with pytest.raises(InvalidInput, match="severity.P1.resolve"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
