"""The embedded broker candidates side by side: publish and consume rate of small messages, no servers.

Run from the repository root::

    .venv/bin/python bench/embedded_broker.py [--messages 2000]

Compares, each in a temporary folder: kombu's own ``filesystem://`` (not safe: a reader can
see a file before it is written, kombu #1551), gridcase's ``gridcase-files://`` (the same
with an atomic rename on publish and a quarantine on read), and kombu's SQLAlchemy transport
on an SQLite file of its own (``sqla+sqlite:///``, transactional by construction). One
producer publishes ``--messages`` task-sized JSON messages, then one consumer drains them.
Prints ``<transport>_publish_per_s=… <transport>_consume_per_s=…`` last.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kombu import Connection, Exchange, Producer, Queue
from kombu.transport.virtual import Channel as VirtualChannel

# Run as a script, this file's folder heads sys.path, not the repository root that holds ``bench``.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workers import embedded_broker  # noqa: E402

BODY = {"task": "gridcase.handle_event", "args": [12345], "kwargs": {}, "padding": "x" * 400}


def folder_options(root: Path) -> dict[str, Any]:
    folders = {name: root / name for name in ("queue", "processed", "control", "quarantine")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    return {"data_folder_in": str(folders["queue"]), "data_folder_out": str(folders["queue"]),
            "processed_folder": str(folders["processed"]), "control_folder": str(folders["control"]),
            "quarantine_folder": str(folders["quarantine"]), "polling_interval": 0.01}


def measure(url: str, options: dict[str, Any], count: int) -> tuple[float, float]:
    queue = Queue("events", Exchange("events"), routing_key="events")
    with Connection(url, transport_options=options) as conn:
        channel = conn.channel()
        assert isinstance(channel, VirtualChannel)  # every candidate is a kombu virtual transport
        producer = Producer(channel)
        queue(channel).declare()
        start = time.perf_counter()
        for _ in range(count):
            producer.publish(BODY, exchange=queue.exchange, routing_key="events", serializer="json")
        published = time.perf_counter() - start
        start = time.perf_counter()
        got = 0
        while got < count:
            message = channel.basic_get("events", no_ack=False)
            if message is None:
                raise SystemExit(f"{url}: only {got} of {count} messages came back")
            message.ack()
            got += 1
        consumed = time.perf_counter() - start
    return count / published, count / consumed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    embedded_broker.register()
    figures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, url, options in (
                ("kombu_filesystem", "filesystem://", folder_options(root / "fs")),
                ("gridcase_files", f"{embedded_broker.ALIAS}://", folder_options(root / "gridcase")),
                ("sqla_sqlite", f"sqla+sqlite:///{root / 'broker.sqlite3'}", {})):
            publish, consume = measure(url, options, args.messages)
            print(f"{name}: {publish:.0f} published/s, {consume:.0f} consumed/s", flush=True)
            figures += [f"{name}_publish_per_s={publish:.0f}", f"{name}_consume_per_s={consume:.0f}"]
    print(" ".join(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
