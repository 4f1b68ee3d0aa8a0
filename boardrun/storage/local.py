"""Storage in a local folder (embedded mode)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from boardrun.private_files import private_dir, replace_atomically
from boardrun.storage.base import Storage, StorageError, StorageNotFound, check_key


class LocalStorage(Storage):
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        private_dir(path.parent)
        replace_atomically(path, data)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise StorageNotFound(key) from None

    def size(self, key: str) -> int:
        try:
            path = self._path(key)
            if path.is_dir():
                raise StorageNotFound(key)
            return path.stat().st_size
        except FileNotFoundError:
            raise StorageNotFound(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        folder = self._path(prefix)
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        return count

    def list(self, prefix: str) -> list[str]:
        folder = self._path(prefix)
        if not folder.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )

    def check(self) -> None:
        try:
            private_dir(self.root)
            probe = self.root / ".ready-probe"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise StorageError(f"storage folder {self.root} is not writable: {exc}") from exc
