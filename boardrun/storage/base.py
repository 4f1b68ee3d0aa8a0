"""The storage interface every backend implements."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

_SEGMENT = re.compile(r"[A-Za-z0-9._=-]+")


class StorageError(Exception):
    """The backend failed (unreachable, misconfigured, refused)."""


class StorageNotFound(StorageError):
    """No object at that key."""


def check_key(key: str) -> str:
    """Refuse keys that could escape the store's root ('..', absolute, odd characters)."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or not _SEGMENT.fullmatch(p) for p in parts):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class Storage(ABC):
    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store `data` at `key`, replacing any object there; readers never see a partial write."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; StorageNotFound if there is none."""

    @abstractmethod
    def size(self, key: str) -> int:
        """The object's length in bytes, without reading it; StorageNotFound if there is none."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with `prefix` + '/'; returns how many."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys under `prefix` + '/', sorted."""

    @abstractmethod
    def check(self) -> None:
        """Raise StorageError unless the backend can be read and written now (readiness)."""
