"""DataFusion SQL (Flow-Like's Data/DataFusion nodes) on Apache DataFusion's Python bindings.

A session is a per-run resource (closed when the run ends); the same session name in one run
gives the same session, as in Flow-Like. Tables come only from the app's own data: CSV, JSON and
Parquet files (or folders of them) under the app's folders, Flow-Like tables on a pin, and tables
of the app's local database. SQL runs with DDL, DML and statements switched off, so a query can
neither register an outside file or object store (``CREATE EXTERNAL TABLE``) nor write files
(``COPY``); querying files by URL is off in DataFusion by default and stays off.

Results stream batch by batch: the run's deadline and cancel are checked between batches, and a
result is capped at ``MAX_ROWS`` rows (pins carry whole values).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ...coerce import as_bool, as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register
from ._arrow import csv_table, table_from_csv_table, table_rows

if TYPE_CHECKING:
    from ...runtime import NodeContext

KIND = "datafusion session"
CATEGORY = "Data/DataFusion"
SESSION_SCHEMA = "DataFusionSession"
MAX_ROWS = 100_000

EXEC_IN = inp("exec_in", "Input", "Execution")
SESSION_IN = inp("session", "Session", "Struct", schema=SESSION_SCHEMA, description="The DataFusion session.")
PATH_IN = inp("path", "Path", "Struct", schema="FlowPath", description="A file, or a folder of files, of the app.")
TABLE_NAME_IN = inp("table_name", "Table Name", "String", description="The name SQL uses for the table.")
DONE_OUT = out("exec_out", "Done", "Execution")
TABLE_OUT = out("table", "Table", "Struct", schema="CSVTable", description="The result as a table.")


class _Session:
    """A DataFusion context and the S3 buckets already registered as its object stores."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.buckets: set[str] = set()


@contextlib.contextmanager
def df_errors(action: str) -> Iterator[None]:
    """DataFusion reports planning and execution errors (unknown table, bad SQL) as exceptions."""
    try:
        yield
    except NodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - the bindings raise ValueError/Exception for every SQL failure
        raise NodeError(f"DataFusion: {action} failed: {exc}") from None


def session(ctx: "NodeContext") -> _Session:
    return ctx.resources.get(KIND, ctx.get("session"), key="cache_key")


def _sql_options() -> Any:
    from datafusion import SQLOptions

    return SQLOptions().with_allow_ddl(False).with_allow_dml(False).with_allow_statements(False)


def run_sql(ctx: "NodeContext", sess: _Session, sql: str) -> Any:
    """The result of ``sql`` as one pyarrow Table, read batch by batch (deadline, cancel and row cap)."""
    import pyarrow as pa

    if not sql.strip():
        raise NodeError("the query is empty")
    with df_errors("the query"):
        frame = sess.context.sql_with_options(sql, _sql_options())
        schema = frame.schema()
        batches, rows = [], 0
        for batch in frame.execute_stream():
            ctx.checkpoint()
            part = batch.to_pyarrow()
            rows += part.num_rows
            if rows > MAX_ROWS:
                raise NodeError(f"the query returns more than {MAX_ROWS} rows: add a LIMIT or aggregate")
            batches.append(part)
        return pa.Table.from_batches(batches, schema=schema)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


def _table_name(value: Any, pin: str = "table_name") -> str:
    name = as_str(value, pin)
    if not _IDENT.match(name):
        raise NodeError(f"input '{pin}': '{name}' is not a table name (letters, digits and '_', not first a digit)")
    return name


def _finish(ctx: "NodeContext", **values: Any) -> None:
    for name, value in values.items():
        ctx.set(name, value)
    ctx.activate("exec_out")


# -- session --------------------------------------------------------------------------------------

@register("df_create_session", "Create DataFusion Session", CATEGORY,
          "Opens a DataFusion SQL session for this run (the same name gives the same session).",
          [EXEC_IN,
           inp("session_name", "Session Name", "String", default="default", description="Sessions are shared by name."),
           inp("target_partitions", "Target Partitions", "Integer", default=0,
               description="Parallel partitions (0: one per CPU)."),
           inp("batch_size", "Batch Size", "Integer", default=8192, description="Rows per batch."),
           inp("repartition_joins", "Repartition Joins", "Boolean", default=True),
           inp("repartition_aggregations", "Repartition Aggregations", "Boolean", default=True),
           inp("repartition_sorts", "Repartition Sorts", "Boolean", default=True),
           inp("coalesce_batches", "Coalesce Batches", "Boolean", default=True),
           inp("parquet_pruning", "Parquet Pruning", "Boolean", default=True),
           inp("collect_statistics", "Collect Statistics", "Boolean", default=True),
           DONE_OUT, out("session", "Session", "Struct", schema=SESSION_SCHEMA, description="The session.")])
def df_create_session(ctx: "NodeContext") -> None:
    import os

    ctx.deactivate("exec_out")
    name = as_str(ctx.get("session_name"), "session_name")
    ref_id = ctx.resources.find(KIND, name)
    if ref_id is None:
        from datafusion import SessionConfig, SessionContext

        partitions = as_int(ctx.get("target_partitions"), "target_partitions")
        batch_size = max(1, as_int(ctx.get("batch_size"), "batch_size"))
        flags = {pin: as_bool(ctx.get(pin), pin) for pin in (
            "repartition_joins", "repartition_aggregations", "repartition_sorts", "coalesce_batches",
            "parquet_pruning", "collect_statistics")}
        config = (SessionConfig()
                  .with_target_partitions(partitions if partitions > 0 else (os.cpu_count() or 1))
                  .with_batch_size(batch_size)
                  .with_repartition_joins(flags["repartition_joins"])
                  .with_repartition_aggregations(flags["repartition_aggregations"])
                  .with_repartition_sorts(flags["repartition_sorts"])
                  .set("datafusion.execution.coalesce_batches", str(flags["coalesce_batches"]).lower())
                  .set("datafusion.execution.collect_statistics", str(flags["collect_statistics"]).lower()))
        if flags["parquet_pruning"]:
            config = (config.with_parquet_pruning(True)
                      .set("datafusion.execution.parquet.bloom_filter_on_read", "true"))
        ref_id = ctx.resources.add(KIND, _Session(SessionContext(config)), lambda _s: None, reuse_key=name)
    _finish(ctx, session={"cache_key": ref_id})


# -- tables -------------------------------------------------------------------------------------

def _extension(ctx: "NodeContext") -> str:
    return as_str(ctx.get("file_extension"), "file_extension").lstrip(".")


def _mount(ctx: "NodeContext", register_fn: str, extension: str, **options: Any) -> None:
    """Register the app file or folder on ``path`` as a listing table of the session."""
    sess = session(ctx)
    name = _table_name(ctx.get("table_name"))
    files = ctx.files
    loc = files.locate(ctx.get("path"), "path")
    uri = files.uri(loc)
    is_file = files.head(loc) is not None
    if not is_file and next(iter(loc.backend.walk(loc.base, loc.rel)), None) is None:
        raise NodeError(f"input 'path': '{loc.rel}' is neither a file nor a folder of the app with files in it")
    if uri.startswith("s3://"):
        if not is_file:
            uri += "/"  # a folder: DataFusion lists the objects under the prefix
        bucket = uri[len("s3://"):].split("/", 1)[0]
        if bucket not in sess.buckets:
            from datafusion.object_store import AmazonS3

            o = files.storage_options(loc)
            store = AmazonS3(bucket_name=bucket, region=o.get("region"), access_key_id=o.get("aws_access_key_id"),
                             secret_access_key=o.get("aws_secret_access_key"),
                             session_token=o.get("aws_session_token"), endpoint=o.get("endpoint"),
                             allow_http=o.get("allow_http") == "true")
            sess.context.register_object_store("s3://", store, bucket)
            sess.buckets.add(bucket)
    with df_errors(f"mounting '{loc.rel}' as '{name}'"):
        if sess.context.table_exist(name):
            sess.context.deregister_table(name)
        getattr(sess.context, register_fn)(name, uri, file_extension=f".{extension}" if extension else "",
                                           **options)


@register("df_mount_csv", "Mount CSV", CATEGORY,
          "Makes a CSV file (or a folder of CSV files) of the app a table of the session.",
          [EXEC_IN, SESSION_IN, PATH_IN, TABLE_NAME_IN,
           inp("has_header", "Has Header", "Boolean", default=True, description="The first line names the columns."),
           inp("delimiter", "Delimiter", "String", default=",", description="The field separator (one character)."),
           inp("file_extension", "File Extension", "String", default="csv",
               description="In a folder, only files with this extension are read."),
           DONE_OUT])
