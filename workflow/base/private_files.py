"""The data folder and what gridcase writes in it stay readable by its own user only.

The folder holds the SQLite database, the demo passwords and tokens, the SMS sink with full
phone numbers and the residents' photos: 0700 for folders, 0600 for files, whatever the
process's umask says.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) if need be and make the folder itself 0700; return it."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist, or make it 0600; return it.

    An empty file is a valid new SQLite database: creating it first gives the database (and
    the journal files SQLite makes with the database's mode) 0600 from the start.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    os.close(fd)
    path.chmod(PRIVATE_FILE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file created (or truncated) with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    path.chmod(PRIVATE_FILE)


def append_private(path: Path, text: str) -> None:
    """Append ``text`` (UTF-8) to a file created with mode 0600 if it is new."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(text)


def lock_down(root: Path) -> None:
    """Make ``root`` and every folder under it 0700 and every file 0600 (a folder left by an older version)."""
    private_dir(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            (Path(folder) / name).chmod(PRIVATE_DIR)
        for name in files:
            target = Path(folder) / name
            if not target.is_symlink():
                target.chmod(PRIVATE_FILE)
