"""Residents' personal data encrypted at rest: the key ring, the encrypting column types, blind indexes.

A value is stored as ``gc1:<key id>:<base64url(nonce ‖ AES-256-GCM ciphertext ‖ tag)>``, with the
column's name as associated data (a ciphertext copied into another column does not decrypt). The
key ring holds the current key, which encrypts, and older keys, which only decrypt, so a rotation
(`gridcase keys rotate`) can rewrite the rows in batches while every row stays readable. A value
without the ``gc1:`` prefix is a row from before encryption: it is read as it is, and the next
rotation encrypts it.

Columns that the code looks values up by (a phone, an ID number) keep a blind index beside them:
HMAC-SHA256 of the normalised value under a separate index key, which is not rotated with the data
keys (the indexes would all change).

Keys come from ``GRIDCASE_DATA_KEYS`` (``id:key`` pairs, current first) and ``GRIDCASE_INDEX_KEY``,
or from the file ``GRIDCASE_KEYS_FILE``; with neither, from ``keys`` in the data folder, made on
first use (development and ``gridcase up``). See README.md, "Keys".
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Integer, MetaData, String, Text, column, event, func, or_, select, table, update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import ColumnClause
from sqlalchemy.types import TypeDecorator

from workflow.base import config
from workflow.base.private_files import private_dir, write_private

PREFIX = "gc1:"
_NONCE = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


class KeyProblem(Exception):
    """The key configuration is unusable, or a value was encrypted under a key the ring lacks."""


@dataclass(frozen=True)
class KeyRing:
    """The data keys (current first) and the blind-index key."""

    keys: tuple[tuple[str, bytes], ...]
    index_key: bytes

    @property
    def current_id(self) -> str:
        """Return the id of the key that encrypts."""
        return self.keys[0][0]

    @functools.cached_property
    def _ciphers(self) -> dict[str, AESGCM]:
        return {kid: AESGCM(key) for kid, key in self.keys}

    def encrypt(self, plaintext: str, label: str) -> str:
        """Encrypt ``plaintext`` for the column ``label`` under the current key."""
        kid = self.current_id
        nonce = os.urandom(_NONCE)
        sealed = self._ciphers[kid].encrypt(nonce, plaintext.encode("utf-8"), label.encode("ascii"))
        return f"{PREFIX}{kid}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, stored: str, label: str) -> str:
        """Return the plaintext of a stored value (a value stored before encryption is returned as is)."""
        if not stored.startswith(PREFIX):
            return stored
        kid, _, body = stored[len(PREFIX):].partition(":")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise KeyProblem(f"a value of {label} is encrypted under key {kid!r}, which the key ring lacks")
        raw = base64.urlsafe_b64decode(body)
        try:
            return cipher.decrypt(raw[:_NONCE], raw[_NONCE:], label.encode("ascii")).decode("utf-8")
        except InvalidTag as exc:
            raise KeyProblem(f"a value of {label} does not decrypt under key {kid!r} (altered or misplaced)") from exc

    def is_current(self, stored: str | None) -> bool:
        """Tell whether a stored value is absent or already encrypted under the current key."""
        return stored is None or stored.startswith(f"{PREFIX}{self.current_id}:")

    def blind(self, value: str | None, kind: str) -> str | None:
        """Return the blind index of ``value`` normalised as a ``kind`` ("phone", "id_number"), or None."""
        if value is None:
            return None
        normal = normalise(value, kind)
        if not normal:
            return None
        digest = hmac.new(self.index_key, f"{kind}:{normal}".encode(), hashlib.sha256).digest()
        return digest[:16].hex()


def normalise(value: str, kind: str) -> str:
    """Return the form two spellings of one phone or ID number share (digits only; ID numbers upper-case)."""
    if kind == "phone":
        digits = re.sub(r"\D", "", value.translate(_FULL_WIDTH))
        # +86 / 0086 in front of a mobile number is the same number.
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        elif len(digits) == 15 and digits.startswith("0086"):
            digits = digits[4:]
        return digits
    return re.sub(r"\s", "", value.translate(_FULL_WIDTH)).upper()


_FULL_WIDTH = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789xX")


def new_key() -> str:
    """Return a new data key as ``id:key`` (a random 8-hex-digit id and 32 random bytes, base64url)."""
    return f"{secrets.token_hex(4)}:{base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode('ascii')}"


def new_index_key() -> str:
    """Return a new blind-index key (32 random bytes, base64url)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _decode_key(text: str, what: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip())
    except ValueError as exc:
        raise KeyProblem(f"{what} is not base64") from exc
    if len(raw) != 32:
        raise KeyProblem(f"{what} must be 32 bytes (base64url, as `gridcase keys new` prints), not {len(raw)}")
    return raw