def df_mount_csv(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    delimiter = as_str(ctx.get("delimiter"), "delimiter") or ","
    if len(delimiter.encode("utf-8")) != 1:
        raise NodeError("input 'delimiter' must be one single-byte character")
    _mount(ctx, "register_csv", _extension(ctx), has_header=as_bool(ctx.get("has_header"), "has_header"),
           delimiter=delimiter)
    ctx.activate("exec_out")


@register("df_mount_json", "Mount JSON", CATEGORY,
          "Makes a newline-delimited JSON file (or a folder of them) of the app a table of the session.",
          [EXEC_IN, SESSION_IN, PATH_IN, TABLE_NAME_IN,
           inp("file_extension", "File Extension", "String", default="json",
               description="In a folder, only files with this extension are read."),
           DONE_OUT])
def df_mount_json(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    _mount(ctx, "register_json", _extension(ctx))
    ctx.activate("exec_out")


@register("df_mount_parquet", "Mount Parquet", CATEGORY,
          "Makes a Parquet file (or a folder of them) of the app a table of the session.",
          [EXEC_IN, SESSION_IN, PATH_IN, TABLE_NAME_IN,
           inp("file_extension", "File Extension", "String", default="parquet",
               description="In a folder, only files with this extension are read."),
           DONE_OUT])
def df_mount_parquet(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    _mount(ctx, "register_parquet", _extension(ctx))
    ctx.activate("exec_out")


LAKE_SESSION_OUT = out("session_out", "Session", "Struct", schema=SESSION_SCHEMA, description="The same session.")


@register("df_register_hive_parquet", "Register Hive Parquet", "Data/DataFusion/Lakes",
          "Makes every .parquet file under an app folder (including sub-folders) one table of the session.",
          [EXEC_IN, SESSION_IN, PATH_IN, TABLE_NAME_IN, DONE_OUT, LAKE_SESSION_OUT])
def df_register_hive_parquet(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    _mount(ctx, "register_parquet", "parquet")
    _finish(ctx, session_out=ctx.get("session"))


@register("df_register_partitioned_json", "Register Partitioned JSON", "Data/DataFusion/Lakes",
          "Makes every newline-delimited JSON file under an app folder (including sub-folders) one table.",
          [EXEC_IN, SESSION_IN, PATH_IN, TABLE_NAME_IN,
           inp("file_extension", "File Extension", "String", default=".json",
               description="Only files with this extension are read."),
           DONE_OUT, LAKE_SESSION_OUT])
def df_register_partitioned_json(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    _mount(ctx, "register_json", _extension(ctx))
    _finish(ctx, session_out=ctx.get("session"))


def _register_arrow(sess: _Session, name: str, table: Any) -> None:
    with df_errors(f"registering '{name}'"):
        if sess.context.table_exist(name):
            sess.context.deregister_table(name)
        batches = table.to_batches()
        if batches:
            sess.context.register_record_batches(name, [batches])
        else:
            sess.context.register_view(name, sess.context.from_arrow(table))


@register("df_register_csv_table", "Register Table", CATEGORY,
          "Makes a table on a pin (rows read from CSV or a spreadsheet) a table of the session.",
          [EXEC_IN, SESSION_IN, inp("table", "Table", "Struct", schema="CSVTable", description="The table."),
           inp("table_name", "Table Name", "String", default="data", description="The name SQL uses for it."),
           DONE_OUT])
def df_register_csv_table(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    sess = session(ctx)
    name = _table_name(ctx.get("table_name"))
    _register_arrow(sess, name, table_from_csv_table(ctx.get("table"), "table"))
    ctx.activate("exec_out")


@register("df_register_lance", "Register Lance Table", CATEGORY,
          "Makes a table of the app's local database a table of the session (its rows as they are now).",
          [EXEC_IN, SESSION_IN,
           inp("database", "Database", "Struct", schema="NodeDBConnection", description="From Open Database."),
           inp("table_name", "Table Name", "String", default="",
               description="The name SQL uses for it (empty: the database table's name)."),
           DONE_OUT])
def df_register_lance(ctx: "NodeContext") -> None:
    from .database import KIND as DB_KIND, lance_errors

    ctx.deactivate("exec_out")
    sess = session(ctx)
    local = ctx.resources.get(DB_KIND, ctx.get("database"), key="cache_key")
    raw = as_str(ctx.get("table_name"), "table_name")
    name = _table_name(raw or local.name)
    table = local.require()
    with lance_errors("reading the table"):
        if table.count_rows() > MAX_ROWS:
            raise NodeError(f"the table has more than {MAX_ROWS} rows: too many to register in a session")
        data = table.to_arrow()
    _register_arrow(sess, name, data)
    ctx.activate("exec_out")


# -- queries -------------------------------------------------------------------------------------

@register("df_sql_query", "SQL Query", CATEGORY, "Runs an SQL query on the session's tables.",
          [EXEC_IN, SESSION_IN,
           inp("query", "Query", "String", default="SELECT * FROM data LIMIT 100", description="A SELECT query."),
           DONE_OUT, TABLE_OUT, out("rows", "Rows", "Generic", description="The result as objects, one per row."),
           out("row_count", "Row Count", "Integer", description="How many rows.")])
def df_sql_query(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    query = as_str(ctx.get("query"), "query")
    ctx.log("Debug", f"Executing SQL: {query}")
    result = run_sql(ctx, session(ctx), query)
    _finish(ctx, table=csv_table(result), rows=table_rows(result), row_count=result.num_rows)


def _markdown(table: dict[str, Any], limit: int = 50) -> str:
    headers, rows = table["headers"], table["rows"]
    if not headers:
        return "Empty table"

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, dict) and "iso" in value:
            return str(value["iso"])
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    lines = ["|" + "".join(f" {h} |" for h in headers), "|" + " --- |" * len(headers)]
    lines += ["|" + "".join(f" {cell(v)} |" for v in row) for row in rows[:limit]]
    text = "\n".join(lines) + "\n"
    if len(rows) > limit:
        text += f"\n... and {len(rows) - limit} more rows"
    return text


@register("df_execute_sql", "Execute SQL", "Data/DataFusion/Tools",
          "Runs an SQL query and also gives the result as a Markdown table (for AI agents).",
          [EXEC_IN, SESSION_IN,
           inp("query", "Query", "String", default="SELECT * FROM data LIMIT 10", description="A SELECT query."),
           DONE_OUT, out("result", "Result", "String", description="The rows as Markdown."), TABLE_OUT,
           out("row_count", "Row Count", "Integer", description="How many rows.")])
def df_execute_sql(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    query = as_str(ctx.get("query"), "query")
    ctx.log("Debug", f"Executing SQL: {query}")
    text, table = sql_report(ctx, session(ctx), query)
    _finish(ctx, result=text, table=table, row_count=len(table["rows"]))


def sql_report(ctx: "NodeContext", sess: _Session, query: str) -> tuple[str, dict[str, Any]]:
    """A query's result as text for a person or an agent (a Markdown table), and as a table."""
    table = csv_table(run_sql(ctx, sess, query))
    count = len(table["rows"])
    return ("Query returned no results." if count == 0 else f"Query returned {count} rows:\n\n{_markdown(table)}"), table


@register("df_describe_table", "Describe Table", "Data/DataFusion/Tools",
          "The columns of a session table and their types, as text.",
          [EXEC_IN, SESSION_IN, inp("table_name", "Table Name", "String", default="data", description="The table."),
           DONE_OUT, out("schema", "Schema", "String", description="One line per column.")])
def df_describe_table(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    _finish(ctx, schema=describe_table(session(ctx), ctx.get("table_name")))


def table_schema(sess: _Session, name: Any, pin: str = "table_name") -> Any:
    """The Arrow schema of a session table; NodeError when there is no such table."""
    name = _table_name(name, pin)
    if not sess.context.table_exist(name):
        raise NodeError(f"no table '{name}' in the session")
    with df_errors(f"describing '{name}'"):
        return sess.context.table(name).schema()


def describe_table(sess: _Session, name: Any, pin: str = "table_name") -> str:
    lines = [f"Schema for table '{name}':"] + [f"  - {f.name} ({f.type})" for f in table_schema(sess, name, pin)]
    return "\n".join(lines) + "\n"


@register("df_list_tables", "List Tables", "Data/DataFusion/Tools", "The tables registered in the session.",
          [EXEC_IN, SESSION_IN, DONE_OUT,
           out("tables", "Tables", "Generic", description="Name, qualified name, catalog and schema of each."),
           out("table_names", "Table Names", "Generic", description="The names."),
           out("summary", "Summary", "String", description="One line for people and agents.")])
def df_list_tables(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    tables = list_tables(session(ctx))
    names = [t["name"] for t in tables]
    _finish(ctx, tables=tables, table_names=names, summary=tables_summary(names))


def list_tables(sess: _Session) -> list[dict[str, str]]:
    """Name, qualified name, catalog and schema of every table of the session, sorted."""
    context = sess.context
    tables = []
    with df_errors("listing the tables"):
        for catalog_name in sorted(context.catalog_names()):
            catalog = context.catalog(catalog_name)
            for schema_name in sorted(catalog.schema_names()):
                for table_name in sorted(catalog.schema(schema_name).names()):
                    tables.append({"name": table_name, "qualified_name": f"{catalog_name}.{schema_name}.{table_name}",
                                   "catalog": catalog_name, "schema": schema_name})
    return tables


def tables_summary(names: list[str]) -> str:
    return f"Available tables: {', '.join(names)}" if names else "No tables registered in the session."


# -- time helpers and aggregations ------------------------------------------------------------------

def _parse_datetime(text: str, pin: str, dates: bool = False) -> _dt.datetime:
    """RFC 3339 text, or 'YYYY-MM-DD[T ]HH:MM:SS' read as UTC (and 'YYYY-MM-DD' when ``dates``)."""
    t = text.strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", t):
        try:
            return _dt.datetime.fromisoformat(t.replace("z", "Z").replace("Z", "+00:00")).astimezone(_dt.timezone.utc)
        except ValueError:
            pass
    formats = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] + (["%Y-%m-%d"] if dates else [])
    for fmt in formats:
        try:
            return _dt.datetime.strptime(t, fmt).replace(tzinfo=_dt.timezone.utc)
        except ValueError:
            continue
    raise NodeError(f"input '{pin}': cannot read '{text}' as a date and time (RFC 3339 or 'YYYY-MM-DD HH:MM:SS')")


def _literal(moment: _dt.datetime) -> str:
    return f"TIMESTAMP '{moment.astimezone(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def _epoch_micros(moment: _dt.datetime) -> int:
    delta = moment - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@register("df_datetime_to_timestamp", "DateTime to SQL Timestamp", "Data/DataFusion/Time",
          "A date and time as an SQL TIMESTAMP literal (UTC) and as microseconds since 1970.",
          [inp("datetime", "DateTime", "Date", description="RFC 3339, or 'YYYY-MM-DD HH:MM:SS' in UTC."),
           out("timestamp_literal", "Timestamp Literal", "String", description="TIMESTAMP '...' for SQL."),
           out("epoch_micros", "Epoch Microseconds", "Integer", description="Microseconds since 1970 (UTC).")])
def df_datetime_to_timestamp(ctx: "NodeContext") -> None:
    moment = _parse_datetime(as_str(ctx.get("datetime"), "datetime"), "datetime")
    ctx.set("timestamp_literal", _literal(moment))
    ctx.set("epoch_micros", _epoch_micros(moment))


_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _range_point(text: str, pin: str, now: _dt.datetime) -> _dt.datetime:
    if text == "now":
        return now
    if text[:1] in ("-", "+"):
        number, unit = text[1:-1], text[-1:]
        if not number.isdigit():
            raise NodeError(f"input '{pin}': '{text}' is not a relative time like -24h or +7d")
        if unit not in _UNITS:
            raise NodeError(f"input '{pin}': unknown unit in '{text}': use s, m, h, d or w")
        amount = int(number) * (-1 if text[0] == "-" else 1)
        try:
            return now + _dt.timedelta(**{_UNITS[unit]: amount})
        except OverflowError:
            raise NodeError(f"input '{pin}': '{text}' is too far from now") from None
    return _parse_datetime(text, pin, dates=True)


@register("df_time_range_filter", "Time Range Filter", "Data/DataFusion/Time",
          "An SQL condition selecting a time range: absolute times, 'now', or relative ones like -24h.",
          [inp("timestamp_column", "Timestamp Column", "String", description="The column to compare."),
           inp("start_time", "Start Time", "String", default="-24h", description="Inclusive start."),
           inp("end_time", "End Time", "String", default="now", description="Exclusive end."),
           out("where_clause", "WHERE Clause", "String", description="column >= start AND column < end."),
           out("start_timestamp", "Start Timestamp", "String", description="The start as a TIMESTAMP literal."),
           out("end_timestamp", "End Timestamp", "String", description="The end as a TIMESTAMP literal.")])
def df_time_range_filter(ctx: "NodeContext") -> None:
    column = as_str(ctx.get("timestamp_column"), "timestamp_column")
    now = _dt.datetime.now(_dt.timezone.utc)
    start = _literal(_range_point(as_str(ctx.get("start_time"), "start_time"), "start_time", now))
    end = _literal(_range_point(as_str(ctx.get("end_time"), "end_time"), "end_time", now))
    ctx.set("where_clause", f"{column} >= {start} AND {column} < {end}")
    ctx.set("start_timestamp", start)
    ctx.set("end_timestamp", end)


AGG_SOURCE = inp("source_table", "Source Table", "String", description="The table to aggregate.")
AGG_TS = inp("timestamp_column", "Timestamp Column", "String", description="The time column.")
AGG_DONE = out("exec_out", "Output", "Execution")
AGG_SESSION_OUT = out("session_out", "Session", "Struct", schema=SESSION_SCHEMA, description="The same session.")
AGG_RESULTS = out("results", "Results", "Generic", description="The result rows as objects.")
AGG_SQL = out("sql", "SQL", "String", description="The query that ran.")

_INTERVALS = {
    **dict.fromkeys(("second", "1s", "s"), "1 second"),
    **dict.fromkeys(("minute", "1m", "m"), "1 minute"),
    **dict.fromkeys(("5m", "5min", "5_minutes", "five_minutes"), "5 minutes"),
    **dict.fromkeys(("15m", "15min", "15_minutes", "fifteen_minutes"), "15 minutes"),
    **dict.fromkeys(("30m", "30min", "30_minutes", "thirty_minutes"), "30 minutes"),
    **dict.fromkeys(("hour", "1h", "h"), "1 hour"),
    **dict.fromkeys(("day", "1d", "d"), "1 day"),
    **dict.fromkeys(("week", "1w", "w"), "1 week"),
    **dict.fromkeys(("month", "1mo", "mo"), "1 month"),
    **dict.fromkeys(("quarter", "q", "3mo"), "3 months"),
    **dict.fromkeys(("year", "1y", "y"), "1 year"),
}
_AGGREGATES = {"count": "COUNT", "sum": "SUM", "avg": "AVG", "min": "MIN", "max": "MAX", "first": "FIRST_VALUE",
               "last": "LAST_VALUE", "stddev": "STDDEV", "variance": "VARIANCE"}
_PRECISIONS = ("second", "minute", "hour", "day", "week", "month", "quarter", "year")


def _csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _where(ctx: "NodeContext") -> str:
    condition = as_str(ctx.get("filter"), "filter")
    return f" WHERE {condition}" if condition else ""


@register("df_time_bin_aggregation", "Time Bin Aggregation", "Data/DataFusion/Aggregation",
          "Groups rows into fixed time buckets and aggregates value columns per bucket (and group).",
          [EXEC_IN, SESSION_IN, AGG_SOURCE, AGG_TS,
           inp("interval", "Interval", "String", default="hour",
               description="second, minute, 5m, 15m, 30m, hour, day, week, month, quarter or year."),
           inp("value_columns", "Value Columns", "String", description="Columns to aggregate, comma-separated."),
           inp("aggregations", "Aggregations", "String", default="count,sum,avg",
               description="count, sum, avg, min, max, first, last, stddev, variance (comma-separated)."),
           inp("group_by", "Group By", "String", default="", description="Further grouping columns."),
           inp("filter", "Filter", "String", default="", description="An SQL condition on the rows."),
           inp("output_table", "Output Table", "String", default="",
               description="Also register the result as a view of this name."),
           AGG_DONE, AGG_SESSION_OUT, AGG_RESULTS, AGG_SQL,
           out("row_count", "Row Count", "Integer", description="How many buckets.")])
def df_time_bin_aggregation(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    interval_text = as_str(ctx.get("interval"), "interval")
    interval = _INTERVALS.get(interval_text.lower())
    if interval is None:
        raise NodeError(f"invalid interval '{interval_text}': use second, minute, 5m, 15m, 30m, hour, day, week, "
                        "month, quarter or year")
    sess = session(ctx)
    values = _csv_list(as_str(ctx.get("value_columns"), "value_columns"))
    if not values:
        raise NodeError("input 'value_columns' is empty: name at least one column to aggregate")
    aggregations = [a for a in _csv_list(as_str(ctx.get("aggregations"), "aggregations")) if a in _AGGREGATES]
    groups = _csv_list(as_str(ctx.get("group_by"), "group_by"))
    ts = as_str(ctx.get("timestamp_column"), "timestamp_column")
    select = [f"date_bin(INTERVAL '{interval}', {ts}, TIMESTAMP '1970-01-01') as time_bucket", *groups]
    select += [f"{_AGGREGATES[a]}({col}) as {col}_{a}" for col in values for a in aggregations]
    sql = (f"SELECT {', '.join(select)} FROM {as_str(ctx.get('source_table'), 'source_table')}{_where(ctx)} "
           f"GROUP BY {', '.join(['time_bucket', *groups])} ORDER BY time_bucket")
    ctx.set("sql", sql)
    result = run_sql(ctx, sess, sql)
    view = as_str(ctx.get("output_table"), "output_table")
    if view:
        name = _table_name(view, "output_table")
        with df_errors(f"registering the view '{name}'"):
            if sess.context.table_exist(name):
                sess.context.deregister_table(name)
            sess.context.register_view(name, sess.context.sql_with_options(sql, _sql_options()))
    _finish(ctx, session_out=ctx.get("session"), results=table_rows(result), row_count=result.num_rows)


@register("df_date_trunc_aggregation", "Date Truncate Aggregation", "Data/DataFusion/Aggregation",
          "Groups rows by calendar period (date_trunc) and computes the given aggregate expressions.",
          [EXEC_IN, SESSION_IN, AGG_SOURCE, AGG_TS,
           inp("precision", "Precision", "String", default="hour",
               description="second, minute, hour, day, week, month, quarter or year."),
           inp("aggregation_sql", "Aggregation SQL", "String",
               description="The aggregate expressions, e.g. COUNT(*) as n, AVG(v) as mean."),
           inp("filter", "Filter", "String", default="", description="An SQL condition on the rows."),
           AGG_DONE, AGG_SESSION_OUT, AGG_RESULTS, AGG_SQL])
def df_date_trunc_aggregation(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    precision = as_str(ctx.get("precision"), "precision").lower()
    if precision not in _PRECISIONS:
        raise NodeError(f"invalid precision '{precision}': use {', '.join(_PRECISIONS)}")
    sess = session(ctx)
    sql = (f"SELECT date_trunc('{precision}', {as_str(ctx.get('timestamp_column'), 'timestamp_column')}) "
           f"as time_period, {as_str(ctx.get('aggregation_sql'), 'aggregation_sql')} "
           f"FROM {as_str(ctx.get('source_table'), 'source_table')}{_where(ctx)} "
           "GROUP BY time_period ORDER BY time_period")
    ctx.set("sql", sql)
    result = run_sql(ctx, sess, sql)
    _finish(ctx, session_out=ctx.get("session"), results=table_rows(result))


_WINDOW_AGGREGATES = {"avg": "AVG", "sum": "SUM", "min": "MIN", "max": "MAX", "count": "COUNT"}


@register("df_window_aggregation", "Window Aggregation", "Data/DataFusion/Aggregation",
          "Adds a window function over the rows in time order (moving average, running sum, rank, lag...).",
          [EXEC_IN, SESSION_IN, AGG_SOURCE, AGG_TS,
           inp("value_column", "Value Column", "String", description="The column the function reads."),
           inp("window_function", "Window Function", "String", default="avg",
               description="avg, sum, min, max, count, row_number, rank, lag or lead."),
           inp("window_size", "Window Size", "Integer", default=10,
               description="Preceding rows in the frame (0: all preceding rows)."),
           inp("partition_by", "Partition By", "String", default="", description="Separate windows per these columns."),
           inp("select_columns", "Select Columns", "String", default="*", description="Columns to return."),
           AGG_DONE, AGG_SESSION_OUT, AGG_RESULTS, AGG_SQL])
def df_window_aggregation(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    sess = session(ctx)
    ts = as_str(ctx.get("timestamp_column"), "timestamp_column")
    value = as_str(ctx.get("value_column"), "value_column")
    function = as_str(ctx.get("window_function"), "window_function").lower()
    size = as_int(ctx.get("window_size"), "window_size")
    if size < 0:
        raise NodeError("input 'window_size' must not be negative")
    partition = as_str(ctx.get("partition_by"), "partition_by")
    over = f"{f'PARTITION BY {partition} ' if partition else ''}ORDER BY {ts}"
    frame = "ROWS UNBOUNDED PRECEDING" if size == 0 else f"ROWS BETWEEN {size} PRECEDING AND CURRENT ROW"
    if function in _WINDOW_AGGREGATES:
        expr = f"{_WINDOW_AGGREGATES[function]}({value}) OVER ({over} {frame})"
    elif function in ("row_number", "rank"):
        expr = f"{function.upper()}() OVER ({over})"
    elif function in ("lag", "lead"):
        expr = f"{function.upper()}({value}, 1) OVER ({over})"
    else:
        raise NodeError(f"unknown window function '{function}': use avg, sum, min, max, count, row_number, rank, "
                        "lag or lead")
    sql = (f"SELECT {as_str(ctx.get('select_columns'), 'select_columns')}, {expr} as window_result "
           f"FROM {as_str(ctx.get('source_table'), 'source_table')} ORDER BY {ts}")
    ctx.set("sql", sql)
    result = run_sql(ctx, sess, sql)
    _finish(ctx, session_out=ctx.get("session"), results=table_rows(result))


# -- outside databases ------------------------------------------------------------------------------

_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@register("df_register_postgres", "Register PostgreSQL", "Data/DataFusion/Databases",
          "Reads a PostgreSQL table into the session (its rows as they are now), through the egress policy.",
          [EXEC_IN, SESSION_IN,
           inp("host", "Host", "String", default="localhost", description="The server's host name or address."),
           inp("port", "Port", "Integer", default=5432, description="The server's port."),
           inp("database", "Database", "String", description="The database to read."),
           inp("username", "Username", "String", description="The user to sign in as."),
           inp("password", "Password", "String", description="The user's password."),
           inp("schema", "Schema", "String", default="public", description="The schema of the table."),
           inp("source_table", "Source Table", "String", description="The table to read."),
           TABLE_NAME_IN,
           inp("ssl_mode", "SSL Mode", "String", default="prefer", description="libpq's sslmode."),
           inp("readonly", "Read Only", "Boolean", default=True,
               description="Must stay on: the session's SQL cannot write."),
           DONE_OUT, LAKE_SESSION_OUT,
           out("connection_url", "Connection URL", "String", description="The server, without the password.")])
def df_register_postgres(ctx: "NodeContext") -> None:
    import psycopg
    from psycopg import sql

    from ... import http_egress

    ctx.deactivate("exec_out")
    sess = session(ctx)
    host = as_str(ctx.get("host"), "host")
    port = http_egress.check_port(as_int(ctx.get("port"), "port"))
    database, username = as_str(ctx.get("database"), "database"), as_str(ctx.get("username"), "username")
    schema, source = as_str(ctx.get("schema"), "schema"), as_str(ctx.get("source_table"), "source_table")
    name = _table_name(ctx.get("table_name"))
    ssl_mode = as_str(ctx.get("ssl_mode"), "ssl_mode")
    if ssl_mode not in _SSL_MODES:
        raise NodeError(f"input 'ssl_mode': '{ssl_mode}' is not one of {', '.join(_SSL_MODES)}")
    if not as_bool(ctx.get("readonly"), "readonly"):
        raise NodeError("input 'readonly': writing to PostgreSQL through a session is not supported (SQL here "
                        "cannot insert or update); leave Read Only on")
    if not source:
        raise NodeError("input 'source_table' is empty")
    url = f"postgresql://{username}:****@{host}:{port}/{database}?sslmode={ssl_mode}"
    address = http_egress.resolve_checked(host, port, ctx.egress)
    seconds = max(1, int(min(30.0, ctx.time_left())))
    try:
        # host stays the name (TLS checks it); hostaddr pins the connection to the checked address
        with psycopg.connect(host=host, hostaddr=address, port=port, dbname=database, user=username,
                             password=as_str(ctx.get("password"), "password"), sslmode=ssl_mode,
                             connect_timeout=seconds, options=f"-c statement_timeout={seconds * 1000}",
                             application_name="boardrun") as conn:
            conn.read_only = True
            with conn.cursor() as cursor:
                cursor.execute(sql.SQL("SELECT * FROM {}.{} LIMIT %s").format(
                    sql.Identifier(schema), sql.Identifier(source)), (MAX_ROWS + 1,))
                columns = [column.name for column in cursor.description or []]
                rows = cursor.fetchall()
    except psycopg.Error as exc:
        raise NodeError(f"PostgreSQL: reading {schema}.{source} failed: {str(exc).strip()}") from None
    _register_rows(sess, name, columns, rows, f"PostgreSQL table {schema}.{source}")
    _finish(ctx, session_out=ctx.get("session"), connection_url=url)


def _register_rows(sess: _Session, name: str, columns: list[str], rows: list[Any], what: str) -> None:
    """Register rows read from a database (at most ``MAX_ROWS``, read with one more to tell)."""
    import pyarrow as pa

    if len(rows) > MAX_ROWS:
        raise NodeError(f"{what} has more than {MAX_ROWS} rows: too many to register in a session")
    try:
        table = pa.Table.from_pylist([dict(zip(columns, row)) for row in rows]) if rows else pa.table(
            {c: pa.array([], type=pa.string()) for c in columns})
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise NodeError(f"the rows of {what} do not convert to Arrow: {exc}") from None
    _register_arrow(sess, name, table)


# -- Delta Lake and Iceberg tables in the app's storage ---------------------------------------------
# Both formats record their data files by URL, so a table's log or metadata, like any app file, is
# board input: every file a table names must lie under the table's own folder of the app, or the
# node refuses it (a crafted log could otherwise name another app's objects or the server's disk).

LAKES = "Data/DataFusion/Lakes"


def _lake_location(ctx: "NodeContext", pin: str) -> tuple[Any, str]:
    """The checked location of the folder on ``pin`` and the URI the lake libraries open it by."""
    files = ctx.files
    loc = files.locate(ctx.get(pin), pin)
    return loc, files.uri(loc).rstrip("/")


def _inside(uri: str, root: str) -> bool:
    """Whether a file URI a table names lies under ``root`` (a local path or an s3:// URL)."""
    import posixpath
    from urllib.parse import unquote

    uri = unquote(uri)
    if uri.startswith("file://"):
        uri = uri[len("file://"):]
    scheme, sep, rest = uri.partition("://")
    # '..' segments are resolved first: a path may not climb out of the folder it starts in
    uri = f"{scheme}{sep}{posixpath.normpath(rest)}" if sep else posixpath.normpath(uri)
    return uri.startswith(root + "/")


def _check_inside(uris: Any, root: str, what: str) -> None:
    for uri in uris:
        if not _inside(str(uri), root):
            raise NodeError(f"the {what} names a file outside its folder of the app ('{uri}'): refused")


def _delta_options(ctx: "NodeContext", loc: Any) -> dict[str, str]:
    """delta-rs storage options for Boardrun's S3 storage (none for the local folder)."""
    o = ctx.files.storage_options(loc)
    if not o:
        return {}
    names = {"region": "AWS_REGION", "endpoint": "AWS_ENDPOINT_URL", "allow_http": "AWS_ALLOW_HTTP",
             "aws_access_key_id": "AWS_ACCESS_KEY_ID", "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
             "aws_session_token": "AWS_SESSION_TOKEN"}
    # concurrent writers are made safe by S3's conditional writes instead of a lock table; one request
    # may take no longer than the run has left
    return {**{names[k]: v for k, v in o.items() if k in names}, "conditional_put": "etag",
            "timeout": f"{max(1, int(min(60.0, ctx.time_left())))}s"}


@contextlib.contextmanager
def _lake_errors(action: str) -> Iterator[None]:
    try:
        yield
    except NodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - deltalake and pyiceberg raise many kinds (missing log, bad JSON, IO)
        raise NodeError(f"{action}: {str(exc).strip() or type(exc).__name__}") from None


def _open_delta(ctx: "NodeContext", version: int | None = None, moment: _dt.datetime | None = None) -> Any:
    """The Delta table in the folder on ``path`` (the latest, or one version or point in time)."""
    from deltalake import DeltaTable

    loc, uri = _lake_location(ctx, "path")
    with _lake_errors("Failed to open Delta table"):
        table = DeltaTable(uri, storage_options=_delta_options(ctx, loc))
        if version is not None:
            table.load_as_version(version)
        elif moment is not None:
            table.load_as_version(moment)
        _check_inside(table.file_uris(), uri, "Delta log")
    return table


def _register_delta(ctx: "NodeContext", table: Any) -> None:
    sess = session(ctx)
    name = _table_name(ctx.get("table_name"))
    # delta-rs' own DataFusion provider cannot reach the session's S3 stores across the FFI
    # boundary; its Arrow dataset reads through delta-rs' file system on both stores
    with df_errors(f"registering '{name}'"):
        dataset = table.to_pyarrow_dataset()
        if sess.context.table_exist(name):
            sess.context.deregister_table(name)
        sess.context.register_dataset(name, dataset)


@register("df_register_delta", "Register Delta Table", LAKES,
          "Makes a Delta Lake table in an app folder a table of the session (the latest or one version).",
          [EXEC_IN, SESSION_IN, inp("path", "Path", "Struct", schema="FlowPath", description="The table's folder."),
           inp("table_name", "Table Name", "String", description="The name SQL uses for the table."),
           inp("version", "Version", "Integer", default=-1, description="The version to read (-1: the latest)."),
           DONE_OUT, LAKE_SESSION_OUT,
           out("table_version", "Table Version", "Integer", description="The version registered.")])
def df_register_delta(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    version = as_int(ctx.get("version"), "version")
    table = _open_delta(ctx, version=version if version >= 0 else None)
    _register_delta(ctx, table)
    _finish(ctx, session_out=ctx.get("session"), table_version=table.version())


@register("df_delta_time_travel", "Delta Time Travel", LAKES,
          "Registers a Delta table as it was at one version or point in time.",
          [EXEC_IN, SESSION_IN, inp("path", "Path", "Struct", schema="FlowPath", description="The table's folder."),
           inp("table_name", "Table Name", "String", description="The name SQL uses for the table."),
           inp("travel_mode", "Travel Mode", "String", default="version", description="'version' or 'timestamp'."),
           inp("version", "Version", "Integer", default=0, description="The version (mode 'version')."),
           inp("timestamp", "Timestamp", "String", default="", description="RFC 3339 time (mode 'timestamp')."),
           DONE_OUT, LAKE_SESSION_OUT,
           out("loaded_version", "Loaded Version", "Integer", description="The version registered.")])
def df_delta_time_travel(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    mode = as_str(ctx.get("travel_mode"), "travel_mode")
    if mode.lower() == "version":
        version = as_int(ctx.get("version"), "version")
        if version < 0:
            raise NodeError("input 'version' must not be negative")
        table = _open_delta(ctx, version=version)
    elif mode.lower() == "timestamp":
        text = as_str(ctx.get("timestamp"), "timestamp").strip()
        try:
            moment = _dt.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None or "T" not in text.upper():
            raise NodeError(f"Invalid timestamp format: '{text}' (use RFC 3339, e.g. 2026-01-01T00:00:00Z)")
        table = _open_delta(ctx, moment=moment)
    else:
        raise NodeError(f"Invalid travel mode: {mode}. Use 'version' or 'timestamp'")
    _register_delta(ctx, table)
    _finish(ctx, session_out=ctx.get("session"), loaded_version=table.version())


def _delta_type(data_type: Any) -> str:
    """A Delta column type as Delta's schema names it: 'long', 'string', or the JSON of a nested type."""
    name = getattr(data_type, "type", None)
    return name if isinstance(name, str) else data_type.to_json()


@register("df_delta_info", "Delta Table Info", LAKES,
          "The current version, columns, recent history and partition columns of a Delta table.",
          [EXEC_IN, inp("path", "Path", "Struct", schema="FlowPath", description="The table's folder."),
           inp("history_limit", "History Limit", "Integer", default=10, description="At most this many commits."),
           out("exec_out", "Done", "Execution"),
           out("current_version", "Current Version", "Integer", description="The latest version."),
           out("schema", "Schema", "Generic", description="{fields: [{name, type, nullable}]}."),
           out("history", "History", "Generic", description="[{timestamp, operation}], newest first."),
           out("partitions", "Partitions", "Generic", description="The partition columns.")])
def df_delta_info(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    limit = as_int(ctx.get("history_limit"), "history_limit")
    if limit < 0:
        raise NodeError("input 'history_limit' must not be negative")
    table = _open_delta(ctx)
    with _lake_errors("Failed to read the Delta table's metadata"):
        fields = [{"name": f.name, "type": _delta_type(f.type), "nullable": f.nullable}
                  for f in table.schema().fields]
        partitions = list(table.metadata().partition_columns)
    _finish(ctx, current_version=table.version(), schema={"fields": fields}, history=_delta_history(ctx, limit),
            partitions=partitions)


def _delta_history(ctx: "NodeContext", limit: int) -> list[dict[str, Any]]:
    """{timestamp, operation} of the newest ``limit`` commits still in the log, newest first.

    Read from the commit files through the app's file services: delta-rs' own history call lists
    the log with S3's start-after and stalled on the S3 servers tested here.
    """
    import json

    from ... import files as filesmod

    files = ctx.files
    log = files.locate(ctx.get("path"), "path")
    log = log.with_rel(filesmod.join(log.rel, "_delta_log"))
    commits = [rel for rel in files.list(log, recursive=False) if re.fullmatch(r"\d{20}\.json", rel.rsplit("/", 1)[-1])]
    history = []
    for rel in sorted(commits, reverse=True)[:limit]:
        ctx.checkpoint()
        for line in files.read(log.with_rel(rel)).splitlines():
            try:
                info = json.loads(line).get("commitInfo") if line.strip() else None
            except (ValueError, AttributeError):
                raise NodeError(f"the Delta log file '{rel}' is not valid JSON lines") from None
            if isinstance(info, dict):
                history.append({"timestamp": info.get("timestamp"), "operation": info.get("operation")})
                break
    return history


_DELTA_MODES = {"append": "append", "overwrite": "overwrite", "error": "error", "errorifexists": "error",
                "ignore": "ignore"}


@register("df_write_delta", "Write Delta Table", LAKES,
          "Writes the result of a query into a Delta table in an app folder (created when missing).",
          [EXEC_IN, SESSION_IN, inp("query", "Query", "String", description="A SELECT query of the session."),
           inp("path", "Path", "Struct", schema="FlowPath", description="The table's folder."),
           inp("mode", "Mode", "String", default="append", description="append, overwrite, error or ignore."),
           inp("partition_by", "Partition By", "String", default="",
               description="Partition columns, comma-separated (for a new table)."),
           DONE_OUT, LAKE_SESSION_OUT,
           out("rows_written", "Rows Written", "Integer", description="Rows the query returned."),
           out("new_version", "New Version", "Integer", description="The table's version after the write.")])
def df_write_delta(ctx: "NodeContext") -> None:
    from deltalake import DeltaTable, write_deltalake

    ctx.deactivate("exec_out")
    mode_text = as_str(ctx.get("mode"), "mode")
    mode = _DELTA_MODES.get(mode_text.lower())
    if mode is None:
        raise NodeError(f"Invalid write mode: {mode_text} (use append, overwrite, error or ignore)")
    partitions = _csv_list(as_str(ctx.get("partition_by"), "partition_by"))
    result = run_sql(ctx, session(ctx), as_str(ctx.get("query"), "query"))
    if result.num_rows == 0:  # nothing to write: no commit, as Flow-Like
        _finish(ctx, session_out=ctx.get("session"), rows_written=0, new_version=0)
        return
    loc, uri = _lake_location(ctx, "path")
    options = _delta_options(ctx, loc)
    with _lake_errors("Failed to write to Delta table"):
        write_deltalake(uri, result, mode=mode, partition_by=partitions or None, storage_options=options)
        version = DeltaTable(uri, storage_options=options).version()
    _finish(ctx, session_out=ctx.get("session"), rows_written=result.num_rows, new_version=version)


def _iceberg_table(ctx: "NodeContext") -> tuple[Any, str]:
    """The Iceberg table whose metadata file is ``metadata_file`` under ``warehouse_path``, and that folder's URI."""
    from pyiceberg.table import StaticTable

    from ... import files as filesmod

    loc, root = _lake_location(ctx, "warehouse_path")
    metadata = filesmod.check_relative(as_str(ctx.get("metadata_file"), "metadata_file"), "input 'metadata_file'")
    meta_loc = loc.with_rel(filesmod.join(loc.rel, metadata))
    if ctx.files.head(meta_loc) is None:
        raise NodeError(f"Failed to load Iceberg table: no metadata file '{metadata}' in the warehouse folder")
    o = ctx.files.storage_options(meta_loc)
    names = {"endpoint": "s3.endpoint", "region": "s3.region", "aws_access_key_id": "s3.access-key-id",
             "aws_secret_access_key": "s3.secret-access-key", "aws_session_token": "s3.session-token"}
    with _lake_errors("Failed to load Iceberg table"):
        table = StaticTable.from_metadata(ctx.files.uri(meta_loc),
                                          properties={names[k]: v for k, v in o.items() if k in names})
    _check_inside([table.metadata.location], root, "Iceberg metadata")
    _check_inside([s.manifest_list for s in table.metadata.snapshots], root, "Iceberg metadata")
    return table, root


def _register_iceberg(ctx: "NodeContext", table: Any, root: str, snapshot_id: int | None) -> None:
    """Register the rows of one snapshot (the current one when None) of an Iceberg table."""
    sess = session(ctx)
    name = _table_name(ctx.get("table_name"))
    with _lake_errors("Failed to read the Iceberg table"):
        if snapshot_id is not None:
            snapshot = table.metadata.snapshot_by_id(snapshot_id)
            if snapshot is None:
                raise NodeError(f"Failed to create table provider: no snapshot {snapshot_id} in the table")
            _check_inside([m.manifest_path for m in snapshot.manifests(table.io)], root, "Iceberg manifest list")
        scan = table.scan(snapshot_id=snapshot_id)
        tasks = list(scan.plan_files())
        _check_inside([t.file.file_path for t in tasks], root, "Iceberg manifest")
        _check_inside([d.file_path for t in tasks for d in t.delete_files], root, "Iceberg manifest")
        if sum(t.file.record_count for t in tasks) > MAX_ROWS:
            raise NodeError(f"the Iceberg table has more than {MAX_ROWS} rows: too many to register in a session")
        ctx.checkpoint()
        rows = scan.to_arrow()
    _register_arrow(sess, name, rows)


def _snapshot_text(table: Any) -> str:
    current = table.metadata.current_snapshot()
    return str(current.snapshot_id) if current is not None else "none"


ICEBERG_IN = [inp("warehouse_path", "Warehouse Path", "Struct", schema="FlowPath",
                  description="The app folder holding the table."),
              inp("metadata_file", "Metadata File", "String",
                  description="The table's metadata JSON, relative to the warehouse folder.")]
ICEBERG_NAME_IN = inp("table_name", "DataFusion Name", "String", description="The name SQL uses for the table.")


@register("df_register_iceberg", "Register Iceberg Table", LAKES,
          "Makes the current snapshot of an Iceberg table in an app folder a table of the session.",
          [EXEC_IN, SESSION_IN, *ICEBERG_IN, ICEBERG_NAME_IN, DONE_OUT, LAKE_SESSION_OUT,
           out("current_snapshot", "Current Snapshot", "String", description="Its id, or 'none'."),
           out("schema_info", "Schema Info", "Integer", description="How many columns.")])
def df_register_iceberg(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table, root = _iceberg_table(ctx)
    _register_iceberg(ctx, table, root, None)
    _finish(ctx, session_out=ctx.get("session"), current_snapshot=_snapshot_text(table),
            schema_info=len(table.metadata.schema().fields))


@register("df_iceberg_info", "Iceberg Table Info", LAKES,
          "The current snapshot, columns, snapshots, partition spec and properties of an Iceberg table.",
          [EXEC_IN, *ICEBERG_IN, out("exec_out", "Done", "Execution"),
           out("current_snapshot", "Current Snapshot", "String", description="Its id, or 'none'."),
           out("schema", "Schema", "Struct", description="{schema_id, fields: [{id, name, required}]}."),
           out("snapshots", "Snapshots", "Struct", description="[{snapshot_id, timestamp_ms, parent_snapshot_id}]."),
           out("partition_spec", "Partition Spec", "Struct", description="{spec_id, fields_count}."),
           out("properties", "Properties", "Struct", description="The table's properties.")])
def df_iceberg_info(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table = _iceberg_table(ctx)[0]
    metadata = table.metadata
    schema = metadata.schema()
    spec = metadata.spec()
    _finish(ctx, current_snapshot=_snapshot_text(table),
            schema={"schema_id": schema.schema_id,
                    "fields": [{"id": f.field_id, "name": f.name, "required": f.required} for f in schema.fields]},
            snapshots=[{"snapshot_id": s.snapshot_id, "timestamp_ms": s.timestamp_ms,
                        "parent_snapshot_id": s.parent_snapshot_id} for s in metadata.snapshots],
            partition_spec={"spec_id": spec.spec_id, "fields_count": len(spec.fields)},
            properties=dict(metadata.properties))


@register("df_iceberg_time_travel", "Iceberg Time Travel", LAKES,
          "Registers an Iceberg table as it was at one snapshot, or at a point in time.",
          [EXEC_IN, SESSION_IN, *ICEBERG_IN, ICEBERG_NAME_IN,
           inp("travel_mode", "Travel Mode", "String", default="snapshot", description="'snapshot' or 'timestamp'."),
           inp("snapshot_id", "Snapshot ID", "String", default="", description="The snapshot (empty: the current one)."),
           inp("timestamp_ms", "Timestamp", "Integer", default=0,
               description="Milliseconds since 1970 (mode 'timestamp'): the last snapshot at or before it."),
           DONE_OUT, LAKE_SESSION_OUT,
           out("loaded_snapshot", "Loaded Snapshot", "String", description="The snapshot registered.")])
def df_iceberg_time_travel(ctx: "NodeContext") -> None:
    ctx.deactivate("exec_out")
    table, root = _iceberg_table(ctx)
    snapshots = table.metadata.snapshots
    if as_str(ctx.get("travel_mode"), "travel_mode") == "timestamp":
        moment = as_int(ctx.get("timestamp_ms"), "timestamp_ms")
        earlier = [s for s in snapshots if s.timestamp_ms <= moment]
        if not earlier:
            raise NodeError(f"No snapshot found at or before timestamp {moment}")
        target = max(earlier, key=lambda s: s.timestamp_ms).snapshot_id
    else:
        text = as_str(ctx.get("snapshot_id"), "snapshot_id").strip()
        if not text:
            if table.metadata.current_snapshot_id is None:
                raise NodeError("No current snapshot available")
            target = table.metadata.current_snapshot_id
        elif re.fullmatch(r"-?\d+", text):
            target = int(text)
        else:
            raise NodeError(f"Invalid snapshot ID: '{text}'")
    _register_iceberg(ctx, table, root, target)
    _finish(ctx, session_out=ctx.get("session"), loaded_snapshot=str(target))


# -- database files of the app and MySQL --------------------------------------------------------------
# Register SQLite and Register DuckDB take Flow-Like's File Path text: here it names a file in the
# app's storage folder (as a path from Storage Directory would), never a path of the server's disk.

def _app_database_file(ctx: "NodeContext") -> Any:
    from ... import files as filesmod

    text = as_str(ctx.get("file_path"), "file_path")
    return ctx.files.locate(filesmod.flow_path(filesmod.SCOPE_STORAGE, text), "file_path")


def _source_table(ctx: "NodeContext") -> str:
    source = as_str(ctx.get("source_table"), "source_table")
    if not source:
        raise NodeError("input 'source_table' is empty")
    return source


def _quoted(name: str, quote: str = '"') -> str:
    return quote + name.replace(quote, quote * 2) + quote


@register("df_register_sqlite", "Register SQLite", "Data/DataFusion/Databases",
          "Reads a table of an SQLite file in the app's storage folder into the session (read-only).",
          [EXEC_IN, SESSION_IN,
           inp("file_path", "File Path", "String", description="The database file, in the app's storage folder."),
           inp("source_table", "Source Table", "String", description="The table to read."),
           TABLE_NAME_IN,
           inp("readonly", "Read Only", "Boolean", default=True, description="SQLite files are always read-only here."),
           DONE_OUT, LAKE_SESSION_OUT])
def df_register_sqlite(ctx: "NodeContext") -> None:
    import sqlite3
    import time

    from ._local import local_copy

    ctx.deactivate("exec_out")
    sess = session(ctx)
    name = _table_name(ctx.get("table_name"))
    source = _source_table(ctx)
    if not as_bool(ctx.get("readonly"), "readonly"):
        ctx.log("Warn", "SQLite read-write mode is not supported, using read-only")
    loc = _app_database_file(ctx)
    if ctx.files.head(loc) is None:
        raise NodeError(f"SQLite file not found: '{loc.rel}'")
    if ctx.files.read_range(loc, 0, 16) != b"SQLite format 3\x00":
        raise NodeError(f"'{loc.rel}' is not an SQLite database file")
    deadline = time.monotonic() + ctx.time_left()
    with local_copy(ctx, loc, "file_path", ".sqlite") as path:
        # immutable: no lock or journal file is written next to the app's file
        conn = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            # a long query stops at the run's deadline (SQLite calls this every 10 000 VM steps)
            conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            cursor = conn.execute(f"SELECT * FROM {_quoted(source)} LIMIT ?", (MAX_ROWS + 1,))
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchall()
        except sqlite3.Error as exc:
            raise NodeError(f"SQLite: reading '{source}' failed: {exc}") from None
        finally:
            conn.close()
    _register_rows(sess, name, columns, rows, f"SQLite table '{source}'")
    _finish(ctx, session_out=ctx.get("session"))


@register("df_register_duckdb", "Register DuckDB", "Data/DataFusion/Databases",
          "Reads a table of a DuckDB file in the app's storage folder into the session.",
          [EXEC_IN, SESSION_IN,
           inp("file_path", "File Path", "String", default=":memory:",
               description="The database file, in the app's storage folder (:memory: for an empty database)."),
           inp("source_table", "Source Table", "String", description="The table to read."),
           TABLE_NAME_IN,
           inp("readonly", "Read Only", "Boolean", default=True,
               description="Must stay on: the session's SQL cannot write."),
           DONE_OUT, LAKE_SESSION_OUT])
def df_register_duckdb(ctx: "NodeContext") -> None:
    import threading

    import duckdb

    from ._local import local_copy

    ctx.deactivate("exec_out")
    sess = session(ctx)
    name = _table_name(ctx.get("table_name"))
    source = _source_table(ctx)
    if not as_bool(ctx.get("readonly"), "readonly"):
        raise NodeError("input 'readonly': writing to DuckDB through a session is not supported (SQL here "
                        "cannot insert or update); leave Read Only on")
    text = as_str(ctx.get("file_path"), "file_path")
    # no file, extension or URL outside the database: a table name like 'x.csv' would otherwise
    # be read as a file by DuckDB's replacement scans
    config = {"enable_external_access": False, "autoload_known_extensions": False,
              "autoinstall_known_extensions": False, "lock_configuration": True}
    with contextlib.ExitStack() as stack:
        if text == ":memory:":
            path, read_only = ":memory:", False
        else:
            loc = _app_database_file(ctx)
            if ctx.files.head(loc) is None:
                raise NodeError(f"DuckDB file not found: '{loc.rel}'")
            path, read_only = stack.enter_context(local_copy(ctx, loc, "file_path", ".duckdb")), True
        try:
            conn = duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise NodeError(f"DuckDB connection failed: {exc}") from None
        stack.callback(conn.close)
        timer = threading.Timer(ctx.time_left(), conn.interrupt)  # a long query stops at the run's deadline
        timer.start()
        stack.callback(timer.cancel)
        try:
            table = conn.sql(f"SELECT * FROM {_quoted(source)} LIMIT {MAX_ROWS + 1}").to_arrow_table()
        except duckdb.Error as exc:
            raise NodeError(f"DuckDB: reading '{source}' failed: {exc}") from None
    if table.num_rows > MAX_ROWS:
        raise NodeError(f"DuckDB table '{source}' has more than {MAX_ROWS} rows: too many to register in a session")
    _register_arrow(sess, name, table)
    _finish(ctx, session_out=ctx.get("session"))


_MYSQL_SSL = {"disabled", "preferred", "required", "verify_ca", "verify_identity"}


@register("df_register_mysql", "Register MySQL", "Data/DataFusion/Databases",
          "Reads a MySQL or MariaDB table into the session (its rows as they are now), through the egress policy.",
          [EXEC_IN, SESSION_IN,
           inp("host", "Host", "String", default="localhost", description="The server's host name or address."),
           inp("port", "Port", "Integer", default=3306, description="The server's port."),
           inp("database", "Database", "String", description="The database to read."),
           inp("username", "Username", "String", description="The user to sign in as."),
           inp("password", "Password", "String", description="The user's password."),
           inp("source_table", "Source Table", "String", description="The table to read."),
           TABLE_NAME_IN,
           inp("ssl_mode", "SSL Mode", "String", default="preferred",
               description="disabled, preferred, required, verify_ca or verify_identity."),
           inp("readonly", "Read Only", "Boolean", default=True,
               description="Must stay on: the session's SQL cannot write."),
           DONE_OUT, LAKE_SESSION_OUT,
           out("connection_url", "Connection URL", "String", description="The server, without the password.")])
def df_register_mysql(ctx: "NodeContext") -> None:
    import pymysql

    from ... import http_egress

    ctx.deactivate("exec_out")
    sess = session(ctx)
    host = as_str(ctx.get("host"), "host")
    port = http_egress.check_port(as_int(ctx.get("port"), "port"))
    database, username = as_str(ctx.get("database"), "database"), as_str(ctx.get("username"), "username")
    source = _source_table(ctx)
    name = _table_name(ctx.get("table_name"))
    ssl_mode = as_str(ctx.get("ssl_mode"), "ssl_mode").lower().replace("-", "_")
    if ssl_mode not in _MYSQL_SSL:
        raise NodeError(f"input 'ssl_mode': '{ssl_mode}' is not one of {', '.join(sorted(_MYSQL_SSL))}")
    if not as_bool(ctx.get("readonly"), "readonly"):
        raise NodeError("input 'readonly': writing to MySQL through a session is not supported (SQL here "
                        "cannot insert or update); leave Read Only on")
    url = f"mysql://{username}:****@{host}:{port}/{database}?ssl-mode={ssl_mode}"
    seconds = max(1.0, min(30.0, ctx.time_left()))
    tls: dict[str, Any] = {}
    if ssl_mode == "disabled":
        tls = {"ssl_disabled": True}
    elif ssl_mode != "preferred":  # preferred: TLS when the server offers it, pymysql's default
        tls = {"ssl": {"verify_mode": ssl_mode != "required", "check_hostname": ssl_mode == "verify_identity"}}
    # host stays the name (TLS checks it); the socket is connected to the egress-checked address
    sock = http_egress.connect_checked(ctx.egress, host, port, seconds)
    try:
        conn = pymysql.connect(host=host, port=port, user=username, password=as_str(ctx.get("password"), "password"),
                               database=database or None, connect_timeout=seconds, read_timeout=seconds,
                               write_timeout=seconds, defer_connect=True, charset="utf8mb4", **tls)
        conn.connect(sock)
        with conn:
            with conn.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
                cursor.execute(f"SELECT * FROM {_quoted(database, '`')}.{_quoted(source, '`')} LIMIT %s",
                               (MAX_ROWS + 1,))
                columns = [d[0] for d in cursor.description or []]
                rows = list(cursor.fetchall())
    except pymysql.MySQLError as exc:
        sock.close()
        raise NodeError(f"MySQL: reading {database}.{source} failed: {_mysql_reason(exc)}") from None
    _register_rows(sess, name, columns, rows, f"MySQL table {database}.{source}")
    _finish(ctx, session_out=ctx.get("session"), connection_url=url)


def _mysql_reason(exc: Exception) -> str:
    """pymysql's (code, text) pair as 'text (code)'; it never holds the password."""
    args = getattr(exc, "args", ())
    if len(args) == 2 and isinstance(args[0], int):
        return f"{args[1]} ({args[0]})"
    return str(exc) or type(exc).__name__


@register("df_register_clickhouse", "Register ClickHouse", "Data/DataFusion/Databases",
          "Reads a ClickHouse table into the session over its HTTP interface, through the egress policy.",
          [EXEC_IN, SESSION_IN,
           inp("host", "Host", "String", default="localhost", description="The server's host name or address."),
           inp("port", "Port", "Integer", default=8123, description="The server's HTTP port."),
           inp("database", "Database", "String", default="default", description="The database to read."),
           inp("username", "Username", "String", default="default", description="The user to sign in as."),
           inp("password", "Password", "String", default="", description="The user's password."),
           inp("source_table", "Source Table", "String", description="The table to read."),
           TABLE_NAME_IN,
           inp("readonly", "Read Only", "Boolean", default=True, description="ClickHouse tables are read-only here."),
           DONE_OUT, LAKE_SESSION_OUT,
           out("connection_url", "Connection URL", "String", description="The server, without the password.")])
def df_register_clickhouse(ctx: "NodeContext") -> None:
    import base64
    import json
    from urllib.parse import urlencode

    from ... import http_egress

    ctx.deactivate("exec_out")
    sess = session(ctx)
    host = as_str(ctx.get("host"), "host")
    port = http_egress.check_port(as_int(ctx.get("port"), "port"))
    database, username = as_str(ctx.get("database"), "database"), as_str(ctx.get("username"), "username")
    source = _source_table(ctx)
    name = _table_name(ctx.get("table_name"))
    if not as_bool(ctx.get("readonly"), "readonly"):
        ctx.log("Warn", "ClickHouse tables are read-only here: the session's SQL cannot write to them")
    url = f"http://{username}:****@{host}:{port}/{database}"
    seconds = max(1, int(min(30.0, ctx.time_left())))
    # readonly=2: no writes, DDL or changed server state, but these per-query settings are allowed
    params = {"database": database, "readonly": "2", "max_execution_time": str(seconds),
              "output_format_json_quote_64bit_integers": "0", "max_result_rows": str(MAX_ROWS),
              "result_overflow_mode": "throw"}
    credentials = base64.b64encode(f"{username}:{as_str(ctx.get('password'), 'password')}".encode()).decode()
    query = f"SELECT * FROM {_quoted(database, '`')}.{_quoted(source, '`')} FORMAT JSONCompact"
    reply = http_egress.send(ctx.egress, "POST", f"http://{host}:{port}/?{urlencode(params)}",
                             {"Authorization": f"Basic {credentials}"}, query.encode(), time_left=ctx.time_left())
    text = reply.body.decode("utf-8", "replace").strip()
    if reply.status_code != 200:
        if "TOO_MANY_ROWS" in text or "Code: 396" in text:
            raise NodeError(f"ClickHouse table {database}.{source} has more than {MAX_ROWS} rows: too many to "
                            "register in a session")
        raise NodeError(f"ClickHouse: reading {database}.{source} failed (HTTP {reply.status_code}): {text[:500]}")
    try:
        answer = json.loads(text)
        columns = [column["name"] for column in answer["meta"]]
        rows = answer["data"]
    except (ValueError, KeyError, TypeError):
        raise NodeError(f"ClickHouse: the answer from {host}:{port} is not ClickHouse's JSONCompact") from None
    _register_rows(sess, name, columns, rows, f"ClickHouse table {database}.{source}")
    _finish(ctx, session_out=ctx.get("session"), connection_url=url)


def _protobuf_field(number: int, data: bytes) -> bytes:
    """One length-delimited protobuf field (all a Flight SQL statement command needs)."""
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            low, n = n & 0x7F, n >> 7
            out.append(low | (0x80 if n else 0))
            if not n:
                return bytes(out)

    return varint(number << 3 | 2) + varint(len(data)) + data


# Flight SQL's CommandStatementQuery {1: query}, wrapped in a protobuf Any {1: type URL, 2: message}
_FLIGHT_SQL_QUERY = b"type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery"


@register("df_register_flightsql", "Register FlightSQL", "Data/DataFusion/Databases",
          "Runs a query on an Arrow Flight SQL server and registers its result, through the egress policy.",
          [EXEC_IN, SESSION_IN,
           inp("host", "Host", "String", default="localhost", description="The server's host name or address."),
           inp("port", "Port", "Integer", default=443, description="The server's port."),
           inp("username", "Username", "String", default="", description="For basic authentication (optional)."),
           inp("password", "Password/Token", "String", default="", description="The user's password."),
           inp("query", "Query", "String", description="The SQL the server runs."),
           TABLE_NAME_IN,
           inp("use_tls", "Use TLS", "Boolean", default=True, description="Connect with TLS."),
           inp("skip_verify", "Skip TLS Verify", "Boolean", default=False,
               description="Accept any server certificate (for self-signed test servers)."),
           DONE_OUT, LAKE_SESSION_OUT,
           out("endpoint", "Endpoint", "String", description="The server's address.")])
def df_register_flightsql(ctx: "NodeContext") -> None:
    import socket

    import pyarrow as pa
    from pyarrow import flight

    from ... import http_egress

    ctx.deactivate("exec_out")
    sess = session(ctx)
    host = as_str(ctx.get("host"), "host")
    port = http_egress.check_port(as_int(ctx.get("port"), "port"))
    username, password = as_str(ctx.get("username"), "username"), as_str(ctx.get("password"), "password")
    query = as_str(ctx.get("query"), "query")
    if not query.strip():
        raise NodeError("input 'query' is empty")
    name = _table_name(ctx.get("table_name"))
    tls = as_bool(ctx.get("use_tls"), "use_tls")
    skip_verify = as_bool(ctx.get("skip_verify"), "skip_verify")
    endpoint = f"{'https' if tls else 'http'}://{host}:{port}"
    address = http_egress.resolve_checked(host, port, ctx.egress)
    target = f"[{address}]" if ":" in address else address
    location = f"grpc+{'tls' if tls else 'tcp'}://{target}:{port}"
    seconds = max(1.0, min(30.0, ctx.time_left()))
    try:  # gRPC reports a refused connection only as a broken stream; a plain connect says what happened
        socket.create_connection((address, port), timeout=min(seconds, ctx.egress.connect_timeout_seconds)).close()
    except OSError as exc:
        raise NodeError(f"Flight SQL: could not connect to {host}:{port}: {exc.strerror or type(exc).__name__}") from None
    # the checked address is dialled; TLS still checks the certificate against the host name
    client = flight.FlightClient(location, **({"override_hostname": host, "disable_server_verification": skip_verify}
                                              if tls else {}))
    try:
        headers = []
        if username or password:
            headers = [client.authenticate_basic_token(username, password,
                                                       flight.FlightCallOptions(timeout=seconds))]
        options = flight.FlightCallOptions(timeout=seconds, headers=headers)
        command = _protobuf_field(1, _FLIGHT_SQL_QUERY) + _protobuf_field(2, _protobuf_field(1, query.encode()))
        info = client.get_flight_info(flight.FlightDescriptor.for_command(command), options)
        batches, rows = [], 0
        for part in info.endpoints:
            # data must come from this server: a location elsewhere would be a connection the egress check never saw
            if any(str(loc.uri, "utf-8") not in (location, "arrow-flight-reuse-connection://?")
                   for loc in part.locations):
                raise NodeError("the Flight SQL server sends the result to another location: refused")
            reader = client.do_get(part.ticket, options)
            for chunk in reader:
                ctx.checkpoint()
                rows += chunk.data.num_rows
                if rows > MAX_ROWS:
                    raise NodeError(f"the Flight SQL query returns more than {MAX_ROWS} rows: too many to "
                                    "register in a session")
                batches.append(chunk.data)
        table = pa.Table.from_batches(batches, schema=info.schema) if batches else info.schema.empty_table()
    except (flight.FlightError, pa.ArrowException) as exc:  # pyarrow raises gRPC's 'unimplemented' as Arrow's
        raise NodeError(f"Flight SQL: the query on {host}:{port} failed: {_flight_reason(exc)}") from None
    finally:
        client.close()
    _register_arrow(sess, name, table)
    _finish(ctx, session_out=ctx.get("session"), endpoint=endpoint)


def _flight_reason(exc: Exception) -> str:
    """The server's or gRPC's message, without the gRPC debug context that follows it."""
    return str(exc).split(". Detail:", 1)[0].split("\ngRPC client debug context", 1)[0].strip()
