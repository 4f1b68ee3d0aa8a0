"""App files for boards: Flow-Like's path struct mapped onto Boardrun's storage, confined per app and user.

A path on a pin is Flow-Like's ``FlowPath`` JSON: ``{"path": str, "store_ref": str, "cache_store_ref": null}``.
Here ``store_ref`` names one of the run's *scopes* and ``path`` is a '/'-separated key relative to
that scope's root ("" is the root itself):

====================  =========================  ===============================================
store_ref             made by                    where it lives (storage key prefix)
====================  =========================  ===============================================
``dirs__storage``     ``path_from_storage_dir``  ``apps/<app>/files/storage``
``dirs__upload``      ``path_from_upload_dir``   ``apps/<app>/files/upload``
``dirs__user``        ``path_from_user_dir``     ``apps/<app>/files/users/<user>``
``dirs__cache``       ``path_from_cache_dir``    ``apps/<app>/files/cache/global``
``dirs__cache_user``  ``path_from_cache_dir``    ``apps/<app>/files/cache/users/<user>``
``virtual_dir_<n>``   ``path_virtual_dir``       memory of this run only (gone when it ends)
====================  =========================  ===============================================

The app and user come from the run (the job's app and submitting user), never from the pin, so a
path a board forges can only name scopes of its own app and user; and every ``path`` is checked
before use (no '..', '.', empty segments, absolute paths, backslashes, NUL or control characters),
and in the local folder the resolved file must stay inside the scope's folder (a symlink pointing
out is refused).

The LanceDB and DataFusion nodes use :meth:`FileServices.locate` and :meth:`FileServices.uri` to
find where a path's data lives.
"""

from __future__ import annotations

import os
import re
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .errors import NodeError

if TYPE_CHECKING:
    from boardrun.config import EngineSettings
    from boardrun.storage.base import Storage

SCOPE_STORAGE = "dirs__storage"
SCOPE_UPLOAD = "dirs__upload"
SCOPE_USER = "dirs__user"
SCOPE_CACHE = "dirs__cache"
SCOPE_CACHE_USER = "dirs__cache_user"
VIRTUAL_PREFIX = "virtual_dir_"
EXTERNAL_PREFIX = "external_"
_USER_SCOPES = (SCOPE_USER, SCOPE_CACHE_USER)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._=-]{1,128}\Z")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FilesConfig:
    """Size caps of the file nodes.

    ``max_bytes``: the largest file a node reads into memory or writes (pins carry whole values).
    ``max_list``: the most entries one listing returns. ``virtual_max_bytes``: the total a run may
    keep in its virtual (in-memory) folders. ``allow_external_s3``: whether boards may open S3
    buckets, Azure Blob containers and Google Cloud Storage buckets of their own with credentials
    they supply (the External Directory nodes). ``azure_blob_url`` (with ``{account}``) and
    ``gcs_url``: where those services are (an operator points them at Azurite or an emulator).
    """

    max_bytes: int = 64 * 1024 * 1024
    max_list: int = 10_000
    virtual_max_bytes: int = 64 * 1024 * 1024
    allow_external_s3: bool = False
    azure_blob_url: str = "https://{account}.blob.core.windows.net"
    gcs_url: str = "https://storage.googleapis.com"

    @classmethod
    def from_settings(cls, engine: EngineSettings) -> "FilesConfig":
        """ENGINE_FILES_MAX_BYTES, ENGINE_FILES_MAX_LIST, ENGINE_FILES_VIRTUAL_MAX_BYTES,
        ENGINE_FILES_ALLOW_EXTERNAL_S3, ENGINE_FILES_AZURE_BLOB_URL and ENGINE_FILES_GCS_URL."""
        return cls(max_bytes=engine.files_max_bytes, max_list=engine.files_max_list,
                   virtual_max_bytes=engine.files_virtual_max_bytes, allow_external_s3=engine.files_allow_external_s3,
                   azure_blob_url=engine.files_azure_blob_url, gcs_url=engine.files_gcs_url)


@dataclass(frozen=True)
class Meta:
    size: int
    last_modified: datetime
    e_tag: str
    version: str


# -- path text ----------------------------------------------------------------------------------

