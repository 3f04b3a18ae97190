"""The org file: importing it, importing it again, and refusing a malformed one by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from workflow.base.db import make_engine, unit_of_work
from workflow.base.errors import InvalidInput
from workflow.base.schema import upgrade
from workflow.notices.org_file import import_org
from workflow.org.models import Unit, User
from workflow.org.tree import DEMO_ORG_FILE, ladder_of, read_org_file, unit_by_code


@pytest.fixture
def empty_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    upgrade(engine)
    return engine


def test_demo_tree_has_a_street_three_communities_and_a_member_for_each_unit(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        levels = dict(s.execute(select(Unit.level, func.count()).group_by(Unit.level)).all())
        assert levels["street"] == 1 and levels["general_branch"] == 3
        assert levels["branch"] >= 3 and levels["grid"] >= 6 and levels["household"] >= 6
        staffed = set(s.scalars(select(User.unit_id)))
        assert staffed == set(s.scalars(select(Unit.id)))


def test_importing_the_same_file_twice_changes_nothing(empty_engine: Engine) -> None:
    org = read_org_file(DEMO_ORG_FILE)
    with unit_of_work(empty_engine) as s:
        first = import_org(s, org)
    with unit_of_work(empty_engine) as s:
        second = import_org(s, org)
    assert first.created > 0 and first.updated == 0
    assert (second.created, second.updated, second.unchanged) == (0, 0, first.created)


def test_changed_name_is_updated_in_place(empty_engine: Engine, tmp_path: Path) -> None:
    with unit_of_work(empty_engine) as s:
        import_org(s, read_org_file(DEMO_ORG_FILE))
    edited = tmp_path / "org.yaml"
    edited.write_text(DEMO_ORG_FILE.read_text(encoding="utf-8").replace("新华社区党总支", "新华社区党委"),
                      encoding="utf-8")
    with unit_of_work(empty_engine) as s:
        report = import_org(s, read_org_file(edited))
        assert (report.created, report.updated) == (0, 1)
        assert unit_by_code(s, "XY-01").name == "新华社区党委"


def test_json_org_file_is_accepted(empty_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    path.write_text('{"units": [{"code": "S", "name": "街道", "level": "street", "children": ['
                    '{"code": "S1", "name": "社区", "level": "general_branch", "children": ['
                    '{"code": "S1A", "name": "小区", "level": "branch", "children": ['
                    '{"code": "S1A1", "name": "1号楼", "level": "grid"}]}]}]}]}', encoding="utf-8")
    with unit_of_work(empty_engine) as s:
        import_org(s, read_org_file(path))
        ladder = ladder_of(unit_by_code(s, "S1A1"))
        assert [u.code for u in ladder.values()] == ["S1A1", "S1A", "S1", "S"]


@pytest.mark.parametrize(("text", "names"), [
    ("units:\n- {code: S, name: 街道, level: street, children: [{code: G, name: 楼, level: grid}]}\n",
     "a grid cannot sit under the street S"),
    ("units:\n- {code: S, name: 街道, level: town}\n", "units.0.level"),
    ("units:\n- {code: S, name: 街道, level: street, members: [{user: a, name: A, role: boss}]}\n",
     "units.0.members.0.role"),
    ("units:\n- {code: S, name: 街道, level: street}\n- {code: S, name: 又一个, level: street}\n",
     "unit code S appears twice"),
    ("units: [\n", "org.yaml"),
])
def test_malformed_org_file_is_refused_naming_the_entry(empty_engine: Engine, tmp_path: Path, text: str,
                                                        names: str) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=names):
        with unit_of_work(empty_engine) as s:
            import_org(s, read_org_file(path))
    with unit_of_work(empty_engine) as s:
        assert s.scalar(select(func.count()).select_from(Unit)) == 0
