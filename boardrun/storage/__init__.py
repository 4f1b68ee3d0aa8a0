"""Object storage behind one small interface: a local folder (embedded mode) or S3
(any S3-compatible service: AWS, MinIO, R2), chosen by STORAGE_URL.

Keys are relative, '/'-separated paths such as `apps/<app_id>/boards/<board_id>.json`.
"""

from __future__ import annotations

from boardrun import services
from boardrun.storage.base import Storage, StorageError, StorageNotFound, check_key


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
    """This process's storage (STORAGE_URL), from the services registry."""
    return services.current().storage


__all__ = ["Storage", "StorageError", "StorageNotFound", "check_key", "get_storage", "storage_from_url"]
