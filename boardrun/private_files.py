"""Folders and files only the server's user can open (0700 / 0600): DATA_DIR, the SQLite
database, local storage, executor logs and generated secrets hold other users' boards,
results and keys, and other accounts on the machine must not read them."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents as 0700 folders (Path.mkdir gives parents
    the default mode, whatever `mode` says)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:  # another thread or process made it first
            pass
    return path


def private_file(path: Path) -> Path:
    """Make sure `path` exists and only its owner can open it (an existing file of ours
    is tightened, e.g. a database created before this rule)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    if path.stat().st_mode & 0o077:
        os.chmod(path, FILE_MODE)
    return path


def replace_atomically(path: Path, data: bytes) -> None:
    """Write `path` as a new 0600 file beside it, then rename it into place: a reader sees the
    old content or the new one, never half of one."""
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
