"""The local database (Flow-Like's Data/Database nodes) on LanceDB.

Each app has one database in its storage folder (``db`` in the app's storage scope), and each user
of an app one in their user folder (``User Scoped``); both come from the run's file services, so a
board can only open the databases of its own app and user. In embedded mode that is a local
folder; on S3 LanceDB writes the bucket itself, with the settings of
:meth:`FileServices.storage_options` (the endpoint, region and credentials Boardrun's storage uses). Open Database puts a reference on its pin (``cache_key`` names the open table in the
run's resources); the table is created by the first insert, as in Flow-Like.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator

from ... import files as filesmod
from ...coerce import as_bool, as_int, as_list, as_str
from ...errors import NodeError
from ...registry import inp, out, register
from ._arrow import VECTOR_FIELD, rows_to_table, schema_value, table_rows
from ._local import local_copy

if TYPE_CHECKING:
    from ...runtime import NodeContext

KIND = "local database"
CATEGORY = "Data/Database"
DB_SCHEMA = "NodeDBConnection"
ENFORCE = {"enforce_schema": True}

EXEC_IN = inp("exec_in", "Input", "Execution")
DB_IN = inp("database", "Database", "Struct", options=ENFORCE, schema=DB_SCHEMA,
            description="The database opened by Open Database.")
FILTER_IN = inp("filter", "SQL Filter", "String", default="", description="An SQL condition on the rows.")
LIMIT_IN = inp("limit", "Limit", "Integer", default=10, description="At most this many rows.")
OFFSET_IN = inp("offset", "Offset", "Integer", default=0, description="Rows to skip first.")
FIELDS_IN = inp("fields", "Fields", "String", "Array", default=[],
                description="Columns to search (all full-text indexed columns when empty).")
SEARCH_IN = inp("search", "Search Term", "String", default="", description="The text to search for.")
VECTOR_IN = inp("vector", "Vector", "Float", "Array", description="The query vector (an embedding).")
DONE_OUT = out("exec_out", "Created Database", "Execution")
DONE2_OUT = out("exec_out", "Done", "Execution")
VALUES_OUT = out("values", "Values", "Struct", "Array", description="The rows found.")


class LocalTable:
    """One table of an app's database: the connection, the table name and the table once it exists."""

    def __init__(self, connection: Any, name: str) -> None:
        self.connection = connection
        self.name = name
        self.table: Any = None
        self._find()

    def _find(self) -> None:
        with lance_errors("opening the table"):
            if self.name in table_names(self.connection):
                self.table = self.connection.open_table(self.name)

    def require(self) -> Any:
        if self.table is None:
            self._find()  # another run may have created it since this one opened the database
        if self.table is None:
            raise NodeError(f"table '{self.name}' does not exist in this database yet: insert rows first")
        return self.table

    def _create(self, data: Any) -> bool:
        """Create the table from ``data`` unless it exists; True when it was created (with the rows)."""
        if self.table is not None:
            return False
        try:
            self.table = self.connection.create_table(self.name, data)
            return True
        except ValueError as exc:
            if "already exists" not in str(exc):
                raise
        self.table = self.connection.open_table(self.name)  # a concurrent run created it first
        return False

    def write(self, rows: list[Any], pin: str) -> None:
        self.write_arrow(rows_to_table(rows, pin))

    def write_arrow(self, data: Any) -> None:
        with lance_errors("writing the rows"):
            if not self._create(data):
                self.table.add(data)

    def upsert(self, rows: list[Any], id_column: str, pin: str) -> None:
        if not id_column:
            raise NodeError("input 'id_row' is empty: name the column that identifies a row")
        data = rows_to_table(rows, pin)
        if id_column not in data.column_names:
            raise NodeError(f"input '{pin}': the rows have no '{id_column}' column (the ID column)")
        with lance_errors("upserting the rows"):
            if not self._create(data):
                (self.table.merge_insert(id_column).when_matched_update_all()
                 .when_not_matched_insert_all().execute(data))


def table_names(connection: Any) -> list[str]:
    names: list[str] = []
    token = None
    while True:  # list_tables pages through the names
        page = connection.list_tables(page_token=token)
        names.extend(page.tables)
        token = page.page_token
        if not token:
            return names


