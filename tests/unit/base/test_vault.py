"""Encryption at rest: no plaintext in the stored rows, rotation with two keys, look-ups by phone."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, select, text

from tests.conftest import Published
from tests.unit.helpers import REPORTER_PHONE, event, post_event, run_worker, token_for
from web.cli import main
from workflow.base import vault
from workflow.base.db import engine_for, unit_of_work
from workflow.base.schema import alembic_config
from workflow.cases.models import CaseParty, InboxEvent
from workflow.registry.addresses import search
from workflow.registry.models import Address, Building, Household, Resident
from workflow.tables import metadata

OLD = "old00001:" + "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0="  # 32 bytes each
NEW = "new00002:" + "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0="
ID_NUMBER = "11010519491231002X"
RESIDENT_PHONE = "13900001111"


def _raw(engine: Engine, sql: str) -> list[str]:
    with engine.connect() as connection:
        return [str(v) for row in connection.execute(text(sql)) for v in row if v is not None]


def _resident(engine: Engine, name: str = "吴国庆", phone: str = RESIDENT_PHONE,
              id_number: str | None = ID_NUMBER) -> int:
    with unit_of_work(engine) as session:
        building = Building(compound="金桂园", name="1号楼",
                            grid_unit_id=session.scalar(text("SELECT id FROM units WHERE code = 'XY-01-A-1'")))
        address = Address(building=building, entrance="1", floor=1, room="101")
        household = Household(address=address, created_at=datetime.now(UTC))
        resident = Resident(household=household, name=name, relation="户主", phone=phone, id_number=id_number,
                            tags=[])
        session.add(resident)
        session.flush()
        return household.id


def test_a_submitted_case_stores_no_plaintext_name_phone_or_event(client: FlaskClient, engine: Engine,
                                                                  published: Published) -> None:
    answer = post_event(client, event()).get_json()
    run_worker(engine, published.events)
    stored = _raw(engine, "SELECT name, phone FROM case_parties") + _raw(engine, "SELECT data FROM inbox") \
        + _raw(engine, "SELECT target FROM deliveries")
    assert stored and all(v.startswith("gc1:") for v in stored)
    everything = json.dumps(stored, ensure_ascii=False)
    assert "王小明" not in everything and REPORTER_PHONE not in everything and "5678" not in everything
    # Read through the models, the values are whole again; the resident's check still works.
    with unit_of_work(engine) as session:
        party = session.scalars(select(CaseParty)).one()
        assert (party.name, party.phone) == ("王小明", REPORTER_PHONE)
    track = client.get(f"/api/v1/track/{answer['tracking_code']}", headers={"X-Phone-Last4": "5678"})
    assert track.status_code == 200 and track.get_json()["reporter"] == "王*明"


def test_a_residents_row_holds_ciphertext_and_blind_indexes(engine: Engine) -> None:
    _resident(engine)
    name, phone, number, phone_index, number_index = _raw(
        engine, "SELECT name, phone, id_number, phone_index, id_number_index FROM registry_residents")
    assert all(v.startswith("gc1:test0001:") for v in (name, phone, number))
    assert "吴国庆" not in name + phone + number and RESIDENT_PHONE not in phone and ID_NUMBER not in number
    assert phone_index == vault.blind(RESIDENT_PHONE, "phone") and number_index == vault.blind(ID_NUMBER, "id_number")
    assert len(phone_index) == 32 and RESIDENT_PHONE not in phone_index


def test_the_register_finds_a_household_by_phone_however_it_is_written(engine: Engine, client: FlaskClient) -> None:
    household_id = _resident(engine)
    with unit_of_work(engine) as session:
        units = {u for (u,) in session.execute(text("SELECT id FROM units"))}
        for spelling in (RESIDENT_PHONE, "139 0000 1111", "+86 139-0000-1111", "１３９００００１１１１"):
            assert [h for _, h in search(session, spelling, units)] == [household_id], spelling
        assert search(session, "13900001112", units) == []
    answer = client.get(f"/api/v1/addresses?q={RESIDENT_PHONE}", headers=token_for(engine, "xy01a1.leader"))
    assert answer.status_code == 200
    assert [a["household_id"] for a in answer.get_json()["addresses"]] == [household_id]


def test_one_id_number_cannot_be_registered_twice_whatever_its_case(engine: Engine) -> None:
    _resident(engine)
    with pytest.raises(Exception, match="(?i)unique"):
        with unit_of_work(engine) as session:
            household = session.scalars(select(Household)).one()
            session.add(Resident(household=household, name="吴二", relation="子", id_number=ID_NUMBER.lower(),
                                 tags=[]))


def test_rotation_with_two_keys_keeps_every_row_readable_and_leaves_no_plaintext(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_DATA_KEYS", OLD)
    for n in range(5):
        _resident_in_room(engine, n)
    # A row from before encryption: written as plaintext, as the columns held them.
    with engine.begin() as connection:
        connection.execute(text("UPDATE registry_residents SET phone = '13700000000', phone_index = NULL "
                                "WHERE id = (SELECT max(id) FROM registry_residents)"))
    monkeypatch.setenv("GRIDCASE_DATA_KEYS", f"{NEW},{OLD}")
    fields = [f for f in vault.encrypted_fields(metadata) if f.table == "registry_residents"]
    with engine.connect() as connection:
        assert vault.pending(connection, fields)["registry_residents.phone"] == 5

    # Interrupted after the first batch of two: what is done stays done, everything reads.
    class Stop(Exception):
        pass

    def stop_after_first(field: vault.Field, count: int) -> None:
        connection.commit()
        raise Stop

    with engine.connect() as connection, pytest.raises(Stop):
        vault.rekey(connection, fields, batch=2, after_batch=stop_after_first)
    assert len([v for v in _raw(engine, "SELECT name FROM registry_residents") if v.startswith("gc1:new00002:")]) == 2
    assert _names(engine) == [f"居民{n}" for n in range(5)]

    with engine.connect() as connection:
        done = vault.rekey(connection, fields, batch=2, after_batch=lambda f, c: connection.commit())
        connection.commit()
    assert done["registry_residents.name"] == 3 and done["registry_residents.phone"] == 5
    stored = _raw(engine, "SELECT name, phone, id_number FROM registry_residents")
    assert stored and all(v.startswith("gc1:new00002:") for v in stored)
    assert "13700000000" not in "".join(stored)
    # The old key can go: every row reads with the new key alone, and the plaintext row is found by its phone.
    monkeypatch.setenv("GRIDCASE_DATA_KEYS", NEW)
    assert _names(engine) == [f"居民{n}" for n in range(5)]
    with unit_of_work(engine) as session:
        assert session.scalars(select(Resident.id).where(Resident.phone_index == vault.blind("13700000000", "phone"))
                               ).one()
    with engine.connect() as connection:
        assert sum(vault.pending(connection, fields).values()) == 0


def _resident_in_room(engine: Engine, n: int) -> None:
    with unit_of_work(engine) as session:
        building = session.scalars(select(Building)).first() or Building(
            compound="金桂园", name="2号楼", grid_unit_id=session.scalar(text("SELECT id FROM units WHERE code = 'XY-01-A-1'")))
        household = Household(address=Address(building=building, entrance="1", floor=1, room=f"10{n}"),
                              created_at=datetime.now(UTC))
        session.add(Resident(household=household, name=f"居民{n}", relation="户主", phone=f"1390000000{n}",
                             id_number=f"11010519491231{n:03d}X", tags=[]))


def _names(engine: Engine) -> list[str]:
    with unit_of_work(engine) as session:
        return [r.name for r in session.scalars(select(Resident).order_by(Resident.id))]


def test_gridcase_keys_rotate_rewrites_under_the_new_key_and_says_how_many(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("GRIDCASE_DATA_KEYS", OLD)
    runner = CliRunner()
    assert runner.invoke(main, ["org", "import", "workflow/org/demo/org.yaml"]).exit_code == 0
    _resident(engine_for(url))
    monkeypatch.setenv("GRIDCASE_DATA_KEYS", f"{NEW},{OLD}")
    status = runner.invoke(main, ["keys", "status"])
    assert "current key: new00002" in status.output and "registry_residents.phone: 1 not under" in status.output
    rotated = runner.invoke(main, ["keys", "rotate", "--batch", "1"])
    assert rotated.exit_code == 0, rotated.output
    assert "rotate: 3 values rewritten under key new00002" in rotated.output
    again = runner.invoke(main, ["keys", "rotate"])
    assert "rotate: 0 values rewritten" in again.output
    new = runner.invoke(main, ["keys", "new"])
    kid, key = new.output.strip().split(":")
    assert len(kid) == 8 and vault.parse(new.output, vault.new_index_key()).current_id == kid


def test_a_ciphertext_does_not_decrypt_in_another_column_or_under_another_key() -> None:
    ring = vault.parse(OLD, vault.new_index_key())
    sealed = ring.encrypt("13812345678", "case_parties.phone")
    assert ring.decrypt(sealed, "case_parties.phone") == "13812345678"
    with pytest.raises(vault.KeyProblem, match="does not decrypt"):
        ring.decrypt(sealed, "registry_residents.phone")
    with pytest.raises(vault.KeyProblem, match="lacks"):
        vault.parse(NEW, vault.new_index_key()).decrypt(sealed, "case_parties.phone")
    assert sealed != ring.encrypt("13812345678", "case_parties.phone")  # a fresh nonce each time


def test_comparing_an_encrypted_column_in_sql_is_refused() -> None:
    with pytest.raises(TypeError, match="blind index"):
        select(Resident).where(Resident.phone == "13900001111")
    assert select(Resident).where(Resident.phone.is_not(None)) is not None


def test_without_configured_keys_a_key_file_is_made_once_in_the_data_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GRIDCASE_DATA_KEYS", "GRIDCASE_INDEX_KEY", "GRIDCASE_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "var"))
    first = vault.key_ring()
    path = tmp_path / "var" / "keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    vault._ring.cache_clear()
    assert vault.key_ring() == first
    # An operator's key file with a rotated ring reads the same way.
    other = tmp_path / "ops.keys"
    other.write_text(f"{NEW}\n{OLD}  # the old key, until keys rotate says 0\nindex:{vault.new_index_key()}\n")
    monkeypatch.setenv("GRIDCASE_KEYS_FILE", str(other))
    assert [k for k, _ in vault.key_ring().keys] == ["new00002", "old00001"]


def test_a_data_key_without_an_index_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_DATA_KEYS", NEW)
    monkeypatch.delenv("GRIDCASE_INDEX_KEY")
    with pytest.raises(vault.KeyProblem, match="GRIDCASE_INDEX_KEY"):
        vault.key_ring()
    with pytest.raises(vault.KeyProblem, match="32 bytes"):
        vault.parse("k1:c2hvcnQ=", vault.new_index_key())


def test_the_migration_encrypts_the_rows_already_stored_and_indexes_them(tmp_path: Path) -> None:
    # A database at the revision before encryption, with plaintext rows (foreign keys not
    # enforced: only the columns this revision rewrites matter here).
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with engine.connect() as connection:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0010_mediation")
        connection.execute(text("INSERT INTO case_parties (id, case_id, role, name, phone) "
                                "VALUES (1, 1, 'reporter', '王小明', '13812345678')"))
        connection.execute(text("INSERT INTO registry_residents (id, household_id, name, relation, phone, id_number, "
                                f"tags) VALUES (1, 1, '吴国庆', '户主', '139 0000 1111', '{ID_NUMBER}', '[]')"))
        connection.execute(text("INSERT INTO inbox (id, source, event_id, type, data, digest, received_at, status, "
                                "attempts) VALUES (1, '/t', 'e1', 't', '{\"reporter\": {\"phone\": \"13812345678\"}}', "
                                "'d', '2026-01-01 00:00:00', 'done', 1)"))
        connection.commit()
        command.upgrade(cfg, "head")
        connection.commit()
    stored = _raw(engine, "SELECT name, phone FROM case_parties") + _raw(
        engine, "SELECT name, phone, id_number FROM registry_residents") + _raw(engine, "SELECT data FROM inbox")
    assert len(stored) == 6 and all(v.startswith("gc1:test0001:") for v in stored)
    assert _raw(engine, "SELECT phone_index, id_number_index FROM registry_residents") == [
        vault.blind(RESIDENT_PHONE, "phone"), vault.blind(ID_NUMBER, "id_number")]
    with unit_of_work(engine) as session:
        assert session.get(CaseParty, 1).phone == "13812345678"  # type: ignore[union-attr]
        assert session.get(InboxEvent, 1).data == {"reporter": {"phone": "13812345678"}}  # type: ignore[union-attr]
