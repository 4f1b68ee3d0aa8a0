"""Utils/CSV: a CSV file of the app's folders, streamed in chunks of rows through a loop body."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Iterator

from ...coerce import as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


class _ChunkStream(io.RawIOBase):
    """A read-only binary stream over an iterator of byte chunks (a file read piece by piece)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def text_lines(chunks: Iterator[bytes]) -> io.TextIOWrapper:
    """The chunks as text for the csv module: UTF-8 (invalid bytes as U+FFFD), newlines untranslated."""
    return io.TextIOWrapper(io.BufferedReader(_ChunkStream(chunks)), encoding="utf-8", errors="replace", newline="")


@register("csv_buffered_reader", "Buffered CSV Reader", "Utils/CSV",
          "Reads a CSV file with a header row in chunks of rows (objects keyed by the headers, values as "
          "text) and runs the body once per chunk; the file is streamed, never read whole.",
          [inp("exec_in", "Input", "Execution", description="Start reading."),
           inp("csv", "CSV", "Struct", options={"enforce_schema": True}, schema="FlowPath",
               description="The CSV file in one of the app's folders."),
           inp("chunk_size", "Chunk Size", "Integer", default=10000, description="Rows per chunk (at least 1)."),
           inp("delimiter", "Delimiter", "String", default=",", description="The field separator: one character."),
           out("for_chunk", "For Chunk", "Execution", description="The body: runs once per chunk."),
           out("chunk", "Chunk", "Struct", "Array", description="The rows of the current chunk."),
           out("exec_done", "Done", "Execution", description="Fires after the last chunk.")])
def csv_buffered_reader(ctx: NodeContext) -> Iterator[list[Any]]:
    import csv

    ctx.deactivate("exec_done")
    delimiter = as_str(ctx.get("delimiter"), "delimiter")
    if len(delimiter) != 1 or delimiter in "\r\n\"":
        raise NodeError("input 'delimiter' must be one character other than a quote or a line break")
    chunk_size = as_int(ctx.get("chunk_size"), "chunk_size")
    if chunk_size < 1:
        raise NodeError("input 'chunk_size' must be at least 1")
    files = ctx.files
    loc = files.locate(ctx.get("csv"), "csv")
    if not files.exists(loc):
        raise NodeError(f"file not found: '{loc.rel}'")
    reader = csv.reader(text_lines(files.chunks(loc)), delimiter=delimiter, strict=True)
    cap = ctx.limits.max_loop_iterations
    body = ctx.targets("for_chunk")
    ctx.activate("for_chunk")
    headers: list[str] | None = None
    chunk: list[dict[str, str]] = []
    chunks = 0
    try:
        for record in reader:
            if headers is None:
                headers = record
                if headers:
                    headers[0] = headers[0].removeprefix("\ufeff")  # a byte order mark is not part of the name
                continue
            if not record:
                continue  # a blank line is no row
            if len(record) != len(headers):
                raise NodeError(f"CSV line {reader.line_num} has {len(record)} fields, the header has {len(headers)}")
            chunk.append(dict(zip(headers, record)))
            if len(chunk) == chunk_size:
                chunks += 1
                yield from _run_chunk(ctx, body, chunk, chunks, cap)
                chunk = []
    except csv.Error as exc:
        raise NodeError(f"malformed CSV at line {reader.line_num}: {exc}") from None
    if chunk:
        yield from _run_chunk(ctx, body, chunk, chunks + 1, cap)
    ctx.deactivate("for_chunk")
    ctx.activate("exec_done")


def _run_chunk(ctx: NodeContext, body: list[Any], chunk: list[dict[str, str]], number: int,
               cap: int) -> Iterator[list[Any]]:
    if number > cap:
        raise NodeError(f"the CSV has more than {cap} chunks (the loop limit); use a larger chunk size")
    ctx.set("chunk", chunk)
    for target in body:
        yield [target]