@contextlib.contextmanager
def lance_errors(action: str) -> Iterator[None]:
    """LanceDB reports bad input (unknown column, bad filter, wrong dimension) as ValueError/OSError."""
    try:
        yield
    except NodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - lancedb and pyarrow raise many kinds; all are a node failure
        message = str(exc).split(", /root/.cargo/", 1)[0]  # drop the Rust source location it appends
        raise NodeError(f"local database: {action} failed: {message}") from None


def connect(ctx: "NodeContext", user_scoped: bool) -> Any:
    """The LanceDB connection of the run's app (or its user's) database."""
    import lancedb

    scope = filesmod.SCOPE_USER if user_scoped else filesmod.SCOPE_STORAGE
    loc = ctx.files.locate(filesmod.flow_path(scope, "db"), "user_scoped")
    uri = ctx.files.uri(loc)
    options = ctx.files.storage_options(loc)
    with lance_errors("opening the database"):
        return lancedb.connect(uri, storage_options=options or None)


def open_table(ctx: "NodeContext") -> LocalTable:
    return ctx.resources.get(KIND, ctx.get("database"), key="cache_key")


def _limit_offset(ctx: "NodeContext") -> tuple[int, int]:
    limit, offset = as_int(ctx.get("limit"), "limit"), as_int(ctx.get("offset"), "offset")
    if limit < 1:
        raise NodeError("input 'limit' must be at least 1")
    if offset < 0:
        raise NodeError("input 'offset' must not be negative")
    return limit, offset


def _optional_filter(ctx: "NodeContext") -> str | None:
    text = as_str(ctx.get("filter"), "filter").strip()
    return text or None


def _query_vector(table: Any, value: Any) -> list[float]:
    vector = as_list(value, "vector")
    if not vector or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vector):
        raise NodeError("input 'vector' must be a non-empty list of numbers")
    field = table.schema.field(VECTOR_FIELD) if VECTOR_FIELD in table.schema.names else None
    if field is None:
        raise NodeError(f"the table has no '{VECTOR_FIELD}' column to search")
    dim = getattr(field.type, "list_size", None)
    if dim is not None and dim != len(vector):
        raise NodeError(f"input 'vector' has {len(vector)} values but the table's vectors have {dim}")
    return [float(x) for x in vector]


def _fields(ctx: "NodeContext") -> list[str] | None:
    fields = [as_str(f, "fields") for f in as_list(ctx.get("fields"), "fields")]
    return fields or None


def _rows(query: Any, action: str) -> list[dict[str, Any]]:
    with lance_errors(action):
        return table_rows(query.to_arrow())


def _finish(ctx: "NodeContext", **values: Any) -> None:
    for name, value in values.items():
        ctx.set(name, value)
    ctx.activate("exec_out")


@register("open_local_db", "Open Database", CATEGORY,
          "Opens a table of the app's local database (or the user's own, when user scoped).",
          [EXEC_IN, inp("name", "Table Name", "String", description="The table to work on."),
           inp("user_scoped", "User Scoped", "Boolean", default=False,
               description="Use the database in the user's folder instead of the app's."),
           out("exec_out", "Created Database", "Execution"),
           out("database", "Database", "Struct", schema=DB_SCHEMA, description="A reference to the open table.")])
def open_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    name = as_str(ctx.get("name"), "name")
    user_scoped = as_bool(ctx.get("user_scoped"), "user_scoped")
    if not name or not all(c.isalnum() or c in "_-." for c in name) or name.startswith("."):
        raise NodeError(f"input 'name': '{name}' is not a table name (letters, digits, '_', '-', '.')")
    reuse = (user_scoped, name)
    ref_id = ctx.resources.find(KIND, reuse)
    if ref_id is None:
        ref_id = ctx.resources.add(KIND, LocalTable(connect(ctx, user_scoped), name), lambda _t: None,
                                   reuse_key=reuse)
    _finish(ctx, database={"cache_key": ref_id})


@register("list_tables_db", "List Tables", "Data/Database/Meta",
          "Names of the tables in the app's local database (or the user's).",
          [EXEC_IN, inp("user_scoped", "User Scoped", "Boolean", default=False,
                        description="List the user's database instead of the app's."),
           DONE2_OUT, out("tables", "Tables", "String", "Array", description="Table names, sorted.")])
def list_tables_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    connection = connect(ctx, as_bool(ctx.get("user_scoped"), "user_scoped"))
    with lance_errors("listing the tables"):
        names = sorted(table_names(connection))
    _finish(ctx, tables=names)