def parse(data_keys: str, index_key: str) -> KeyRing:
    """Read a key ring from ``id:key`` pairs (separated by commas, spaces or lines; current first) and an index key.

    Raises:
        KeyProblem: no data key, a malformed one, a repeated id, or a malformed index key.
    """
    keys: list[tuple[str, bytes]] = []
    for item in re.split(r"[\s,]+", data_keys.strip()):
        if not item:
            continue
        kid, sep, body = item.partition(":")
        if not sep or not _KEY_ID.match(kid):
            raise KeyProblem(f"a data key must read id:key (`gridcase keys new` prints one), not {kid[:16]!r}…")
        if any(kid == seen for seen, _ in keys):
            raise KeyProblem(f"the key id {kid!r} is given twice")
        keys.append((kid, _decode_key(body, f"data key {kid!r}")))
    if not keys:
        raise KeyProblem("no data key configured")
    return KeyRing(tuple(keys), _decode_key(index_key, "the index key"))


def _read_file(path: Path) -> KeyRing:
    data: list[str] = []
    index = ""
    for line in path.read_text(encoding="ascii").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("index:"):
            index = line.removeprefix("index:")
        elif line:
            data.append(line)
    if not index:
        raise KeyProblem(f"{path} has no 'index:' line")
    return parse(" ".join(data), index)


def _default_file() -> Path:
    """The key file of the data folder, made once: written aside, then linked into place.

    The link fails if another process made the file first, and the file appears whole or not
    at all, so processes starting together agree on one ring and none reads a half-written file.
    """
    folder = private_dir(config.data_dir())
    path = folder / "keys"
    if path.exists():
        return path
    aside = folder / f".keys-{secrets.token_hex(8)}"
    write_private(aside, ("# Made by gridcase because no key was configured; see README.md, \"Keys\".\n"
                          f"{new_key()}\nindex:{new_index_key()}\n").encode("ascii"))
    try:
        os.link(aside, path)
    except FileExistsError:
        pass
    finally:
        aside.unlink()
    return path


@functools.lru_cache(maxsize=8)
def _ring(data_keys: str | None, index_key: str | None, keys_file: str | None, home: str | None) -> KeyRing:
    if data_keys:
        if not index_key:
            raise KeyProblem("GRIDCASE_DATA_KEYS is set but GRIDCASE_INDEX_KEY is not (`gridcase keys new --index`)")
        return parse(data_keys, index_key)
    if keys_file:
        return _read_file(Path(keys_file))
    return _read_file(_default_file())


def key_ring() -> KeyRing:
    """Return the configured key ring (read again whenever the settings change)."""
    # Called for every value read or written: the settings as given are the cache key (resolving
    # the data folder's path would cost a system call per value).
    return _ring(os.environ.get("GRIDCASE_DATA_KEYS"), os.environ.get("GRIDCASE_INDEX_KEY"),
                 os.environ.get("GRIDCASE_KEYS_FILE"), os.environ.get("GRIDCASE_HOME"))


# Comparing a ciphertext with a freshly encrypted value never matches (each has its own nonce):
# a query must compare the blind index instead. Only IS [NOT] NULL is meaningful.
_ALLOWED = {operators.is_, operators.is_not}


class _Comparator(TypeDecorator.Comparator[Any]):
    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        if op not in _ALLOWED and not (op in (operators.eq, operators.ne) and other and other[0] is None):
            raise TypeError("an encrypted column cannot be compared in SQL: compare its blind index")
        return super().operate(op, *other, **kwargs)


