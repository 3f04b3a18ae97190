"""The embedded broker: whole messages only, and a bad file is set aside instead of stopping the reader."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kombu import Connection, Exchange, Producer, Queue
from kombu.transport.virtual import BrokerState

from workers import embedded_broker


@pytest.fixture
def connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Connection]:
    embedded_broker.register()
    # kombu keeps declared exchanges in class-level state: a fresh control folder needs fresh state.
    monkeypatch.setattr(embedded_broker.Transport, "global_state", BrokerState())
    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    options = {"data_folder_in": str(folders["queue"]), "data_folder_out": str(folders["queue"]),
               "processed_folder": str(folders["processed"]), "control_folder": str(folders["control"]),
               "quarantine_folder": str(tmp_path / "quarantine")}
    with Connection(f"{embedded_broker.ALIAS}://", transport_options=options) as conn:
        yield conn


def channel(conn: Connection) -> embedded_broker.Channel:
    chan = conn.default_channel
    assert isinstance(chan, embedded_broker.Channel)
    return chan


def publish(conn: Connection, body: Any) -> None:
    queue = Queue("events", Exchange("events"), routing_key="events")
    Producer(conn.default_channel).publish(body, exchange=queue.exchange, routing_key="events", declare=[queue],
                                           serializer="json")


def receive(conn: Connection) -> Any:
    return channel(conn).basic_get("events", no_ack=True)


def test_a_message_goes_through_and_no_temporary_file_is_left(connection: Connection, tmp_path: Path) -> None:
    publish(connection, {"n": 1})
    names = [p.name for p in (tmp_path / "queue").iterdir()]
    assert len(names) == 1 and names[0].endswith(".events.msg")
    assert receive(connection).decode() == {"n": 1}
    assert list((tmp_path / "queue").iterdir()) == [] and list((tmp_path / "processed").iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"not json", b"\xff\xfe", b"[1, 2]", b'{"body": "x"}'])
def test_an_unreadable_message_is_quarantined_and_the_next_one_read(
        connection: Connection, tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "queue" / "0_bad.events.msg").write_bytes(content)
    publish(connection, {"n": 2})
    with caplog.at_level(logging.ERROR, logger="workers.embedded_broker"):
        assert receive(connection).decode() == {"n": 2}
    assert [p.name for p in (tmp_path / "quarantine").iterdir()] == ["0_bad.events.msg"]
    assert "0_bad.events.msg" in caplog.text
    with pytest.raises(Empty):
        channel(connection)._get("events")


def test_a_file_being_written_is_never_visible_to_the_reader(connection: Connection, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Stop the writer between its write and its rename: the reader must find nothing yet.
    seen: list[Any] = []

    def replace_after_a_look(src: str, dst: str) -> None:
        with pytest.raises(Empty):
            channel(connection)._get("events")
        seen.append(dst)
        original_replace(src, dst)

    original_replace = os.replace
    monkeypatch.setattr(os, "replace", replace_after_a_look)
    publish(connection, {"n": 3})
    monkeypatch.undo()
    assert seen and receive(connection).decode() == {"n": 3}
    assert not (tmp_path / "quarantine").exists()


def test_the_app_uses_the_embedded_transport_for_filesystem_urls() -> None:
    from workers.app import celery_settings

    settings = celery_settings("filesystem://")
    assert settings["broker_url"] == f"{embedded_broker.ALIAS}://"
    assert settings["broker_transport_options"]["quarantine_folder"].endswith("quarantine")


def test_an_exchange_table_being_written_is_read_again(connection: Connection, tmp_path: Path) -> None:
    control = tmp_path / "control" / "later.exchange"
    control.write_bytes(b"")  # what kombu's first write leaves before it locks and writes

    def write() -> None:
        control.write_text('[["events", "", "events"]]')

    timer = threading.Timer(0.05, write)
    timer.start()
    try:
        assert [tuple(row) for row in channel(connection).get_table("later")] == [("events", "", "events")]
    finally:
        timer.join()
