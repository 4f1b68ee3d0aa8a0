"""A local file path for libraries that open files by name (npTDMS, SQLite, DuckDB)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator

from ...errors import NodeError

if TYPE_CHECKING:
    from ...runtime import NodeContext


@contextlib.contextmanager
def local_copy(ctx: "NodeContext", loc: Any, pin: str, suffix: str = "") -> Iterator[str]:
    """A local file path of ``loc``: the file itself in a local folder, a capped temporary copy from S3."""
    import tempfile

    files = ctx.files
    meta = files.head(loc)
    if meta is None:
        raise NodeError(f"input '{pin}': file not found: '{loc.rel}'")
    uri = files.uri(loc)
    if not uri.startswith("s3://"):
        yield uri
        return
    if meta.size > files.config.max_bytes:
        raise NodeError(f"input '{pin}': '{loc.rel}' is {meta.size} bytes, more than the "
                        f"{files.config.max_bytes} a node may read (ENGINE_FILES_MAX_BYTES)")
    with tempfile.NamedTemporaryFile(suffix=suffix) as copy:
        for chunk in files.chunks(loc):
            copy.write(chunk)
        copy.flush()
        yield copy.name