class Encrypted(TypeDecorator[str]):
    """A text column stored encrypted; ``label`` ("table.column") is its associated data."""

    impl = Text
    cache_ok = True
    comparator_factory = _Comparator

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Encrypt under the current key."""
        return None if value is None else key_ring().encrypt(value, self.label)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        """Decrypt with whichever key of the ring it was encrypted under."""
        return None if value is None else key_ring().decrypt(value, self.label)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored encrypted as text; ``label`` ("table.column") is its associated data."""

    impl = Text
    cache_ok = True
    comparator_factory = _Comparator

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Serialise (keys in the order given) and encrypt."""
        if value is None:
            return None
        return key_ring().encrypt(json.dumps(value, ensure_ascii=False), self.label)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        """Decrypt and parse (a row from before encryption holds the JSON text itself)."""
        return None if value is None else json.loads(key_ring().decrypt(value, self.label))


def blind_index_column() -> String:
    """Return the type of a blind-index column (128 bits as hex)."""
    return String(32)


def blind(value: str | None, kind: str) -> str | None:
    """Return the blind index of ``value`` under the configured index key."""
    return key_ring().blind(value, kind)


def keep_blind_index(attribute: Any, index_name: str, kind: str) -> None:
    """Keep ``index_name`` of a mapped object equal to the blind index of ``attribute`` whenever it is set.

    Bulk inserts and updates with dictionaries bypass attribute events: they call ``blind`` themselves.
    """

    def _set(target: Any, value: str | None, _old: Any, _initiator: Any) -> None:
        setattr(target, index_name, blind(value, kind))

    event.listen(attribute, "set", _set)
    BLIND_INDEXES[(attribute.class_.__tablename__, attribute.key)] = (index_name, kind)


# ------------------------------------------------------------------------------------------
# Rewriting stored values under the current key (the migration and `gridcase keys rotate`)
# ------------------------------------------------------------------------------------------

# (table, column) → (blind-index column, kind), filled by keep_blind_index.
BLIND_INDEXES: dict[tuple[str, str], tuple[str, str]] = {}


@dataclass(frozen=True)
class Field:
    """An encrypted column: where it is, its label (associated data) and its blind index if any."""

    table: str
    column: str
    index: tuple[str, str] | None = None

    @property
    def label(self) -> str:
        """Return the associated data its values are encrypted with."""
        return f"{self.table}.{self.column}"


def encrypted_fields(metadata: MetaData) -> list[Field]:
    """Return every encrypted column of ``metadata``'s tables, with its blind index."""
    return [Field(table.name, column.name, BLIND_INDEXES.get((table.name, column.name)))
            for table in metadata.sorted_tables for column in table.columns
            if isinstance(column.type, Encrypted | EncryptedJSON)]


def rekey(connection: Connection, fields: list[Field], *, batch: int = 500,
          after_batch: Callable[[Field, int], None] | None = None) -> dict[str, int]:
    """Rewrite every value of ``fields`` not yet under the current key (plaintext included); return counts.

    Batches of ``batch`` rows by id; ``after_batch`` (the CLI commits there) is called after each.
    A row done is not selected again, so an interrupted run resumes where it stopped. A row
    changed by the application meanwhile is left alone (the UPDATE names the value it read):
    whatever the application wrote was encrypted under the current key anyway. Blind indexes
    of the rows rewritten, and any index left empty beside a value, are computed again.
    """
    ring = key_ring()
    done: dict[str, int] = {}
    for f in fields:
        cols: list[ColumnClause[Any]] = [column("id", Integer), column(f.column, Text)]
        if f.index:
            cols.append(column(f.index[0], String))
        t = table(f.table, *cols)
        value = t.c[f.column]
        stale = ~value.startswith(f"{PREFIX}{ring.current_id}:", autoescape=True)
        if f.index:
            stale = or_(stale, t.c[f.index[0]].is_(None))
        last, count = 0, 0
        while True:
            rows = connection.execute(select(t.c.id, value).where(t.c.id > last, value.is_not(None), stale)
                                      .order_by(t.c.id).limit(batch)).all()
            if not rows:
                break
            for row_id, stored in rows:
                plain = ring.decrypt(stored, f.label)
                values: dict[str, Any] = {f.column: ring.encrypt(plain, f.label)}
                if f.index:
                    values[f.index[0]] = ring.blind(plain, f.index[1])
                connection.execute(update(t).where(t.c.id == row_id, value == stored).values(values))
            count += len(rows)
            last = rows[-1][0]
            if after_batch is not None:
                after_batch(f, count)
        done[f.label] = count
    return done


def pending(connection: Connection, fields: list[Field]) -> dict[str, int]:
    """Count, per field, the values not yet under the current key."""
    ring = key_ring()
    counts: dict[str, int] = {}
    for f in fields:
        t = table(f.table, column("id", Integer), column(f.column, Text))
        value = t.c[f.column]
        counts[f.label] = int(connection.scalar(
            select(func.count()).select_from(t)
            .where(value.is_not(None), ~value.startswith(f"{PREFIX}{ring.current_id}:", autoescape=True))) or 0)
    return counts