@register("insert_local_db", "Insert", "Data/Database/Insert",
          "Adds one row (an object) to the table; creates the table from it when it does not exist.",
          [EXEC_IN, DB_IN, inp("value", "Value", "Struct", description="The row."), DONE_OUT])
def insert_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    open_table(ctx).write([ctx.get("value")], "value")
    ctx.activate("exec_out")


@register("batch_insert_local_db", "Batch Insert", "Data/Database/Insert",
          "Adds many rows at once (faster than upserting; rows already there are not replaced).",
          [EXEC_IN, DB_IN, inp("value", "Value", "Struct", "Array", description="The rows."), DONE_OUT])
def batch_insert_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    open_table(ctx).write(as_list(ctx.get("value"), "value"), "value")
    ctx.activate("exec_out")


def _csv_records(chunks: Iterator[bytes], delimiter: str) -> Iterator[list[str]]:
    """CSV records from byte chunks; undecodable bytes become U+FFFD, as Flow-Like reads them lossily."""
    import codecs
    import csv

    decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def lines() -> Iterator[str]:
        pending = ""
        for chunk in chunks:
            pending += decoder.decode(chunk)
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line + "\n"
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending

    reader = csv.reader(lines(), delimiter=delimiter, strict=True)
    try:
        yield from reader
    except csv.Error as exc:
        raise NodeError(f"input 'csv': malformed CSV at line {reader.line_num}: {exc}") from None


@register("csv_insert_local_db", "Batch Insert (CSV)", "Data/Database/Insert",
          "Streams an app CSV file into the table in chunks; every value is inserted as text.",
          [EXEC_IN, DB_IN, inp("csv", "CSV", "Struct", options=ENFORCE, schema="FlowPath", description="The CSV file."),
           inp("chunk_size", "Chunk Size", "Integer", default=10_000, description="Rows written per batch."),
           inp("delimiter", "Delimiter", "String", default=",", description="The field separator (one character)."),
           DONE_OUT])
def csv_insert_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    local = open_table(ctx)
    delimiter = as_str(ctx.get("delimiter"), "delimiter")
    if len(delimiter) != 1:
        raise NodeError("input 'delimiter' must be one character")
    chunk_size = as_int(ctx.get("chunk_size"), "chunk_size")
    if chunk_size < 1:
        raise NodeError("input 'chunk_size' must be at least 1")
    files = ctx.files
    loc = files.locate(ctx.get("csv"), "csv")
    if files.head(loc) is None:
        raise NodeError(f"input 'csv': file not found: '{loc.rel}'")
    records = _csv_records(files.chunks(loc), delimiter)
    headers = next(records, None)
    if headers is None:
        raise NodeError(f"input 'csv': '{loc.rel}' is empty (it needs a header line)")
    chunk: list[dict[str, str]] = []
    for record in records:
        if not record:
            continue  # a blank line
        chunk.append(dict(zip(headers, record)))
        if len(chunk) == chunk_size:
            ctx.checkpoint()
            local.write(chunk, "csv")
            chunk = []
    if chunk:
        local.write(chunk, "csv")
    ctx.activate("exec_out")


TDMS_MAX_CHUNK = 20_000


def _tdms_arrow_type(data_type: Any) -> Any:
    """The Arrow type a TDMS channel's values get (timestamps as ISO text, as Flow-Like); None if unsupported."""
    import pyarrow as pa
    from nptdms import types as t

    return {t.DoubleFloat: pa.float64(), t.SingleFloat: pa.float32(), t.Int8: pa.int8(), t.Int16: pa.int16(),
            t.Int32: pa.int32(), t.Int64: pa.int64(), t.Uint8: pa.uint8(), t.Uint16: pa.uint16(),
            t.Uint32: pa.uint32(), t.Uint64: pa.uint64(), t.Boolean: pa.bool_(), t.TimeStamp: pa.string(),
            t.String: pa.string()}.get(data_type)