def check_relative(path: str, what: str = "path") -> str:
    """``path`` without a trailing '/' (a folder, as listings give them) if it is a safe relative key
    ("" for the root); NodeError otherwise."""
    if not isinstance(path, str):
        raise NodeError(f"{what} must be a string")
    if path.endswith("/") and path != "/":
        path = path[:-1]
    if path == "":
        return path
    if path.startswith("/"):
        raise NodeError(f"{what} '{path}' is absolute: paths are relative to their folder")
    if "\\" in path:
        raise NodeError(f"{what} '{path}' contains a backslash: use '/' between folders")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise NodeError(f"{what} contains a NUL or control character")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise NodeError(f"{what} '{path}' has an empty, '.' or '..' segment: it may not leave its folder")
        if len(segment.encode("utf-8", "surrogatepass")) > 255:
            raise NodeError(f"{what} has a segment longer than 255 bytes")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise NodeError(f"{what} is not valid Unicode text") from None
    return path


def join(base: str, child: str) -> str:
    return f"{base}/{child}" if base and child else base or child


def flow_path(store_ref: str, path: str) -> dict[str, Any]:
    return {"path": path, "store_ref": store_ref, "cache_store_ref": None}


def parse_flow_path(value: Any, pin: str) -> tuple[str, str]:
    """(store_ref, relative path) of a FlowPath pin value, the path checked; NodeError when malformed."""
    if not isinstance(value, dict) or not isinstance(value.get("store_ref"), str) or not isinstance(
            value.get("path"), str):
        raise NodeError(f"input '{pin}' is not a path: expected an object with 'path' and 'store_ref' strings")
    return value["store_ref"], check_relative(value["path"], f"input '{pin}'")


def extension(path: str) -> str:
    """What follows the last '.' of the file name (also for '.profile'), as object_store reads it."""
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[1] if "." in name else ""


def with_path(value: dict[str, Any], new: str) -> dict[str, Any]:
    """``value`` (a FlowPath) with its path replaced by ``new``, which must still be safe."""
    check_relative(new, "the resulting path")
    return {**value, "path": new}


def with_extension(value: Any, ext: str, pin: str) -> dict[str, Any]:
    """The FlowPath ``value`` with its file name's extension replaced by ``ext`` (empty: removed)."""
    _, path = parse_flow_path(value, pin)
    old = extension(path)
    base = path[: -len(old) - 1] if old else path
    if not base.rsplit("/", 1)[-1]:
        raise NodeError("the path has no file name to give an extension")
    return with_path(value, f"{base}.{ext}" if ext else base)


def _digest(text: str) -> str:
    import hashlib  # its OpenSSL binding is slow to load: only runs that use files pay for it

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _digest_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.md5(data, usedforsecurity=False).hexdigest()  # an S3-like ETag, not a security check


def _segment_for_id(value: str) -> str:
    """An app or user id as one key segment: itself when it is plain, else a digest (never ambiguous)."""
    if _SAFE_ID.match(value) and value not in (".", "..") and not value.startswith("h-"):
        return value
    return "h-" + _digest(value)[:40]


# -- backends -----------------------------------------------------------------------------------

class _Backend(ABC):
    """Objects under one root; ``base`` is the scope's prefix, ``rel`` the checked path inside it.

    ``get``/``stream``/``copy_within`` raise _NotFound for a missing file; ``walk`` yields the
    scope-relative paths of every file under ``rel``.
    """

    @abstractmethod
    def get(self, base: str, rel: str, start: int | None = None, end: int | None = None) -> bytes: ...
    @abstractmethod
    def head(self, base: str, rel: str) -> Meta | None: ...
    @abstractmethod
    def put(self, base: str, rel: str, data: bytes) -> None: ...
    @abstractmethod
    def delete(self, base: str, rel: str) -> None: ...
    @abstractmethod
    def walk(self, base: str, rel: str) -> Iterator[str]: ...
    @abstractmethod
    def copy_within(self, base: str, src: str, dst_base: str, dst: str) -> None: ...
    @abstractmethod
    def stream(self, base: str, rel: str) -> Iterator[bytes]: ...


class _NotFound(Exception):
    pass


