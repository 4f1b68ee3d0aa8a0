"""Data/Files: the app's folders, file contents and operations, and path text (see engine/files.py).

Every path is a FlowPath confined to one of the run's folders; the operations go through
``ctx.files``, which refuses anything that would leave the folder. The path-text nodes only
rewrite the ``path`` string, and check that the result is still a safe relative path.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, Any

from ...coerce import as_bool, as_int, as_list, as_str
from ...errors import NodeError
from ...files import extension as path_extension
from ...files import (SCOPE_CACHE, SCOPE_CACHE_USER, SCOPE_STORAGE, SCOPE_UPLOAD, SCOPE_USER, azure_backend,
                      flow_path, gcs_backend, join, parse_flow_path, s3_backend, with_extension, with_path)
from ...registry import inp, out, register
from ..utils._collections import check_length
from ..utils.datetime import Instant

if TYPE_CHECKING:
    from ...files import Location
    from ...runtime import NodeContext

_CAT = "Data/Files"
_SIGN_METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD"]


def _path_in(name: str = "path", friendly: str = "Path", description: str = "A path in one of the app's folders.",
             **kw: Any):
    return inp(name, friendly, "Struct", options={"enforce_schema": True}, schema="FlowPath",
               description=description, **kw)


def _path_out(name: str = "path", friendly: str = "Path", description: str = "The path."):
    return out(name, friendly, "Struct", schema="FlowPath", description=description)


def _exec_in(friendly: str = "Input"):
    return inp("exec_in", friendly, "Execution", description="Run the node.")


def _exec_out(friendly: str = "Output", name: str = "exec_out"):
    return out(name, friendly, "Execution", description="Fires when the node is done.")


def _locate(ctx: NodeContext, pin: str) -> Location:
    return ctx.files.locate(ctx.get(pin), pin)


def byte_array(ctx: NodeContext, data: bytes) -> list[int]:
    """Bytes as a Byte array pin value, within the run's array length limit (one element per byte)."""
    check_length(ctx, len(data))
    return list(data)


def as_bytes(value: Any, pin: str) -> bytes:
    """A Byte array pin's value (integers 0..255) as bytes."""
    items = as_list(value, pin)
    if not all(type(b) is int and 0 <= b <= 255 for b in items):
        raise NodeError(f"input '{pin}' must be an array of bytes (integers 0 to 255)")
    return bytes(items)


# -- Directories ----------------------------------------------------------------------------------

_SCOPE_IN = inp("node_scope", "Node Scope", "Boolean", default=False,
                description="Use this node's own sub-folder (named by its id).")


def _dir(ctx: NodeContext, scope: str) -> None:
    node_scope = as_bool(ctx.get("node_scope"), "node_scope") if ctx.has_input("node_scope") else False
    ctx.set("path", ctx.files.dir(scope, ctx.node_id if node_scope else None))


@register("path_from_storage_dir", "Storage Dir", f"{_CAT}/Directories",
          "The app's storage folder, shared by every run and user of the app.",
          [_path_out(description="The folder's root."), _SCOPE_IN])
def path_from_storage_dir(ctx: NodeContext) -> None:
    _dir(ctx, SCOPE_STORAGE)


@register("path_from_user_dir", "User Dir", f"{_CAT}/Directories",
          "The folder of the user the run executes for, inside this app.",
          [_path_out(description="The folder's root."), _SCOPE_IN])
def path_from_user_dir(ctx: NodeContext) -> None:
    _dir(ctx, SCOPE_USER)


@register("path_from_upload_dir", "Upload Dir", f"{_CAT}/Directories", "The app's upload folder.",
          [_path_out(description="The folder's root.")])
def path_from_upload_dir(ctx: NodeContext) -> None:
    _dir(ctx, SCOPE_UPLOAD)