def _tdms_column(channel: Any, arrow_type: Any, start: int, stop: int) -> Any:
    """Values ``start..stop`` of a channel, padded with nulls where the channel is shorter."""
    import numpy as np
    import pyarrow as pa

    values = channel[start:min(stop, len(channel))] if start < len(channel) else []
    if len(values) and np.issubdtype(np.asarray(values).dtype, np.datetime64):
        values = np.datetime_as_string(values, unit="us")
    if pa.types.is_string(arrow_type):
        values = [str(v) for v in values]
    column = pa.array(values, type=arrow_type)
    missing = (stop - start) - len(column)
    return pa.concat_arrays([column, pa.nulls(missing, arrow_type)]) if missing else column


@register("tdms_insert_local_db", "Batch Insert (TDMS)", "Data/Database/Insert",
          "Loads a LabVIEW TDMS measurement file: one row per sample index and group, one column per channel.",
          [EXEC_IN, DB_IN, inp("tdms_path", "TDMS File", "Struct", options=ENFORCE, schema="FlowPath",
                               description="The TDMS file in one of the app's folders."),
           inp("chunk_size", "Chunk Size", "Integer", default=10_000,
               description=f"Rows written per batch (at most {TDMS_MAX_CHUNK})."),
           out("exec_out", "Done", "Execution")])
def tdms_insert_local_db(ctx: "NodeContext") -> None:
    import pyarrow as pa
    from nptdms import TdmsFile

    ctx.deactivate("exec_out")
    local = open_table(ctx)
    requested = as_int(ctx.get("chunk_size"), "chunk_size")
    chunk_size = min(max(requested, 1), TDMS_MAX_CHUNK)
    if requested > TDMS_MAX_CHUNK:
        ctx.log("Warn", f"TDMS chunk_size={requested} is above {TDMS_MAX_CHUNK}; using {TDMS_MAX_CHUNK}")
    loc = ctx.files.locate(ctx.get("tdms_path"), "tdms_path")
    if ctx.files.head(loc) is not None and ctx.files.read_range(loc, 0, 4) != b"TDSm":
        # npTDMS reads a file without TDMS segments as an empty one; Flow-Like's parser refuses it
        raise NodeError(f"input 'tdms_path': '{loc.rel}' is not a readable TDMS file (no TDMS lead-in)")
    total = 0
    with local_copy(ctx, loc, "tdms_path", ".tdms") as path:
        try:
            tdms = TdmsFile.open(path)
        except Exception as exc:  # noqa: BLE001 - npTDMS raises many kinds for a file that is not TDMS
            raise NodeError(f"input 'tdms_path': '{loc.rel}' is not a readable TDMS file: {exc}") from None
        with tdms:
            for group in tdms.groups():
                channels = [(c, _tdms_arrow_type(c.data_type)) for c in group.channels()]
                supported = [(c, kind) for c, kind in channels if kind is not None]
                if len(supported) < len(channels):
                    ctx.log("Warn", f"Skipping {len(channels) - len(supported)} unsupported TDMS channel(s) "
                                    f"in group '{group.name}'")
                rows = max((len(c) for c, _ in supported), default=0)
                for start in range(0, rows, chunk_size):
                    ctx.checkpoint()
                    stop = min(start + chunk_size, rows)
                    try:
                        columns = [pa.array([group.name] * (stop - start), type=pa.string())]
                        columns += [_tdms_column(c, kind, start, stop) for c, kind in supported]
                    except Exception as exc:  # noqa: BLE001 - a damaged segment fails while reading
                        raise NodeError(f"input 'tdms_path': reading group '{group.name}' failed: {exc}") from None
                    local.write_arrow(pa.Table.from_arrays(columns, names=["_group", *(c.name for c, _ in supported)]))
                    total += stop - start
    ctx.log("Info", f"TDMS insert complete: {total} total rows")
    ctx.activate("exec_out")


@register("upsert_local_db", "Upsert", "Data/Database/Insert",
          "Updates the row with the same ID, or inserts it when there is none.",
          [EXEC_IN, DB_IN, inp("id_row", "ID Column", "String", description="The column identifying a row."),
           inp("value", "Value", "Struct", description="The row."), DONE_OUT])
def upsert_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    open_table(ctx).upsert([ctx.get("value")], as_str(ctx.get("id_row"), "id_row"), "value")
    ctx.activate("exec_out")


@register("batch_upsert_local_db", "Batch Upsert", "Data/Database/Insert",
          "Updates the rows whose ID exists and inserts the others.",
          [EXEC_IN, DB_IN, inp("id_row", "ID Column", "String", description="The column identifying a row."),
           inp("value", "Value", "Struct", "Array", description="The rows."), DONE_OUT])