class _LocalBackend(_Backend):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def _fs(self, base: str, rel: str) -> Path:
        scope = os.path.realpath(self.root / base)
        target = self.root / base / rel if rel else self.root / base
        real = os.path.realpath(target)
        if real != scope and not real.startswith(scope + os.sep):
            raise NodeError(f"path '{rel}' resolves outside its folder (a symbolic link): refused")
        return Path(real)

    def get(self, base, rel, start=None, end=None):
        path = self._fs(base, rel)
        try:
            with open(path, "rb") as f:
                if start is None:
                    return f.read()
                f.seek(start)
                return f.read(max(0, end - start))  # type: ignore[operator]
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise _NotFound(rel) from None

    def stream(self, base, rel):
        path = self._fs(base, rel)
        try:
            f = open(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise _NotFound(rel) from None
        with f:
            while chunk := f.read(_CHUNK):
                yield chunk

    def head(self, base, rel):
        path = self._fs(base, rel)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not path.is_file():
            return None
        mtime = datetime.fromtimestamp(st.st_mtime, timezone.utc)
        # The same shape of tag as Flow-Like's local store (inode, mtime and size in hex).
        tag = f"{st.st_ino:x}-{int(st.st_mtime * 1_000_000):x}-{st.st_size:x}"
        return Meta(st.st_size, mtime, tag, "")

    def put(self, base, rel, data):
        path = self._fs(base, rel)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise NodeError(f"cannot write '{rel}': a parent of it is a file") from None
        self._fs(base, rel)  # a parent created above cannot be a link, but one found may be
        if path.is_dir():
            raise NodeError(f"cannot write '{rel}': it is a folder")
        from boardrun.private_files import replace_atomically

        replace_atomically(path, data)

    def delete(self, base, rel):
        path = self._fs(base, rel)
        if path.is_file():
            path.unlink()

    def walk(self, base, rel):
        top = self._fs(base, rel)
        scope = self._fs(base, "")
        if not top.is_dir():
            return
        for folder, dirs, files in os.walk(top):  # does not follow symlinked folders
            dirs.sort()
            for name in sorted(files):
                if name.startswith(".tmp-"):
                    continue
                full = Path(folder) / name
                if full.is_symlink():
                    continue  # a link is never part of a listing (reading one out of scope is refused)
                yield full.relative_to(scope).as_posix()

    def copy_within(self, base, src, dst_base, dst):
        source = self._fs(base, src)
        if not source.is_file():
            raise _NotFound(src)
        import shutil
        import tempfile

        target = self._fs(dst_base, dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._fs(dst_base, dst)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class _S3Backend(_Backend):
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def key(self, base: str, rel: str) -> str:
        return "/".join(p for p in (self.prefix, base, rel) if p)

    def _call(self, fn, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise _NotFound(kwargs.get("Key", "")) from None
            if code == "InvalidRange":
                return None
            raise NodeError(f"storage refused the request ({code or 'error'})") from None
        except BotoCoreError as exc:
            raise NodeError(f"storage is unreachable: {exc}") from None

    def get(self, base, rel, start=None, end=None):
        kwargs: dict[str, Any] = {"Key": self.key(base, rel)}
        if start is not None:
            if end <= start:  # type: ignore[operator]
                return b""
            kwargs["Range"] = f"bytes={start}-{end - 1}"  # type: ignore[operator]
        response = self._call(self.client.get_object, **kwargs)
        return b"" if response is None else response["Body"].read()

    def stream(self, base, rel):
        body = self._call(self.client.get_object, Key=self.key(base, rel))["Body"]
        try:
            while chunk := body.read(_CHUNK):
                yield chunk
        finally:
            body.close()

    def head(self, base, rel):
        if not rel and not base:
            return None
        try:
            meta = self._call(self.client.head_object, Key=self.key(base, rel))
        except _NotFound:
            return None
        return Meta(int(meta["ContentLength"]), meta["LastModified"], str(meta.get("ETag", "")).strip('"'),
                    str(meta.get("VersionId") or ""))

    def put(self, base, rel, data):
        self._call(self.client.put_object, Key=self.key(base, rel), Body=data)

    def delete(self, base, rel):
        self._call(self.client.delete_object, Key=self.key(base, rel))

    def walk(self, base, rel):
        scope = self.key(base, "")
        scope = scope + "/" if scope else ""
        prefix = self.key(base, rel)
        prefix = prefix + "/" if prefix else ""
        token = None
        while True:
            kwargs: dict[str, Any] = {"Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call(self.client.list_objects_v2, **kwargs)
            for obj in page.get("Contents", []):
                yield obj["Key"][len(scope):]
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def copy_within(self, base, src, dst_base, dst):
        self._call(self.client.copy_object, Key=self.key(dst_base, dst),
                   CopySource={"Bucket": self.bucket, "Key": self.key(base, src)})

    def sign(self, base: str, rel: str, method: str, seconds: int) -> str:
        operation = {"GET": "get_object", "PUT": "put_object", "DELETE": "delete_object",
                     "HEAD": "head_object"}.get(method)
        if operation is None:
            raise NodeError(f"cannot sign a {method} URL for one object: use GET, PUT, DELETE or HEAD")
        return self.client.generate_presigned_url(operation, Params={"Bucket": self.bucket, "Key": self.key(base, rel)},
                                                  ExpiresIn=seconds)


class _AzureBackend(_Backend):
    """A board's own Azure Blob container (an azure-storage-blob ContainerClient), keys under its prefix."""

    def __init__(self, container: Any) -> None:
        self.container = container

    def _call(self, fn, *args, **kwargs):
        from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

        try:
            return fn(*args, **kwargs)
        except ResourceNotFoundError as exc:
            if exc.error_code == "ContainerNotFound":
                raise NodeError(f"Azure Blob container '{self.container.container_name}' does not exist") from None
            raise _NotFound("") from None
        except HttpResponseError as exc:
            if exc.status_code == 416:
                return None
            # The code only: the SDK's message repeats the request URL, which carries a SAS token.
            code = getattr(exc.error_code, "value", exc.error_code) or exc.status_code
            raise NodeError(f"Azure Blob storage refused the request ({code})") from None
        except AzureError:
            raise NodeError(f"Azure Blob storage at '{self.container.primary_hostname}' is unreachable") from None

    def get(self, base, rel, start=None, end=None):
        if start is not None and end <= start:  # type: ignore[operator]
            return b""
        length = None if start is None else end - start  # type: ignore[operator]
        found = self._call(self.container.download_blob, join(base, rel), offset=start, length=length)
        return b"" if found is None else self._call(found.readall)

    def stream(self, base, rel):
        found = self._call(self.container.download_blob, join(base, rel))
        chunks = found.chunks()
        while (chunk := self._call(next, chunks, None)) is not None:
            yield chunk

    def head(self, base, rel):
        try:
            props = self._call(self.container.get_blob_client(join(base, rel)).get_blob_properties)
        except _NotFound:
            return None
        return Meta(int(props.size), props.last_modified, str(props.etag or "").strip('"'), str(props.version_id or ""))

    def put(self, base, rel, data):
        self._call(self.container.upload_blob, join(base, rel), data, overwrite=True)

    def delete(self, base, rel):
        try:
            self._call(self.container.delete_blob, join(base, rel))
        except _NotFound:
            pass

    def walk(self, base, rel):
        scope = join(base, "") + "/"
        names = self._call(self.container.list_blob_names, name_starts_with=join(base, rel) + "/")
        while (name := self._call(next, names, None)) is not None:
            yield name[len(scope):]

    def copy_within(self, base, src, dst_base, dst):
        source = self.container.get_blob_client(join(base, src)).url  # carries the SAS token, if any
        copy = self._call(self.container.get_blob_client(join(dst_base, dst)).start_copy_from_url, source,
                          requires_sync=True)
        if copy.get("copy_status") != "success":
            raise NodeError(f"Azure Blob storage did not finish copying '{src}'")


class _GcsBackend(_Backend):
    """A board's own Google Cloud Storage bucket (a google-cloud-storage Bucket), keys under its prefix.

    Every call passes the egress timeouts and no retry: the library's default retries a dead
    endpoint for two minutes.
    """

    def __init__(self, bucket: Any, timeout: tuple[float, float]) -> None:
        self.bucket = bucket
        self.timeout = timeout

    def _call(self, fn, *args, **kwargs):
        return self._guard(fn, *args, timeout=self.timeout, retry=None, **kwargs)

    def _guard(self, fn, *args, **kwargs):
        from google.api_core.exceptions import GoogleAPICallError, NotFound
        from google.auth.exceptions import GoogleAuthError
        from requests.exceptions import RequestException

        try:
            return fn(*args, **kwargs)
        except NotFound:
            self._check_bucket()
            raise _NotFound("") from None
        except GoogleAPICallError as exc:
            if exc.code == 416:
                return None
            raise NodeError(f"Google Cloud Storage refused the request ({exc.code})") from None
        except (GoogleAuthError, RequestException):
            raise NodeError("Google Cloud Storage is unreachable or refused the service account key") from None

    def _check_bucket(self) -> None:
        """A missing bucket answers 404 like a missing object: tell them apart by listing it (the
        permission to read objects includes listing them, not reading the bucket's metadata)."""
        from google.api_core.exceptions import GoogleAPICallError, NotFound

        try:
            next(iter(self.bucket.list_blobs(max_results=1, timeout=self.timeout, retry=None)), None)
        except NotFound:
            raise NodeError(f"Google Cloud Storage bucket '{self.bucket.name}' does not exist") from None
        except GoogleAPICallError:
            pass  # the bucket may exist but not be listable: report the object as missing

    def get(self, base, rel, start=None, end=None):
        if start is not None and end <= start:  # type: ignore[operator]
            return b""
        data = self._call(self.bucket.blob(join(base, rel)).download_as_bytes, start=start,
                          end=None if end is None else end - 1)
        return b"" if data is None else data

    def stream(self, base, rel):
        offset = 0
        while chunk := self.get(base, rel, offset, offset + _CHUNK):  # ranged reads: one chunk in memory
            yield chunk
            if len(chunk) < _CHUNK:
                return
            offset += len(chunk)

    def head(self, base, rel):
        blob = self._call(self.bucket.get_blob, join(base, rel))
        if blob is None:  # the library turns a 404 into None
            self._check_bucket()
            return None
        return Meta(int(blob.size or 0), blob.updated, str(blob.etag or ""), str(blob.generation or ""))

    def put(self, base, rel, data):
        self._call(self.bucket.blob(join(base, rel)).upload_from_string, data)

    def delete(self, base, rel):
        try:
            self._call(self.bucket.delete_blob, join(base, rel))
        except _NotFound:
            pass

    def walk(self, base, rel):
        scope = join(base, "") + "/"
        blobs = iter(self._call(self.bucket.list_blobs, prefix=join(base, rel) + "/"))
        while (blob := self._guard(next, blobs, None)) is not None:  # pages are fetched while iterating
            yield blob.name[len(scope):]

    def copy_within(self, base, src, dst_base, dst):
        self._call(self.bucket.copy_blob, self.bucket.blob(join(base, src)), self.bucket, join(dst_base, dst))


def s3_backend(client: Any, bucket: str) -> _Backend:
    """A board's own S3 bucket, for :meth:`FileServices.add_external`."""
    return _S3Backend(client, bucket)


def azure_backend(container: Any) -> _Backend:
    """A board's own Azure Blob container (a ContainerClient), for :meth:`FileServices.add_external`."""
    return _AzureBackend(container)


def gcs_backend(bucket: Any, timeout: tuple[float, float]) -> _Backend:
    """A board's own Google Cloud Storage bucket, for :meth:`FileServices.add_external`."""
    return _GcsBackend(bucket, timeout)


class _MemoryBackend(_Backend):
    """A run's virtual folders: objects in memory, capped in total, dropped when the run ends."""

    def __init__(self, limit: int) -> None:
        self.objects: dict[str, tuple[bytes, datetime]] = {}
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()  # parallel bodies may write at once

    def get(self, base, rel, start=None, end=None):
        item = self.objects.get(join(base, rel))
        if item is None:
            raise _NotFound(rel)
        return item[0] if start is None else item[0][start:end]

    def stream(self, base, rel):
        yield self.get(base, rel)

    def head(self, base, rel):
        key = join(base, rel)
        item = self.objects.get(key)
        if item is None:
            return None
        return Meta(len(item[0]), item[1], _digest_bytes(item[0]), "")

    def put(self, base, rel, data):
        key = join(base, rel)
        with self._lock:
            old = len(self.objects.get(key, (b"",))[0])
            if self.used - old + len(data) > self.limit:
                raise NodeError(f"the run's virtual folders would exceed {self.limit} bytes "
                                "(ENGINE_FILES_VIRTUAL_MAX_BYTES)")
            self.objects[key] = (bytes(data), datetime.now(timezone.utc))
            self.used += len(data) - old

    def delete(self, base, rel):
        with self._lock:
            item = self.objects.pop(join(base, rel), None)
            if item is not None:
                self.used -= len(item[0])

    def walk(self, base, rel):
        scope = base + "/"
        prefix = join(base, rel) + "/"
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield key[len(scope):]

    def copy_within(self, base, src, dst_base, dst):
        self.put(dst_base, dst, self.get(base, src))


# -- the service a run uses -----------------------------------------------------------------------

@dataclass(frozen=True)
class Location:
    """Where one FlowPath points: a backend, the scope's prefix and the checked path inside it."""

    backend: _Backend
    store_ref: str
    base: str
    rel: str

    def with_rel(self, rel: str) -> "Location":
        return Location(self.backend, self.store_ref, self.base, rel)

    @property
    def key(self) -> str:
        """The storage key (relative to the storage root) of this path; memory paths have none."""
        return join(self.base, self.rel)


class FileServices:
    """One run's view of its app's files. Build with :meth:`from_storage` or :meth:`local`."""

    def __init__(self, backend: _Backend, app_id: str, user_id: str | None, config: FilesConfig | None = None) -> None:
        if not isinstance(app_id, str) or not app_id:
            raise ValueError("FileServices needs an app id")
        self.backend = backend
        self.app_id = app_id
        self.user_id = user_id
        self.config = config or FilesConfig()
        self._app = f"apps/{_segment_for_id(app_id)}/files"
        self._user = _segment_for_id(user_id) if user_id else None
        self._memory: _MemoryBackend | None = None
        self._external: dict[str, tuple[_Backend, str]] = {}

    @classmethod
    def from_storage(cls, storage: "Storage", app_id: str, user_id: str | None,
                     config: FilesConfig | None = None) -> "FileServices":
        """On Boardrun's configured storage (its local folder, or its S3 bucket and prefix)."""
        from boardrun.storage.local import LocalStorage
        from boardrun.storage.s3 import S3Storage

        if isinstance(storage, LocalStorage):
            backend: _Backend = _LocalBackend(storage.root)
        elif isinstance(storage, S3Storage):
            backend = _S3Backend(storage.client, storage.bucket, storage.prefix)
        else:
            raise ValueError(f"no file service for storage {type(storage).__name__}")
        return cls(backend, app_id, user_id, config)

    @classmethod
    def local(cls, root: str | os.PathLike[str], app_id: str, user_id: str | None,
              config: FilesConfig | None = None) -> "FileServices":
        return cls(_LocalBackend(root), app_id, user_id, config)

    # -- scopes -------------------------------------------------------------------------------
    def _scope_base(self, store_ref: str) -> str:
        if store_ref in _USER_SCOPES and self._user is None:
            raise NodeError("this run has no user, so it has no user folder")
        bases = {
            SCOPE_STORAGE: f"{self._app}/storage",
            SCOPE_UPLOAD: f"{self._app}/upload",
            SCOPE_CACHE: f"{self._app}/cache/global",
            SCOPE_USER: f"{self._app}/users/{self._user}",
            SCOPE_CACHE_USER: f"{self._app}/cache/users/{self._user}",
        }
        base = bases.get(store_ref)
        if base is None:
            raise NodeError(f"unknown store '{store_ref}': paths come from the Directories nodes")
        return base

    def dir(self, store_ref: str, node_id: str | None = None) -> dict[str, Any]:
        """A FlowPath to a scope's root (or a node's own sub-folder of it)."""
        self._scope_base(store_ref)
        return flow_path(store_ref, check_relative(node_id, "node id") if node_id else "")

    def virtual_dir(self, name: str) -> dict[str, Any]:
        if not isinstance(name, str):
            raise NodeError("the virtual folder's name must be a string")
        return flow_path(VIRTUAL_PREFIX + name, "")

    def add_external(self, kind: str, backend: _Backend, prefix: str) -> dict[str, Any]:
        """Register a bucket or container a board opened with its own credentials (``backend`` from
        :func:`s3_backend`, :func:`azure_backend` or :func:`gcs_backend`); returns a FlowPath to its prefix.

        The store lives only in this run (its credentials never reach a pin: the FlowPath names it
        by a random id), and paths stay inside ``prefix``.
        """
        import uuid

        if not self.config.allow_external_s3:
            raise NodeError("external stores are disabled on this server (ENGINE_FILES_ALLOW_EXTERNAL_S3)")
        store_ref = f"{EXTERNAL_PREFIX}{kind}_{uuid.uuid4().hex}"
        self._external[store_ref] = (backend, check_relative(prefix, "input 'prefix'"))
        return flow_path(store_ref, "")

    def locate(self, value: Any, pin: str) -> Location:
        """Where the FlowPath ``value`` (read from input ``pin``) points; NodeError for anything unsafe."""
        store_ref, rel = parse_flow_path(value, pin)
        if store_ref.startswith(EXTERNAL_PREFIX):
            found = self._external.get(store_ref)
            if found is None:
                raise NodeError(f"no external store '{store_ref}' in this run (stores live only in the run that opened them)")
            return Location(found[0], store_ref, found[1], rel)
        if store_ref.startswith(VIRTUAL_PREFIX):
            if self._memory is None:
                self._memory = _MemoryBackend(self.config.virtual_max_bytes)
            # every virtual folder of a run shares one capped memory store, each under its own name
            name = _digest(store_ref)[:32]
            return Location(self._memory, store_ref, name, rel)
        return Location(self.backend, store_ref, self._scope_base(store_ref), rel)

    def for_run(self) -> "FileServices":
        """The same folders with virtual folders of their own: each run starts with none."""
        return FileServices(self.backend, self.app_id, self.user_id, self.config)  # no virtual or external stores

    # -- operations ---------------------------------------------------------------------------
    def _cap(self, size: int, loc: Location) -> None:
        if size > self.config.max_bytes:
            raise NodeError(f"'{loc.rel}' is {size} bytes, more than the {self.config.max_bytes} a node may "
                            "read or write (ENGINE_FILES_MAX_BYTES)")

    def _need_file(self, loc: Location) -> None:
        if not loc.rel:
            raise NodeError("the path is a folder root, not a file")

    def head(self, loc: Location) -> Meta | None:
        return loc.backend.head(loc.base, loc.rel) if loc.rel else None

    def exists(self, loc: Location) -> bool:
        return self.head(loc) is not None

    def read(self, loc: Location) -> bytes:
        self._need_file(loc)
        meta = self.head(loc)
        if meta is None:
            raise NodeError(f"file not found: '{loc.rel}'")
        self._cap(meta.size, loc)
        try:
            data = loc.backend.get(loc.base, loc.rel)
        except _NotFound:
            raise NodeError(f"file not found: '{loc.rel}'") from None
        self._cap(len(data), loc)  # it may have grown since the head
        return data

    def read_range(self, loc: Location, start: int, end: int) -> bytes:
        self._need_file(loc)
        if start < 0 or end < start:
            raise NodeError(f"invalid range {start}..{end}: need 0 <= from <= to")
        meta = self.head(loc)
        if meta is None:
            raise NodeError(f"file not found: '{loc.rel}'")
        if start > meta.size:
            raise NodeError(f"range {start}..{end} starts past the end of '{loc.rel}' ({meta.size} bytes)")
        end = min(end, meta.size)
        self._cap(end - start, loc)
        try:
            return loc.backend.get(loc.base, loc.rel, start, end)
        except _NotFound:
            raise NodeError(f"file not found: '{loc.rel}'") from None

    def chunks(self, loc: Location) -> Iterator[bytes]:
        """The file's bytes in chunks, without a size cap (for hashing and streaming readers)."""
        self._need_file(loc)
        try:
            yield from loc.backend.stream(loc.base, loc.rel)
        except _NotFound:
            raise NodeError(f"file not found: '{loc.rel}'") from None

    def write(self, loc: Location, data: bytes) -> None:
        self._need_file(loc)
        self._cap(len(data), loc)
        loc.backend.put(loc.base, loc.rel, data)

    def list(self, loc: Location, recursive: bool = True) -> list[str]:
        """Paths (relative to the scope) of the files under ``loc``, sorted; only direct ones unless recursive."""
        found: list[str] = []
        depth = loc.rel.count("/") + 1 if loc.rel else 0
        for rel in loc.backend.walk(loc.base, loc.rel):
            if not recursive and rel.count("/") != depth:
                continue
            found.append(rel)
            if len(found) > self.config.max_list:
                raise NodeError(f"more than {self.config.max_list} files under '{loc.rel}' (ENGINE_FILES_MAX_LIST)")
        return sorted(found)

    def list_folders(self, loc: Location, recursive: bool = True) -> list[str]:
        """Folders (as 'a/b/', relative to the scope) holding files under ``loc``, sorted."""
        folders: set[str] = set()
        start = len(loc.rel) + 1 if loc.rel else 0
        for rel in loc.backend.walk(loc.base, loc.rel):
            parts = rel[start:].split("/")[:-1]
            for i in range(len(parts) if recursive else min(1, len(parts))):
                folders.add(join(loc.rel, "/".join(parts[: i + 1])) + "/")
            if len(folders) > self.config.max_list:
                raise NodeError(f"more than {self.config.max_list} folders under '{loc.rel}' (ENGINE_FILES_MAX_LIST)")
        return sorted(folders)

    def delete(self, loc: Location, recursive: bool = False) -> int:
        """Delete the file (or every file under the folder, when recursive); returns how many."""
        if recursive:
            keys = self.list(loc, recursive=True)
            for rel in keys:
                loc.backend.delete(loc.base, rel)
            if loc.rel and self.exists(loc):
                loc.backend.delete(loc.base, loc.rel)
                return len(keys) + 1
            return len(keys)
        self._need_file(loc)
        loc.backend.delete(loc.base, loc.rel)
        return 1

    def copy(self, src: Location, dst: Location) -> None:
        self._need_file(src)
        self._need_file(dst)
        if self.head(src) is None:
            raise NodeError(f"file not found: '{src.rel}'")
        if src.backend is dst.backend:
            try:
                src.backend.copy_within(src.base, src.rel, dst.base, dst.rel)
            except _NotFound:
                raise NodeError(f"file not found: '{src.rel}'") from None
            return
        self.write(dst, self.read(src))

    def rename(self, src: Location, dst: Location, overwrite: bool) -> None:
        if not overwrite and self.exists(dst):
            raise NodeError(f"cannot rename to '{dst.rel}': it exists and overwrite is off")
        if (src.backend, src.base, src.rel) == (dst.backend, dst.base, dst.rel):
            return
        self.copy(src, dst)
        src.backend.delete(src.base, src.rel)

    def sign_url(self, loc: Location, method: str, seconds: int) -> str:
        self._need_file(loc)
        if not isinstance(loc.backend, _S3Backend):
            raise NodeError("signed URLs need S3 storage: this store is a local folder or in memory")
        if not 1 <= seconds <= 7 * 24 * 3600:
            raise NodeError("expiration must be between 1 second and 7 days")
        return loc.backend.sign(loc.base, loc.rel, method, seconds)

    def uri(self, loc: Location) -> str:
        """Where a library (LanceDB, DataFusion) can open the path: a local file path or an s3:// URL."""
        backend = loc.backend
        if isinstance(backend, _LocalBackend):
            return str(backend._fs(loc.base, loc.rel))
        if isinstance(backend, _S3Backend):
            return f"s3://{backend.bucket}/{backend.key(loc.base, loc.rel)}"
        raise NodeError("a virtual (in-memory) folder cannot be opened by this node: use a storage folder")

    def storage_options(self, loc: Location) -> dict[str, str]:
        """Object-store settings for :meth:`uri` (the ``storage_options`` LanceDB and DataFusion take):
        none for a local path; the S3 client's endpoint, region and credentials for an s3:// URL."""
        backend = loc.backend
        if not isinstance(backend, _S3Backend):
            return {}
        meta = backend.client.meta
        options = {"region": meta.region_name or "us-east-1"}
        endpoint = meta.endpoint_url
        if endpoint and not re.match(r"^https://s3[.-]([a-z0-9-]+[.])?amazonaws[.]com", endpoint):
            options["endpoint"] = endpoint  # a MinIO/R2/moto endpoint, not AWS's own
            options["allow_http"] = "true" if endpoint.startswith("http://") else "false"
        credentials = backend.client._request_signer._credentials  # botocore keeps no public accessor
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            options["aws_access_key_id"] = frozen.access_key
            options["aws_secret_access_key"] = frozen.secret_key
            if frozen.token:
                options["aws_session_token"] = frozen.token
        return options
