"""The data folder is 0700 and what gridcase writes in it 0600: database, demo logins, SMS, photos."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import Engine

from tests.unit.helpers import event, post_event
from web import up
from workflow.base.db import unit_of_work
from workflow.base.private_files import lock_down
from workflow.cases.attachments import add_photo
from workflow.cases.models import Case
from workflow.notices.channels.base import Message
from workflow.notices.channels.sms import FileSink


def _png() -> bytes:
    # A real picture: photos are decoded before they are kept (issue 11), so magic bytes alone are refused.
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data folder as GRIDCASE_HOME, the process umask put back afterwards (up changes it)."""
    folder = tmp_path / "var"
    monkeypatch.setenv("GRIDCASE_HOME", str(folder))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    saved = os.umask(0o022)  # a usual umask: files 0644 unless gridcase says otherwise
    yield folder
    os.umask(saved)


def test_gridcase_up_leaves_the_data_folder_and_its_files_private(home: Path) -> None:
    up.make_data_folder_private()
    os.umask(0o022)  # what up set is inherited by its processes; here check what gridcase writes itself
    tokens, passwords = up.prepare()
    assert tokens and passwords
    assert mode(home) == 0o700
    written = {p.name: mode(p) for p in home.iterdir() if p.is_file()}
    assert {"gridcase.sqlite3", "demo-tokens.txt", "demo-passwords.txt"} <= set(written)
    assert set(written.values()) == {0o600}, written


def test_up_sets_a_umask_its_processes_inherit(home: Path) -> None:
    up.make_data_folder_private()
    created = home / "celerybeat-schedule"
    created.write_bytes(b"x")
    assert mode(created) == 0o600


def test_an_older_data_folder_is_tightened(home: Path) -> None:
    (home / "uploads").mkdir(parents=True, mode=0o755)
    home.chmod(0o755)
    old = home / "uploads" / "1-abc.png"
    old.write_bytes(PNG)
    old.chmod(0o644)
    lock_down(home)
    assert (mode(home), mode(home / "uploads"), mode(old)) == (0o700, 0o700, 0o600)


def test_the_sms_sink_with_full_numbers_is_private(home: Path, sms_sink: Path) -> None:
    FileSink().send("13812345678", "您的案件已办结", Message(id="m-1", target="13812345678", title="办结", body="您的案件已办结", topic="case.reported_back", language="zh_Hans"))
    assert sms_sink.read_text(encoding="utf-8").count("13812345678") == 1
    assert mode(sms_sink) == 0o600


def test_a_residents_photo_is_private(home: Path, engine: Engine, client: FlaskClient) -> None:
    case_id = post_event(client, event()).get_json()["case_id"]
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        row = add_photo(session, case, PNG, "xy01a1.leader")
    assert mode(home / "uploads") == 0o700
    assert mode(home / "uploads" / row.file_name) == 0o600
