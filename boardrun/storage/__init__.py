"""Object storage behind one small interface: a local folder (embedded mode) or S3
(any S3-compatible service: AWS, MinIO, R2), chosen by STORAGE_URL.

Keys are relative, '/'-separated paths such as `apps/<app_id>/boards/<board_id>.json`.
"""

from __future__ import annotations

import threading

from boardrun.storage.base import Storage, StorageError, StorageNotFound, check_key

_lock = threading.Lock()
_storage: Storage | None = None


def storage_from_url(url: str, *, endpoint_url: str | None = None) -> Storage:
    if url.startswith("s3://"):
        from boardrun.storage.s3 import S3Storage

        bucket, _, prefix = url[len("s3://") :].partition("/")
        return S3Storage(bucket, prefix=prefix, endpoint_url=endpoint_url)
    if url.startswith("file://"):
        from boardrun.storage.local import LocalStorage

        return LocalStorage(url[len("file://") :])
    raise StorageError(f"unsupported STORAGE_URL {url!r}: use file:///path or s3://bucket[/prefix]")


def get_storage() -> Storage:
    global _storage
    if _storage is None:
        with _lock:
            if _storage is None:
                from boardrun.config import get_settings

                settings = get_settings()
                if not settings.storage_url:
                    from boardrun.config import ConfigError

                    raise ConfigError("STORAGE_URL is required when BOARDRUN_ENV=production")
                _storage = storage_from_url(settings.storage_url, endpoint_url=settings.s3_endpoint_url)
    return _storage


def reset_storage() -> None:
    global _storage
    with _lock:
        _storage = None


__all__ = ["Storage", "StorageError", "StorageNotFound", "check_key", "get_storage", "reset_storage", "storage_from_url"]