def batch_upsert_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    open_table(ctx).upsert(as_list(ctx.get("value"), "value"), as_str(ctx.get("id_row"), "id_row"), "value")
    ctx.activate("exec_out")


@register("filter_delete_local_db", "Delete", "Data/Database/Delete",
          "Deletes the rows matching the SQL filter.",
          [EXEC_IN, DB_IN, FILTER_IN, DONE_OUT])
def filter_delete_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table = open_table(ctx).require()
    condition = _optional_filter(ctx)
    if condition is None:
        raise NodeError("input 'filter' is empty: give a condition (Purge deletes every row)")
    with lance_errors("deleting rows"):
        table.delete(condition)
    ctx.activate("exec_out")


@register("purge_local_db", "Purge", "Data/Database/Delete", "Deletes every row of the table.",
          [EXEC_IN, DB_IN, DONE_OUT])
def purge_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table = open_table(ctx).require()
    with lance_errors("deleting every row"):
        table.delete("true")
    ctx.activate("exec_out")


@register("count_local_db", "Count", "Data/Database/Meta", "Counts the rows (matching the filter, when given).",
          [EXEC_IN, DB_IN, FILTER_IN, DONE_OUT, out("count", "Count", "Integer", description="How many rows.")])
def count_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table = open_table(ctx).require()
    with lance_errors("counting rows"):
        count = table.count_rows(_optional_filter(ctx))
    _finish(ctx, count=count)


@register("list_local_db", "List", "Data/Database/Meta", "Lists rows of the table, a page at a time.",
          [EXEC_IN, DB_IN, LIMIT_IN, OFFSET_IN, DONE_OUT, VALUES_OUT])
def list_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table = open_table(ctx).require()
    limit, offset = _limit_offset(ctx)
    _finish(ctx, values=_rows(table.search().limit(limit).offset(offset), "listing rows"))


@register("schema_local_db", "Get Schema", "Data/Database/Meta", "The table's columns and their types.",
          [EXEC_IN, DB_IN, DONE2_OUT, out("schema", "Schema", "Struct", description="Fields and metadata.")])
def schema_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table = open_table(ctx).require()
    with lance_errors("reading the schema"):
        schema = table.schema
    _finish(ctx, schema=schema_value(schema))


def _index_config(kind: str, column_type: Any) -> Any:
    """LanceDB's index configuration for Flow-Like's index type names."""
    import pyarrow as pa
    from lancedb.index import FTS, BTree, Bitmap, IvfPq, LabelList

    if kind == "FULL TEXT":
        return FTS()
    if kind == "BITMAP":
        return Bitmap()
    if kind == "LABEL LIST":
        return LabelList()
    if kind == "VECTOR" or (kind != "BTREE" and pa.types.is_fixed_size_list(column_type)):
        return IvfPq(distance_type="cosine")
    return BTree()  # BTREE, and AUTO on a scalar column (what LanceDB's own Auto picks)


@register("index_local_db", "Build Index", "Data/Database/Optimization",
          "Builds an index on a column: scalar (B-tree, bitmap, label list), full text, or vector.",
          [EXEC_IN, DB_IN, inp("column", "Column", "String", default="", description="The column to index."),
           inp("type", "Type", "String", default="AUTO",
               options={"valid_values": ["BTREE", "BITMAP", "LABEL LIST", "FULL TEXT", "VECTOR", "AUTO"]},
               description="The kind of index (AUTO: vector for vector columns, B-tree otherwise)."),
           DONE_OUT])
def index_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table = open_table(ctx).require()
    column = as_str(ctx.get("column"), "column")
    kind = as_str(ctx.get("type"), "type").upper()
    if column not in table.schema.names:
        raise NodeError(f"input 'column': the table has no column '{column}'")
    config = _index_config(kind, table.schema.field(column).type)
    with lance_errors(f"building the index on '{column}'"):
        table.create_index(column, replace=True, config=config)
    ctx.activate("exec_out")


@register("optimize_local_db", "Optimize and Update", "Data/Database/Optimization",
          "Compacts the table's files, brings its indexes up to date and removes old versions.",
          [EXEC_IN, DB_IN, inp("keep_versions", "Keep Versions?", "Boolean", default=False,
                                description="Keep versions of the last week instead of removing all old ones."),
           DONE_OUT], long_running=True)