@register("path_from_cache_dir", "Cache Dir", f"{_CAT}/Directories",
          "The app's cache folder, shared or for the run's user; for data that can be rebuilt.",
          [_path_out(description="The folder's root."), _SCOPE_IN,
           inp("user_scope", "User Scope", "Boolean", default=False, description="Use the user's own cache folder.")])
def path_from_cache_dir(ctx: NodeContext) -> None:
    _dir(ctx, SCOPE_CACHE_USER if as_bool(ctx.get("user_scope"), "user_scope") else SCOPE_CACHE)


@register("path_virtual_dir", "Virtual Dir", f"{_CAT}/Directories",
          "An in-memory folder of this run, by name; its files are gone when the run ends.",
          [inp("name", "Name", "String", default="/virtual", description="Runs' nodes using one name share a folder."),
           _path_out(description="The folder's root.")])
def path_virtual_dir(ctx: NodeContext) -> None:
    ctx.set("path", ctx.files.virtual_dir(as_str(ctx.get("name"), "name")))


# -- Content ---------------------------------------------------------------------------------------

@register("read_to_string", "Read to String", f"{_CAT}/Content",
          "Reads a whole file as UTF-8 text (invalid sequences become U+FFFD).",
          [_exec_in(), _path_in(), _exec_out(), out("content", "Content", "String", description="The text.")])
