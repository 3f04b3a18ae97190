"""The embedded broker: kombu's filesystem transport, made safe to share a folder between writers and readers.

kombu's ``filesystem://`` transport (``kombu/transport/filesystem.py``, kombu issue #1551,
open) publishes a message by opening ``<ms>_<uuid>.<queue>.msg`` in the queue folder and
writing the JSON into it afterwards. The lock it takes while writing (``flock``) is one a
reader never asks for, and ``gridcase up`` uses one folder for in and out, so a worker
polling the folder can claim the file between its creation and its write, read nothing and
raise ``JSONDecodeError``; Celery calls that an unrecoverable error and the worker exits.

This transport fixes both sides:

* the writer writes the message under a temporary name that the reader's pattern
  (``<anything>.<queue>.msg``) never matches, in the same folder so the rename stays on one
  filesystem, and ``os.replace``-s it into place: a reader sees the whole message or none;
* the reader of an exchange's bindings reads again for a moment when it finds the control
  file empty (kombu truncates it before locking it when it first writes it);
* the reader claims a file by renaming it into the processed folder (atomic, where kombu
  uses ``shutil.move`` to the system temporary folder, which may be another filesystem) and
  sets aside anything it cannot read as a message in the quarantine folder, logged with its
  file name, instead of raising. Whatever such a file stood for is still pending in the
  database, so the relay publishes it again after ``GRIDCASE_RELAY_GRACE``.

It is registered as the kombu transport ``gridcase-files`` (see ``register``); ``workers.app``
uses it whenever the broker URL is ``filesystem://``.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

ALIAS = "gridcase-files"
# A temporary name starts with a dot and ends in ".tmp": kombu's reader takes what follows
# the first dot and compares it with "<queue>.msg", which this can never equal.
TEMP_SUFFIX = ".tmp"
TABLE_RETRIES = 50


class Channel(filesystem.Channel):
    """A filesystem channel whose messages appear whole, and whose reader survives a bad file."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Write the message under a temporary name, then rename it into the reader's view."""
        folder = str(self.data_folder_out)
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        temp = os.path.join(folder, f".{uuid.uuid4().hex}{TEMP_SUFFIX}")
        try:
            with open(temp, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(temp, os.path.join(folder, name))
        except OSError as exc:
            try:
                os.unlink(temp)
            except OSError:
                pass  # never created, or already renamed: nothing to clean up
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc

    def get_table(self, exchange: str) -> Any:
        """Return the exchange's bindings, reading again while another process is still writing them."""
        # kombu's _queue_bind opens the control file with "wb" (truncating it) before it takes
        # the lock, so on a first start a reader can find it empty for a moment.
        for _ in range(TABLE_RETRIES):
            try:
                return super().get_table(exchange)
            except ValueError:
                time.sleep(0.01)
        return super().get_table(exchange)

    def _get(self, queue: str) -> Any:  # type: ignore[override]
        """Return the oldest readable message of ``queue``, quarantining any unreadable one on the way."""
        wanted = f"{queue}.msg"
        folder = str(self.data_folder_in)
        processed = Path(str(self.processed_folder))
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = processed / name
            try:
                os.rename(os.path.join(folder, name), claimed)
            except OSError:
                continue  # another consumer claimed it first
            payload = self._read(claimed)
            if payload is None:
                continue
            if not self.store_processed:
                claimed.unlink(missing_ok=True)
            return payload
        raise Empty()

    def _read(self, claimed: Path) -> Any:
        """Return the message in ``claimed``, or None after moving it to the quarantine folder."""
        try:
            payload = loads(bytes_to_str(claimed.read_bytes()))
            self.Message(payload, channel=self)  # what the consumer will do next: fail here, not there
            return payload
        except Exception as exc:  # noqa: BLE001 - any unreadable file must not stop the worker
            error = exc
        quarantine = self.quarantine_folder
        quarantine.mkdir(parents=True, exist_ok=True)
        target = quarantine / claimed.name
        try:
            os.replace(claimed, target)
        except OSError:
            logger.exception("could not quarantine unreadable broker message %s", claimed)
            claimed.unlink(missing_ok=True)
            target = claimed
        logger.error("unreadable broker message %s set aside as %s (%s: %s); the relay publishes "
                     "its work again", claimed.name, target, error.__class__.__name__, error)
        return None

    @property
    def quarantine_folder(self) -> Path:
        """Return where unreadable message files are set aside (option ``quarantine_folder``)."""
        option = self.transport_options.get("quarantine_folder")
        return Path(option) if option else Path(str(self.data_folder_in)).parent / "quarantine"


class Transport(filesystem.Transport):
    """kombu's filesystem transport with the channel above."""

    Channel = Channel
    # Its own declared exchanges, not shared with kombu's filesystem transport in this process.
    global_state = virtual.BrokerState()
    driver_type = "filesystem"
    driver_name = ALIAS


def register() -> None:
    """Make ``gridcase-files://`` a kombu transport URL in this process."""
    TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"