def optimize_local_db(ctx: "NodeContext") -> None:
    import datetime
    import warnings

    ctx.deactivate("exec_out")
    table = open_table(ctx).require()
    keep = as_bool(ctx.get("keep_versions"), "keep_versions")
    with lance_errors("optimizing the table"):
        # None keeps LanceDB's default of seven days, as Flow-Like's "keep" does; otherwise every old
        # version goes, which is what the board asked for (LanceDB warns about concurrent readers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            table.optimize(cleanup_older_than=None if keep else datetime.timedelta(0), delete_unverified=True)
    ctx.activate("exec_out")


@register("filter_local_db", "(SQL) Filter Database", "Data/Database/Search",
          "Rows matching an SQL condition, a page at a time.",
          [EXEC_IN, DB_IN, FILTER_IN, LIMIT_IN, OFFSET_IN, DONE_OUT, VALUES_OUT])
def filter_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table = open_table(ctx).require()
    limit, offset = _limit_offset(ctx)
    query = table.search()
    condition = _optional_filter(ctx)
    if condition is not None:
        query = query.where(condition)
    _finish(ctx, values=_rows(query.limit(limit).offset(offset), "filtering rows"))


@register("fts_search_local_db", "Full-Text Search", "Data/Database/Search",
          "Rows whose full-text indexed columns match the search term, best first (needs a FULL TEXT index).",
          [EXEC_IN, DB_IN, SEARCH_IN, FIELDS_IN, FILTER_IN, LIMIT_IN, OFFSET_IN, DONE2_OUT, VALUES_OUT])
def fts_search_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table = open_table(ctx).require()
    text = as_str(ctx.get("search"), "search")
    fields, condition = _fields(ctx), _optional_filter(ctx)
    limit, offset = _limit_offset(ctx)
    with lance_errors("searching"):
        query = table.search(text, query_type="fts", fts_columns=fields)
        if condition is not None:
            query = query.where(condition)
        rows = table_rows(query.limit(limit).offset(offset).to_arrow())
    _finish(ctx, values=rows)


@register("vector_search_local_db", "Vector Search", "Data/Database/Search",
          "The rows whose vector is nearest to the query vector (cosine distance), nearest first.",
          [EXEC_IN, DB_IN, VECTOR_IN, FILTER_IN, LIMIT_IN, OFFSET_IN, DONE2_OUT, VALUES_OUT])
def vector_search_local_db(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table = open_table(ctx).require()
    vector = _query_vector(table, ctx.get("vector"))
    condition = _optional_filter(ctx)
    limit, offset = _limit_offset(ctx)
    with lance_errors("searching"):
        query = table.search(vector, query_type="vector", vector_column_name=VECTOR_FIELD).distance_type("cosine")
        if condition is not None:
            query = query.where(condition)
        rows = table_rows(query.limit(limit).offset(offset).to_arrow())
    _finish(ctx, values=rows)


@register("hybrid_search_local_db", "Hybrid Search", "Data/Database/Search",
          "Vector and full-text search combined, ranked by reciprocal rank fusion.",
          [EXEC_IN, DB_IN, SEARCH_IN, VECTOR_IN, FIELDS_IN, FILTER_IN,
           inp("rerank", "Re-Rank", "Boolean", default=True, description="Fuse the two rankings (RRF)."),
           LIMIT_IN, OFFSET_IN, DONE2_OUT, VALUES_OUT])
def hybrid_search_local_db(ctx: "NodeContext") -> None:
    from lancedb.rerankers import RRFReranker

    ctx.deactivate("exec_out")
    table = open_table(ctx).require()
    vector = _query_vector(table, ctx.get("vector"))
    text = as_str(ctx.get("search"), "search")
    fields, condition = _fields(ctx), _optional_filter(ctx)
    as_bool(ctx.get("rerank"), "rerank")  # both settings fuse with RRF: LanceDB's hybrid default is RRF too
    limit, offset = _limit_offset(ctx)
    with lance_errors("searching"):
        query = (table.search(query_type="hybrid", vector_column_name=VECTOR_FIELD, fts_columns=fields)
                 .vector(vector).text(text).distance_type("cosine").rerank(RRFReranker(K=60)))
        if condition is not None:
            query = query.where(condition)
        rows = table_rows(query.limit(limit).offset(offset).to_arrow())
    _finish(ctx, values=rows)