def read_to_string(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("content", ctx.files.read(_locate(ctx, "path")).decode("utf-8", "replace"))
    ctx.activate("exec_out")


@register("read_to_bytes", "Read to Bytes", f"{_CAT}/Content", "Reads a whole file as bytes.",
          [_exec_in(), _path_in(), _exec_out(), out("content", "Content", "Byte", "Array", description="The bytes.")])
def read_to_bytes(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("content", byte_array(ctx, ctx.files.read(_locate(ctx, "path"))))
    ctx.activate("exec_out")


@register("write_string", "Write String", f"{_CAT}/Content", "Writes text to a file as UTF-8, replacing it.",
          [_exec_in(), _path_in(), inp("content", "Content", "String", description="The text."), _exec_out()])
def write_string(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    loc = _locate(ctx, "path")
    try:
        data = as_str(ctx.get("content"), "content").encode("utf-8")
    except UnicodeEncodeError:
        raise NodeError("input 'content' is not valid Unicode text") from None
    ctx.files.write(loc, data)
    ctx.activate("exec_out")


@register("write_bytes", "Write Bytes", f"{_CAT}/Content", "Writes bytes to a file, replacing it.",
          [_exec_in(), _path_in(), inp("content", "Content", "Byte", "Array", description="The bytes."), _exec_out()])
def write_bytes(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    loc = _locate(ctx, "path")
    ctx.files.write(loc, as_bytes(ctx.get("content"), "content"))
    ctx.activate("exec_out")


# -- Operations ------------------------------------------------------------------------------------

@register("path_exists", "Path Exists?", f"{_CAT}/Operations", "Follows Yes when a file is at the path, else No.",
          [_exec_in(), _path_in(), _exec_out("Yes", "exec_out_exists"), _exec_out("No", "exec_out_missing")])
def path_exists(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out_exists")
    ctx.deactivate("exec_out_missing")
    ctx.activate("exec_out_exists" if ctx.files.exists(_locate(ctx, "path")) else "exec_out_missing")


@register("path_get", "Get", f"{_CAT}/Operations", "Reads a whole file as bytes.",
          [_exec_in(), _path_in(), _exec_out(), out("bytes", "Bytes", "Byte", "Array", description="The bytes.")])
def path_get(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("bytes", byte_array(ctx, ctx.files.read(_locate(ctx, "path"))))
    ctx.activate("exec_out")


@register("path_put", "Put", f"{_CAT}/Operations", "Writes bytes to a file, replacing it.",
          [_exec_in(), _path_in(), inp("bytes", "Bytes", "Byte", "Array", description="The bytes."), _exec_out()])
def path_put(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    loc = _locate(ctx, "path")
    ctx.files.write(loc, as_bytes(ctx.get("bytes"), "bytes"))
    ctx.activate("exec_out")


@register("path_get_range", "Get Range", f"{_CAT}/Operations",
          "Reads the bytes from offset From up to (not including) To; a range past the end is cut short.",
          [_exec_in(), _path_in(), inp("from", "From", "Integer", description="First byte offset."),
           inp("to", "To", "Integer", description="End offset (exclusive)."), _exec_out(),
           out("bytes", "Bytes", "Byte", "Array", description="The bytes of the range.")])
def path_get_range(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    loc = _locate(ctx, "path")
    start, end = as_int(ctx.get("from"), "from"), as_int(ctx.get("to"), "to")
    ctx.set("bytes", byte_array(ctx, ctx.files.read_range(loc, start, end)))
    ctx.activate("exec_out")


@register("path_hash_file", "Hash File", f"{_CAT}/Operations",
          "BLAKE3 digest of the file's content as hex, read in chunks (any size).",
          [_exec_in(), _path_in(), _exec_out(), out("hash", "Hash", "String", description="64 hex digits.")])
def path_hash_file(ctx: NodeContext) -> None:
    import blake3  # compiled extension: loaded only by boards that hash

    ctx.deactivate("exec_out")
    loc = _locate(ctx, "path")
    if not ctx.files.exists(loc):
        raise NodeError(f"file not found: '{loc.rel}'")
    hasher = blake3.blake3()
    for chunk in ctx.files.chunks(loc):
        ctx.checkpoint()  # a large file must not outlive the run's deadline or a cancel
        hasher.update(chunk)
    ctx.set("hash", hasher.hexdigest())
    ctx.activate("exec_out")


@register("path_head", "Head", f"{_CAT}/Operations", "The file's metadata, without reading it.",
          [_exec_in(), _path_in(), _exec_out(),
           out("e_tag", "ETag", "String", description="The store's tag of this version of the file."),
           out("last_modified", "Last Modified", "Date", description="When it was last written (UTC)."),
           out("size", "Size", "Integer", description="Size in bytes."),
           out("version", "Version", "String", description="The store's version id, or empty.")])
def path_head(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    loc = _locate(ctx, "path")
    meta = ctx.files.head(loc)
    if meta is None:
        raise NodeError(f"file not found: '{loc.rel}'")
    ctx.set("e_tag", meta.e_tag)
    ctx.set("last_modified", Instant.of(meta.last_modified).text())
    ctx.set("size", meta.size)
    ctx.set("version", meta.version)
    ctx.activate("exec_out")


def _listing(ctx: NodeContext, rels: list[str], pin: str) -> list[dict[str, Any]]:
    store_ref, _ = parse_flow_path(ctx.get(pin), pin)
    return [flow_path(store_ref, rel) for rel in rels]


_RECURSIVE_IN = inp("recursive", "Recursive", "Boolean", default=True, description="Include sub-folders.")
_PREFIX_IN = _path_in("prefix", "Prefix", "The folder to list.")


@register("path_list_paths", "List Paths", f"{_CAT}/Operations", "The files in a folder, sorted by path.",
          [_exec_in(), _PREFIX_IN, _RECURSIVE_IN, _exec_out(),
           out("paths", "Paths", "Struct", "Array", schema="FlowPath", description="One path per file.")])
def path_list_paths(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    loc = _locate(ctx, "prefix")
    rels = ctx.files.list(loc, as_bool(ctx.get("recursive"), "recursive"))
    ctx.set("paths", _listing(ctx, rels, "prefix"))
    ctx.activate("exec_out")


@register("path_list_folders", "List Folders", f"{_CAT}/Operations",
          "The folders holding files in a folder (each ending in '/'), sorted.",
          [_exec_in(), _PREFIX_IN, _RECURSIVE_IN, _exec_out(),
           out("folders", "Folders", "Struct", "Array", schema="FlowPath", description="One path per folder.")])
def path_list_folders(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    loc = _locate(ctx, "prefix")
    rels = ctx.files.list_folders(loc, as_bool(ctx.get("recursive"), "recursive"))
    # folder paths end in '/' as in Flow-Like; the trailing slash is dropped when one is used
    ctx.set("folders", _listing(ctx, rels, "prefix"))
    ctx.activate("exec_out")


@register("path_list_with_offset", "List With Offset", f"{_CAT}/Operations",
          "The files in a folder (recursively) whose path sorts after the Offset path: for paging.",
          [_exec_in(), _PREFIX_IN, _path_in("offset", "Offset", "List only paths after this one."),
           inp("offset", "Offset", "Integer", description="Unused: Flow-Like reads the path input of this name."),
           _exec_out(), out("paths", "Paths", "Struct", "Array", schema="FlowPath", description="One path per file.")])
def path_list_with_offset(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    loc = _locate(ctx, "prefix")
    _, after = parse_flow_path(ctx.get("offset"), "offset")
    rels = [rel for rel in ctx.files.list(loc, True) if rel > after]
    ctx.set("paths", _listing(ctx, rels, "prefix"))
    ctx.activate("exec_out")


@register("storage_delete", "Delete", f"{_CAT}/Operations",
          "Deletes the file, or every file under the folder when recursive; a missing file is not an error.",
          [_exec_in(), _path_in(), inp("recursive", "Recursive", "Boolean", default=False,
                                       description="Delete everything under the path."),
           _exec_out("Success")])
def storage_delete(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    loc = _locate(ctx, "path")
    ctx.files.delete(loc, as_bool(ctx.get("recursive"), "recursive"))
    ctx.activate("exec_out")


@register("storage_copy", "Copy", f"{_CAT}/Operations", "Copies a file, also between the app's folders.",
          [_exec_in(), _path_in("from", "From", "The file to copy."), _path_in("to", "To", "Where the copy goes."),
           _exec_out("Success")])
def storage_copy(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.files.copy(_locate(ctx, "from"), _locate(ctx, "to"))
    ctx.activate("exec_out")


@register("path_rename", "Rename", f"{_CAT}/Operations", "Moves a file to another path, also between folders.",
          [_exec_in(), _path_in("from", "From", "The file to move."), _path_in("to", "To", "Its new path."),
           inp("overwrite", "Overwrite", "Boolean", default=False, description="Replace a file already at To."),
           _exec_out()])
def path_rename(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    src, dst = _locate(ctx, "from"), _locate(ctx, "to")
    ctx.files.rename(src, dst, as_bool(ctx.get("overwrite"), "overwrite"))
    ctx.activate("exec_out")


_METHOD_IN = inp("method", "Method", "String", default="GET", options={"valid_values": _SIGN_METHODS},
                 description="The HTTP method the URL allows (POST cannot be signed for one object).")
_EXPIRATION_IN = inp("expiration", "Expiration (seconds)", "Integer", default=3600,
                     description="How long the URL stays valid (at most 7 days).")


def _sign(ctx: NodeContext, loc: Location) -> str:
    method = as_str(ctx.get("method"), "method").upper()
    if method not in _SIGN_METHODS:
        raise NodeError(f"input 'method' must be one of {', '.join(_SIGN_METHODS)}")
    return ctx.files.sign_url(loc, method, as_int(ctx.get("expiration"), "expiration"))


@register("sign_url", "Sign URL", f"{_CAT}/Operations",
          "A presigned URL to the file in the S3 bucket, for a client to use without credentials.",
          [_exec_in(), _path_in(), _METHOD_IN, _EXPIRATION_IN, _exec_out(),
           out("signed_url", "Signed URL", "String", description="The URL.")])
def sign_url(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.set("signed_url", _sign(ctx, _locate(ctx, "path")))
    ctx.activate("exec_out")


@register("sign_urls", "Sign URLs", f"{_CAT}/Operations", "Presigned URLs for several files, in order.",
          [_exec_in(), inp("paths", "Paths", "Struct", "Array", options={"enforce_schema": True}, schema="FlowPath",
                           description="The files."), _METHOD_IN, _EXPIRATION_IN, _exec_out(),
           out("signed_urls", "Signed URLs", "String", "Array", description="One URL per path.")])
def sign_urls(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    paths = as_list(ctx.get("paths"), "paths")
    ctx.set("signed_urls", [_sign(ctx, ctx.files.locate(p, f"paths[{i}]")) for i, p in enumerate(paths)])
    ctx.activate("exec_out")


# -- Path text -------------------------------------------------------------------------------------

@register("child", "Child", f"{_CAT}/Path", "The path of a file or folder inside this one ('a/b' adds two levels).",
          [_path_in("parent_path", "Path", "The folder."),
           inp("child_name", "Child", "String", description="Name (or '/'-separated names) to add."),
           _path_out()])
def child(ctx: NodeContext) -> None:
    value = ctx.get("parent_path")
    _, path = parse_flow_path(value, "parent_path")
    segments = [s for s in as_str(ctx.get("child_name"), "child_name").split("/") if s]
    ctx.set("path", with_path(value, join(path, "/".join(segments))))


@register("parent", "Parent", f"{_CAT}/Path", "The folder holding the path (the root's parent is the root).",
          [_exec_in(), _path_in(), _exec_out(), _path_out("parent_path", "Parent Path", "The parent folder.")])
def parent(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    value = ctx.get("path")
    _, path = parse_flow_path(value, "path")
    ctx.set("parent_path", with_path(value, path.rstrip("/").rpartition("/")[0]))
    ctx.activate("exec_out")


@register("extension", "Extension", f"{_CAT}/Path", "The file name's extension, without the dot ('' for none).",
          [_path_in(), out("extension", "Extension", "String", description="For example 'csv'.")])
def extension(ctx: NodeContext) -> None:
    _, path = parse_flow_path(ctx.get("path"), "path")
    ctx.set("extension", path_extension(path))


@register("filename", "Filename", f"{_CAT}/Path", "The last part of the path.",
          [_path_in(), inp("remove_extension", "Remove Extension", "Boolean", default=False,
                           description="Drop the extension."),
           out("filename", "Filename", "String", description="The file name.")])
def filename(ctx: NodeContext) -> None:
    _, path = parse_flow_path(ctx.get("path"), "path")
    name = posixpath.basename(path.rstrip("/"))
    if as_bool(ctx.get("remove_extension"), "remove_extension"):
        stem, ext = posixpath.splitext(name)
        name = stem if ext else name
    ctx.set("filename", name)


@register("set_filename", "Set Filename", f"{_CAT}/Path",
          "Replaces the last part of the path; a name without an extension keeps the old one.",
          [_path_in("in_path", "Path", "The path."),
           inp("filename", "Filename", "String", default="", description="The new name; empty keeps the path."),
           _path_out("out_path", "Path", "The renamed path.")])
def set_filename(ctx: NodeContext) -> None:
    value = ctx.get("in_path")
    _, path = parse_flow_path(value, "in_path")
    name = as_str(ctx.get("filename"), "filename")
    if name:
        old_ext = posixpath.splitext(posixpath.basename(path))[1]
        if not posixpath.splitext(name)[1] and old_ext:
            name += old_ext
        value = with_path(value, join(path.rpartition("/")[0], name))
    ctx.set("out_path", value)


@register("set_extension", "Set Extension", f"{_CAT}/Path",
          "Replaces the file name's extension (a leading '.' is optional; empty removes it).",
          [_exec_in(), _path_in(), inp("extension", "Extension", "String", description="For example 'json'."),
           _exec_out(), _path_out("path_out", "Path", "The path with the new extension.")])
def set_extension(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ext = as_str(ctx.get("extension"), "extension").removeprefix(".")
    ctx.set("path_out", with_extension(ctx.get("path"), ext, "path"))
    ctx.activate("exec_out")


@register("raw_path", "Raw Path", f"{_CAT}/Path", "The path's text, relative to its folder.",
          [_path_in(), out("raw_path", "Raw Path", "String", description="For example 'reports/2026/jan.csv'.")])
def raw_path(ctx: NodeContext) -> None:
    ctx.set("raw_path", parse_flow_path(ctx.get("path"), "path")[1])


@register("from_raw_path", "From Raw Path", f"{_CAT}/Path",
          "A path in the same folder as Base Path, from text relative to that folder's root.",
          [_path_in("base_path", "Base Path", "Any path in the folder to use."),
           inp("raw_path", "Raw Path", "String", description="Relative text, such as 'reports/jan.csv'."),
           _path_out()])
def from_raw_path(ctx: NodeContext) -> None:
    value = ctx.get("base_path")
    parse_flow_path(value, "base_path")
    ctx.set("path", with_path(value, as_str(ctx.get("raw_path"), "raw_path")))


@register("path_replace_segment", "Replace Segment", f"{_CAT}/Path",
          "Replaces a whole '/'-separated segment of the path that equals From with To.",
          [_path_in("in_path", "Path", "The path."), inp("from", "From", "String", description="The segment to find."),
           inp("to", "To", "String", description="Its replacement."),
           inp("replace_all", "Replace All", "Boolean", default=True, description="Replace every match, not only the first."),
           _path_out("out_path", "Path", "The changed path.")])
def path_replace_segment(ctx: NodeContext) -> None:
    value = ctx.get("in_path")
    _, path = parse_flow_path(value, "in_path")
    old, new = as_str(ctx.get("from"), "from"), as_str(ctx.get("to"), "to")
    replace_all = as_bool(ctx.get("replace_all"), "replace_all")
    if old:
        segments = path.split("/")
        for i, segment in enumerate(segments):
            if segment == old:
                segments[i] = new
                if not replace_all:
                    break
        value = with_path(value, "/".join(segments))
    ctx.set("out_path", value)


# -- External stores -------------------------------------------------------------------------------

def _optional_str(ctx: NodeContext, pin: str) -> str:
    """An input Flow-Like reads as optional: unset (no value, no default) reads as ''."""
    try:
        value = ctx.get(pin)
    except NodeError:
        return ""
    return as_str(value, pin)


def _checked_endpoint(ctx: NodeContext, endpoint: str) -> str | None:
    """The endpoint URL, after the egress policy allowed its host (private addresses are refused)."""
    from urllib.parse import urlsplit

    from ...http_egress import resolve_checked

    if not endpoint:
        return None
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NodeError(f"input 'endpoint' must be an http(s) URL, got '{endpoint}'")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise NodeError(f"input 'endpoint' has an invalid port: '{endpoint}'") from None
    resolve_checked(parts.hostname, port, ctx.egress)
    return endpoint


def _check_external_allowed(ctx: NodeContext) -> None:
    """Before any client is built: one switch covers every kind of external store."""
    if not ctx.files.config.allow_external_s3:
        raise NodeError("external stores are disabled on this server (ENGINE_FILES_ALLOW_EXTERNAL_S3)")


def _open_external_s3(ctx: NodeContext, endpoint: str, path_style: bool) -> None:
    ctx.deactivate("exec_out")
    _check_external_allowed(ctx)
    files = ctx.files
    bucket = as_str(ctx.get("bucket"), "bucket")
    if not bucket:
        raise NodeError("input 'bucket' is empty")
    mode = as_str(ctx.get("credential_mode"), "credential_mode")
    if mode == "environment":
        # The server's environment holds Boardrun's own storage credentials: a board must never borrow them.
        raise NodeError("credential_mode 'environment' is refused: it would use the server's own credentials")
    if mode != "explicit":
        raise NodeError("input 'credential_mode' must be 'explicit'")
    key, secret = _optional_str(ctx, "access_key_id"), _optional_str(ctx, "secret_access_key")
    if not key or not secret:
        raise NodeError("access_key_id and secret_access_key are required when credential_mode is 'explicit'")
    token = _optional_str(ctx, "session_token")
    region = as_str(ctx.get("region"), "region")
    prefix = _optional_str(ctx, "prefix").strip("/")
    url = _checked_endpoint(ctx, endpoint)

    import boto3
    from botocore.config import Config

    egress = ctx.egress
    client = boto3.client(
        "s3", aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token or None,
        region_name=region or None, endpoint_url=url,
        config=Config(connect_timeout=egress.connect_timeout_seconds, read_timeout=egress.timeout_seconds,
                      retries={"max_attempts": 2, "mode": "standard"},
                      s3={"addressing_style": "path" if path_style else "auto"}))
    ctx.set("path", files.add_external("s3", s3_backend(client, bucket), prefix))
    ctx.activate("exec_out")


_S3_PINS = [inp("exec_in", "Input", "Execution", description="Open the store."),
            inp("bucket", "Bucket", "String", description="The bucket's name."),
            inp("region", "Region", "String", default="us-east-1", description="The bucket's region."),
            inp("credential_mode", "Credential Mode", "String", default="explicit",
                options={"valid_values": ["explicit", "environment"]},
                description="Only 'explicit' (keys given here) is accepted: the server's own credentials are not lent."),
            inp("access_key_id", "Access Key ID", "String", description="The access key."),
            inp("secret_access_key", "Secret Access Key", "String", description="The secret key."),
            inp("session_token", "Session Token", "String", description="Optional temporary-credentials token.")]
_STORE_OUT = [out("exec_out", "Done", "Execution", description="Fires when the store is open."),
              _path_out(description="The prefix of the bucket, as a folder root.")]
_PREFIX_STR_IN = inp("prefix", "Prefix", "String", description="The folder in the bucket that paths stay inside.")


@register("external_s3_store", "S3 Directory", f"{_CAT}/External",
          "Opens a folder of an S3 (or S3-compatible) bucket with the board's own keys, when the server allows it.",
          [*_S3_PINS, inp("endpoint", "Endpoint", "String", description="For S3-compatible services; empty for AWS."),
           inp("path_style", "Path Style", "Boolean", default=False, description="Address the bucket in the URL path."),
           _PREFIX_STR_IN, *_STORE_OUT])
def external_s3_store(ctx: NodeContext) -> None:
    _open_external_s3(ctx, _optional_str(ctx, "endpoint"), as_bool(ctx.get("path_style"), "path_style"))


@register("external_s3_express_store", "S3 Express Directory", f"{_CAT}/External",
          "Opens a folder of an S3 Express One Zone directory bucket with the board's own keys, when allowed.",
          [*_S3_PINS, _PREFIX_STR_IN, *_STORE_OUT])
def external_s3_express_store(ctx: NodeContext) -> None:
    _open_external_s3(ctx, "", False)


_AZURE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}\Z")


@register("external_azure_blob_store", "Azure Blob Directory", f"{_CAT}/External",
          "Opens a folder of an Azure Blob container with the board's own key or SAS token, when the server allows it.",
          [inp("exec_in", "Input", "Execution", description="Open the store."),
           inp("account", "Account", "String", description="The storage account's name."),
           inp("container", "Container", "String", description="The blob container's name."),
           inp("access_key", "Access Key", "String", description="The account's access key (this or a SAS token)."),
           inp("sas_token", "SAS Token", "String", description="A SAS token (this or an access key)."),
           _PREFIX_STR_IN, *_STORE_OUT])
def external_azure_blob_store(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    _check_external_allowed(ctx)
    account = as_str(ctx.get("account"), "account")
    if not _AZURE_ACCOUNT.match(account):  # it becomes part of the URL: nothing else may pass
        raise NodeError("input 'account' must be a storage account name: 3 to 24 lowercase letters and digits")
    container = as_str(ctx.get("container"), "container")
    if not container:
        raise NodeError("input 'container' is empty")
    key, sas = _optional_str(ctx, "access_key"), _optional_str(ctx, "sas_token").lstrip("?")
    if bool(key) == bool(sas):
        # Without either the SDK would try the server's own (managed) identity: never lent to a board.
        raise NodeError("give exactly one of access_key and sas_token")
    url = _checked_endpoint(ctx, ctx.files.config.azure_blob_url.replace("{account}", account))

    from azure.storage.blob import ContainerClient

    egress = ctx.egress
    try:
        client = ContainerClient(url, container, credential={"account_name": account, "account_key": key} if key else sas,
                                 connection_timeout=egress.connect_timeout_seconds, read_timeout=egress.timeout_seconds,
                                 retry_total=1)
    except ValueError:
        raise NodeError(f"cannot open Azure Blob container '{container}': check its name") from None
    ctx.set("path", ctx.files.add_external("azure", azure_backend(client), _optional_str(ctx, "prefix").strip("/")))
    ctx.activate("exec_out")


@register("external_gcp_storage_store", "GCP Storage Directory", f"{_CAT}/External",
          "Opens a folder of a Google Cloud Storage bucket with the board's own service account key, when allowed.",
          [inp("exec_in", "Input", "Execution", description="Open the store."),
           inp("bucket", "Bucket", "String", description="The bucket's name."),
           inp("service_account_key", "Service Account Key", "String",
               description="The service account's whole JSON key file."),
           _PREFIX_STR_IN, *_STORE_OUT])
def external_gcp_storage_store(ctx: NodeContext) -> None:
    import json

    ctx.deactivate("exec_out")
    _check_external_allowed(ctx)
    bucket = as_str(ctx.get("bucket"), "bucket")
    if not bucket:
        raise NodeError("input 'bucket' is empty")
    try:
        info = json.loads(_optional_str(ctx, "service_account_key") or "null")
    except ValueError:
        info = None
    if not isinstance(info, dict):
        # An empty key would make the library use the server's own Google credentials: never lent to a board.
        raise NodeError("input 'service_account_key' must be a service account's JSON key file")
    url = _checked_endpoint(ctx, ctx.files.config.gcs_url)

    from google.cloud import storage
    from google.oauth2 import service_account

    try:
        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=["https://www.googleapis.com/auth/devstorage.read_write"])
    except (ValueError, TypeError, KeyError):
        raise NodeError("input 'service_account_key' is not a usable service account key "
                        "(it needs client_email, private_key and token_uri)") from None
    # A self-signed token: no exchange with Google's OAuth server, so no connection the egress check did not see.
    credentials = credentials.with_always_use_jwt_access(True)
    client = storage.Client(project=info.get("project_id") or "-", credentials=credentials,
                            client_options={"api_endpoint": url})
    egress = ctx.egress
    backend = gcs_backend(client.bucket(bucket), (egress.connect_timeout_seconds, egress.timeout_seconds))
    ctx.set("path", ctx.files.add_external("gcs", backend, _optional_str(ctx, "prefix").strip("/")))
    ctx.activate("exec_out")


@register("pathbuf_to_path", "Local Path to Path", _CAT,
          "A path of the app's storage folder, given as local path text, as a FlowPath.",
          [inp("exec_in", "Input", "Execution"),
           inp("pathbuf", "Local Path", "PathBuf", description="A relative path inside the app's storage folder."),
           out("exec_out", "Output", "Execution"), _path_out(description="The same file or folder as a FlowPath.")])
def pathbuf_to_path(ctx: NodeContext) -> None:
    # On a server a local path must not reach the server's own disk (Flow-Like's desktop app opens
    # any folder there), so the text is read inside the app's storage folder: the same check as any path.
    ctx.deactivate("exec_out")
    value = flow_path(SCOPE_STORAGE, as_str(ctx.get("pathbuf"), "pathbuf"))
    ctx.set("path", flow_path(SCOPE_STORAGE, ctx.files.locate(value, "pathbuf").rel))
    ctx.activate("exec_out")
