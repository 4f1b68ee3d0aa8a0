# ruff: noqa: F811 - test arguments name the fixtures imported from data_testkit
"""The DataFusion SQL nodes (Data/DataFusion) on real DataFusion, with tables from the app's own files
(in a local folder and in S3 on a moto server)."""

from __future__ import annotations

import json
import socket
import uuid

import pytest

from boardrun.engine.files import FileServices, flow_path
from data_testkit import moto_url, services, storage  # noqa: F401 - pytest fixtures
from engine_testkit import BoardBuilder, run_pure

CSV = "city,amount,at\nBerlin,10,2026-01-01 10:15:00\nParis,5,2026-01-01 10:45:00\nBerlin,7,2026-01-01 11:05:00\n"


@pytest.fixture
def files(storage):
    """The app's file services, with sales/jan.csv in its storage folder."""
    app = services(storage, "app1")
    put(app, "sales/jan.csv", CSV.encode())
    return app


def put(files, path, data):
    files.write(files.locate(flow_path("dirs__storage", path), "path"), data)


def storage_path(path):
    return flow_path("dirs__storage", path)


def run_session(files, steps, result=None, session_name="default", **run_kwargs):
    """Create a session, run ``steps`` ((node, defaults)) on it in order, return ``result`` of the last step."""
    b = BoardBuilder()
    start = b.add("events_simple")
    sess = b.add("df_create_session", session_name=session_name)
    b.connect(start, "exec_out", sess, "exec_in")
    previous = sess
    for name, defaults in steps:
        node = b.add(name, **defaults)
        b.connect(sess, "session", node, "session")
        b.connect(previous, "exec_out", node, "exec_in")
        previous = node
    if result is not None:
        ret = b.add("events_generic_return_result")
        b.connect(previous, "exec_out", ret, "exec_in")
        b.connect(previous, result, ret, "response")
    return b.run(start, files=files, **run_kwargs)


MOUNT_CSV = ("df_mount_csv", {"path": storage_path("sales/jan.csv"), "table_name": "sales"})


def test_mount_csv_and_query_gives_rows_and_flowlike_table(files):
    """A mounted app CSV answers SQL; Rows are objects and Table is Flow-Like's CSVTable shape."""
    query = ("df_sql_query", {"query": "SELECT city, SUM(amount) AS total FROM sales GROUP BY city ORDER BY city"})
    rows = run_session(files, [MOUNT_CSV, query], result="rows")
    assert rows.status == "completed", rows.error
    assert rows.result == [{"city": "Berlin", "total": 17}, {"city": "Paris", "total": 5}]
    table = run_session(files, [MOUNT_CSV, query], result="table").result
    assert table == {"headers": ["city", "total"], "rows": [["Berlin", 17], ["Paris", 5]], "source": None}
    count = run_session(files, [MOUNT_CSV, query], result="row_count")
    assert count.result == 2
    empty = run_session(files, [MOUNT_CSV, ("df_sql_query", {"query": "SELECT city FROM sales WHERE amount > 99"})],
                        result="table")
    assert empty.result == {"headers": ["city"], "rows": [], "source": None}


def test_mount_a_folder_json_and_parquet(files):
    """A folder of CSV files is one table; newline-delimited JSON and Parquet files mount too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    put(files, "sales/feb.csv", b"city,amount,at\nRome,3,2026-02-01 09:00:00\n")
    put(files, "sales/notes.txt", b"not,a,table\n")
    put(files, "events.json", b'{"kind": "a", "n": 1}\n{"kind": "b", "n": 2}\n')
    buffer = pa.BufferOutputStream()
    pq.write_table(pa.table({"x": [1, 2, 3]}), buffer)
    put(files, "nums.parquet", buffer.getvalue().to_pybytes())
    result = run_session(files, [
        ("df_mount_csv", {"path": storage_path("sales"), "table_name": "sales"}),
        ("df_mount_json", {"path": storage_path("events.json"), "table_name": "events"}),
        ("df_mount_parquet", {"path": storage_path("nums.parquet"), "table_name": "nums"}),
        ("df_sql_query", {"query": "SELECT (SELECT COUNT(*) FROM sales) AS s, (SELECT SUM(n) FROM events) AS e, "
                                   "(SELECT SUM(x) FROM nums) AS p"}),
    ], result="rows")
    assert result.status == "completed", result.error
    assert result.result == [{"s": 4, "e": 3, "p": 6}]


def test_lake_folders_of_parquet_and_json(files):
    """Register Hive Parquet and Register Partitioned JSON read the matching files of a folder and of its
    key=value partition folders (other sub-folders are ignored, as DataFusion does by default)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for part, values in (("year=2025", [1, 2]), ("year=2026", [3])):
        buffer = pa.BufferOutputStream()
        pq.write_table(pa.table({"x": values}), buffer)
        put(files, f"lake/{part}/data.parquet", buffer.getvalue().to_pybytes())
    put(files, "logs/1.ndjson", b'{"n": 5}\n')
    put(files, "logs/day=2/2.ndjson", b'{"n": 6}\n')
    put(files, "logs/day=2/skip.json", b'{"n": 100}\n')
    put(files, "logs/other/ignored.ndjson", b'{"n": 1000}\n')
    result = run_session(files, [
        ("df_register_hive_parquet", {"path": storage_path("lake"), "table_name": "lake"}),
        ("df_register_partitioned_json", {"path": storage_path("logs"), "table_name": "logs",
                                          "file_extension": ".ndjson"}),
        ("df_sql_query", {"query": "SELECT (SELECT SUM(x) FROM lake) AS p, (SELECT SUM(n) FROM logs) AS j"}),
    ], result="rows")
    assert result.status == "completed", result.error
    assert result.result == [{"p": 6, "j": 11}]


def test_register_flowlike_table_and_tools(files):
    """A CSVTable on a pin becomes a typed table; List Tables, Describe Table and Execute SQL report on it."""
    table = {"headers": ["name", "score", "day"], "rows": [["a", "1.5", "2026-01-02"], ["b", 2, None]]}
    steps = [("df_register_csv_table", {"table": table, "table_name": "scores"})]
    listed = run_session(files, [*steps, ("df_list_tables", {})], result="summary")
    assert listed.result == "Available tables: scores"
    described = run_session(files, [*steps, ("df_describe_table", {"table_name": "scores"})], result="schema").result
    assert "  - name (string)" in described and "  - score (double)" in described and "  - day (timestamp[ms])" in described
    markdown = run_session(files, [*steps, ("df_execute_sql", {"query": "SELECT name, score FROM scores ORDER BY name"})],
                           result="result").result
    assert markdown == "Query returned 2 rows:\n\n| name | score |\n| --- | --- |\n| a | 1.5 |\n| b | 2.0 |\n"
    dates = run_session(files, [*steps, ("df_sql_query", {"query": "SELECT day FROM scores WHERE name = 'a'"})],
                        result="table").result
    assert dates["rows"] == [[{"iso": "2026-01-02T00:00:00", "ms": 1767312000000}]]


def test_register_lance_table_from_the_local_database(files):
    """Rows of the app's local database are queryable with SQL after Register Lance Table."""
    b = BoardBuilder()
    start = b.add("events_simple")
    db = b.add("open_local_db", name="docs")
    insert = b.add("batch_insert_local_db", value=[{"id": 1, "n": 4}, {"id": 2, "n": 6}])
    sess = b.add("df_create_session")
    reg = b.add("df_register_lance", table_name="")
    query = b.add("df_sql_query", query="SELECT SUM(n) AS total FROM docs")
    ret = b.add("events_generic_return_result")
    b.chain(start, db, insert, sess, reg, query, ret)
    b.connect(db, "database", insert, "database")
    b.connect(db, "database", reg, "database")
    b.connect(sess, "session", reg, "session")
    b.connect(sess, "session", query, "session")
    b.connect(query, "rows", ret, "response")
    result = b.run(start, files=files)
    assert result.status == "completed", result.error
    assert result.result == [{"total": 10}]


def test_time_aggregations(files):
    """Time bins, date_trunc periods and window functions run on a mounted CSV's timestamps."""
    mount = ("df_mount_csv", {"path": storage_path("sales/jan.csv"), "table_name": "sales"})
    bins = run_session(files, [mount, ("df_time_bin_aggregation", {
        "source_table": "sales", "timestamp_column": "at", "interval": "hour", "value_columns": "amount",
        "aggregations": "count,sum", "output_table": "hourly"}), ("df_sql_query", {"query": "SELECT * FROM hourly ORDER BY time_bucket"})],
        result="rows")
    assert bins.status == "completed", bins.error
    assert [(r["amount_count"], r["amount_sum"]) for r in bins.result] == [(2, 15), (1, 7)]
    trunc = run_session(files, [mount, ("df_date_trunc_aggregation", {
        "source_table": "sales", "timestamp_column": "at", "precision": "day",
        "aggregation_sql": "COUNT(*) AS n", "filter": "city = 'Berlin'"})], result="results")
    assert trunc.result == [{"time_period": "2026-01-01T00:00:00", "n": 2}]
    window = run_session(files, [mount, ("df_window_aggregation", {
        "source_table": "sales", "timestamp_column": "at", "value_column": "amount", "window_function": "sum",
        "window_size": 0, "select_columns": "city"})], result="results")
    assert [r["window_result"] for r in window.result] == [10, 15, 22]


def test_time_helpers():
    """DateTime to SQL Timestamp and Time Range Filter build the literals Flow-Like builds."""
    literal = run_pure("df_datetime_to_timestamp", "timestamp_literal", datetime="2026-03-04T05:06:07+01:00")
    assert literal.result == "TIMESTAMP '2026-03-04 04:06:07.000000'"
    micros = run_pure("df_datetime_to_timestamp", "epoch_micros", datetime="1970-01-01 00:00:01")
    assert micros.result == 1_000_000
    where = run_pure("df_time_range_filter", "where_clause", timestamp_column="at",
                     start_time="2026-01-01", end_time="2026-01-02T00:00:00Z")
    assert where.result == ("at >= TIMESTAMP '2026-01-01 00:00:00.000000' AND "
                            "at < TIMESTAMP '2026-01-02 00:00:00.000000'")
    bad = run_pure("df_time_range_filter", "where_clause", timestamp_column="at", start_time="-3y")
    assert "unknown unit" in bad.error["message"]


def test_sessions_are_shared_by_name_within_a_run(files):
    """Two Create Session nodes with the same name give the same session: a table mounted on one is on the other."""
    b = BoardBuilder()
    start = b.add("events_simple")
    first = b.add("df_create_session", session_name="s")
    mount = b.add("df_mount_csv", path=storage_path("sales/jan.csv"), table_name="sales")
    second = b.add("df_create_session", session_name="s")
    query = b.add("df_sql_query", query="SELECT COUNT(*) AS n FROM sales")
    ret = b.add("events_generic_return_result")
    b.chain(start, first, mount, second, query, ret)
    b.connect(first, "session", mount, "session")
    b.connect(second, "session", query, "session")
    b.connect(query, "rows", ret, "response")
    result = b.run(start, files=files)
    assert result.result == [{"n": 3}], result.error


@pytest.mark.parametrize("steps,message", [
    ([("df_sql_query", {"query": "SELECT * FROM nope"})], "table 'datafusion.public.nope' not found"),
    ([("df_sql_query", {"query": "SELEC 1"})], "the query failed"),
    ([("df_sql_query", {"query": "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'"})],
     "DDL not supported"),
    ([("df_sql_query", {"query": "COPY (SELECT 1) TO '/tmp/out.csv'"})], "not supported"),
    ([("df_sql_query", {"query": "SELECT * FROM '/etc/passwd'"})], "not found"),
    ([("df_sql_query", {"query": "SET datafusion.execution.batch_size = 1"})], "Statement not supported"),
    ([("df_mount_csv", {"path": storage_path("missing.csv"), "table_name": "t"})], "neither a file nor a folder"),
    ([("df_mount_csv", {"path": storage_path("../../app2/files/storage/x.csv"), "table_name": "t"})], "'..'"),
    ([("df_mount_csv", {"path": {"path": "/etc", "store_ref": "file:///"}, "table_name": "t"})], "absolute"),
    ([("df_mount_csv", {"path": flow_path("virtual_dir_x", "a.csv"), "table_name": "t"})], "virtual"),
    ([("df_mount_csv", {"path": storage_path("sales/jan.csv"), "table_name": "bad name"})], "not a table name"),
    ([("df_describe_table", {"table_name": "nope"})], "no table 'nope'"),
    ([("df_register_csv_table", {"table": {"rows": []}, "table_name": "t"})], "not a table"),
    ([("df_time_bin_aggregation", {"source_table": "t", "timestamp_column": "at", "interval": "fortnight",
                                   "value_columns": "v"})], "invalid interval"),
    ([("df_window_aggregation", {"source_table": "t", "timestamp_column": "at", "value_column": "v",
                                 "window_function": "median"})], "unknown window function"),
])
def test_bad_input_fails_the_node(files, steps, message):
    """Unknown tables, SQL errors, statements that reach outside the app and bad paths fail with node_error."""
    result = run_session(files, steps)
    assert (result.status, result.reason) == ("failed", "node_error")
    assert message in result.error["message"]


def test_another_apps_files_cannot_be_mounted(storage):
    """App2's board naming app1's CSV path mounts its own (missing) file, never app1's."""
    put(services(storage, "app1"), "secret.csv", b"a\n1\n")
    other = services(storage, "app2")
    result = run_session(other, [("df_mount_csv", {"path": storage_path("secret.csv"), "table_name": "t"})])
    assert result.status == "failed" and "neither a file nor a folder" in result.error["message"]


def test_a_forged_session_is_refused(files):
    """A session reference this run did not create is refused."""
    b = BoardBuilder()
    start = b.add("events_simple")
    query = b.add("df_sql_query", session={"cache_key": "datafusion session_x"}, query="SELECT 1")
    b.chain(start, query)
    assert "no open datafusion session" in b.run(start, files=files).error["message"]


def test_results_are_capped(files, monkeypatch):
    """A result larger than the row cap fails the node instead of filling memory."""
    from boardrun.engine.nodes.data import datafusion as df_nodes

    monkeypatch.setattr(df_nodes, "MAX_ROWS", 2)
    result = run_session(files, [MOUNT_CSV, ("df_sql_query", {"query": "SELECT * FROM sales"})])
    assert "more than 2 rows" in result.error["message"]
    assert json.dumps(result.to_dict())  # the failed run is still plain JSON


@pytest.fixture
def pg_table(postgres_database):
    """A table with three rows in the test PostgreSQL database; (database, user, table)."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(postgres_database)
    table = f"df_sales_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=url.host, port=url.port, dbname=url.database, user=url.username,
                         autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{table}" (id int, city text, amount numeric(6,2), at timestamp)')
        conn.execute(f"""INSERT INTO "{table}" VALUES (1, 'Berlin', 10.50, '2026-01-01 10:00'),
                         (2, 'Paris', 5, '2026-01-01 11:00'), (3, 'Berlin', 7.25, NULL)""")
    yield url.database, url.username, table
    with psycopg.connect(host=url.host, port=url.port, dbname=url.database, user=url.username,
                         autocommit=True) as conn:
        conn.execute(f'DROP TABLE "{table}"')


def pg_steps(database, user, table, **overrides):
    register = {"host": "127.0.0.1", "port": 5432, "database": database, "username": user, "password": "",
                "source_table": table, "table_name": "pg", "ssl_mode": "disable", **overrides}
    return [("df_register_postgres", register)]


def services_local(root):
    return FileServices.local(root, "app1", "user1")


def run_pg(files, steps, result=None):
    """run_session with private addresses allowed (the test server is on 127.0.0.1)."""
    from boardrun.engine import EgressPolicy

    return run_session(files, steps, result=result, egress=EgressPolicy(allow_private=True))


def test_register_postgres_reads_a_table(tmp_path, pg_table):
    """A PostgreSQL table on 127.0.0.1 is registered and answers SQL, numerics and timestamps included."""
    database, user, table = pg_table
    files = services_local(tmp_path)
    query = ("df_sql_query", {"query": "SELECT city, SUM(amount) AS total, MAX(at) AS last FROM pg "
                                       "GROUP BY city ORDER BY city"})
    result = run_pg(files, [*pg_steps(database, user, table), query], result="rows")
    assert result.status == "completed", result.error
    assert result.result == [{"city": "Berlin", "total": "17.75", "last": "2026-01-01T10:00:00"},
                             {"city": "Paris", "total": "5.00", "last": "2026-01-01T11:00:00"}]
    url = run_pg(files, pg_steps(database, user, table, password="s3cret"), result="connection_url").result
    assert url == f"postgresql://{user}:****@127.0.0.1:5432/{database}?sslmode=disable"


def test_register_postgres_refusals(tmp_path, pg_table):
    """Private addresses need the egress setting; unknown tables, writing and bad SSL modes fail the node."""
    database, user, table = pg_table
    files = services_local(tmp_path)
    b = BoardBuilder()
    start = b.add("events_simple")
    sess = b.add("df_create_session")
    reg = b.add("df_register_postgres", **pg_steps(database, user, table)[0][1])
    b.chain(start, sess, reg)
    b.connect(sess, "session", reg, "session")
    assert "egress refused" in b.run(start, files=files).error["message"]
    for overrides, message in (({"source_table": "nope"}, 'relation "public.nope" does not exist'),
                               ({"readonly": False}, "leave Read Only on"),
                               ({"ssl_mode": "sometimes"}, "is not one of"),
                               ({"port": 0}, "port must be an integer")):
        result = run_pg(files, pg_steps(database, user, table, **overrides))
        assert result.status == "failed" and message in result.error["message"], (overrides, result.error)


# -- Delta Lake and Iceberg ---------------------------------------------------------------------------

def lake_uri(files, path):
    loc = files.locate(storage_path(path), "path")
    return loc, files.uri(loc)


def write_delta_rows(files, path, rows, **kwargs):
    """Write rows into a Delta table in the app's storage with deltalake itself (a table made elsewhere)."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from boardrun.engine.nodes.data.datafusion import _delta_options

    class _Ctx:  # _delta_options only needs the run's file services and time left
        def time_left(self):
            return 30.0

    ctx = _Ctx()
    ctx.files = files
    loc, uri = lake_uri(files, path)
    write_deltalake(uri, pa.Table.from_pylist(rows), storage_options=_delta_options(ctx, loc), **kwargs)


def test_write_delta_then_register_time_travel_and_info(files):
    """Write Delta Table commits query results (append, overwrite, partitions); Register Delta Table,
    Delta Time Travel and Delta Table Info read the table back, on a local folder and on S3."""
    delta = storage_path("lake/sales")
    write = ("df_write_delta", {"query": "SELECT city, amount FROM sales", "path": delta, "partition_by": "city"})
    first = run_session(files, [MOUNT_CSV, write], result="new_version")
    assert (first.status, first.result) == ("completed", 0), first.error
    again = run_session(files, [MOUNT_CSV, write], result="rows_written")
    assert again.result == 3, again.error
    latest = run_session(files, [("df_register_delta", {"path": delta, "table_name": "d"}),
                                 ("df_sql_query", {"query": "SELECT city, SUM(amount) AS t FROM d GROUP BY city "
                                                            "ORDER BY city"})], result="rows")
    assert latest.result == [{"city": "Berlin", "t": 34}, {"city": "Paris", "t": 10}], latest.error
    old = run_session(files, [("df_register_delta", {"path": delta, "table_name": "d", "version": 0}),
                              ("df_sql_query", {"query": "SELECT COUNT(*) AS n FROM d"})], result="rows")
    assert old.result == [{"n": 3}], old.error
    travel = run_session(files, [("df_delta_time_travel", {"path": delta, "table_name": "d", "version": 0}),
                                 ("df_sql_query", {"query": "SELECT COUNT(*) AS n FROM d"})], result="rows")
    assert travel.result == [{"n": 3}], travel.error
    now = run_session(files, [("df_delta_time_travel", {"path": delta, "table_name": "d", "travel_mode": "timestamp",
                                                        "timestamp": "2999-01-01T00:00:00Z"})], result="loaded_version")
    assert now.result == 1, now.error
    replace = ("df_write_delta", {"query": "SELECT 'Rome' AS city, 1 AS amount", "path": delta, "mode": "overwrite"})
    assert run_session(files, [replace], result="new_version").result == 2
    assert run_info(files, delta, "schema") == {"fields": [{"name": "city", "type": "string", "nullable": True},
                                                           {"name": "amount", "type": "long", "nullable": True}]}
    history = run_info(files, delta, "history")
    assert [h["operation"] for h in history] == ["WRITE", "WRITE"] and all(h["timestamp"] > 0 for h in history)
    assert run_info(files, delta, "partitions") == ["city"]
    assert run_info(files, delta, "current_version") == 2
    empty = ("df_write_delta", {"query": "SELECT city FROM sales WHERE amount > 99", "path": delta})
    assert run_session(files, [MOUNT_CSV, empty], result="rows_written").result == 0


def run_info(files, delta, pin, history_limit=2):
    """Output ``pin`` of Delta Table Info on the table at ``delta``."""
    b = BoardBuilder()
    start = b.add("events_simple")
    info = b.add("df_delta_info", path=delta, history_limit=history_limit)
    ret = b.add("events_generic_return_result")
    b.chain(start, info, ret)
    b.connect(info, pin, ret, "response")
    result = b.run(start, files=files)
    assert result.status == "completed", result.error
    return result.result


def test_delta_bad_input_fails_the_node(files):
    """A folder without a Delta log, a version that does not exist, a bad mode or timestamp fail the node,
    as does a log naming a file outside the table's folder."""
    write_delta_rows(files, "lake/t", [{"x": 1}])
    cases = [
        (("df_register_delta", {"path": storage_path("sales"), "table_name": "d"}), "Failed to open Delta table"),
        (("df_register_delta", {"path": storage_path("lake/t"), "table_name": "d", "version": 7}),
         "Failed to open Delta table"),
        (("df_delta_time_travel", {"path": storage_path("lake/t"), "table_name": "d", "travel_mode": "yesterday"}),
         "Invalid travel mode"),
        (("df_delta_time_travel", {"path": storage_path("lake/t"), "table_name": "d", "travel_mode": "timestamp",
                                   "timestamp": "last week"}), "Invalid timestamp format"),
        (("df_write_delta", {"query": "SELECT 1 AS x", "path": storage_path("lake/t"), "mode": "merge"}),
         "Invalid write mode"),
        (("df_write_delta", {"query": "SELECT 'a' AS x", "path": storage_path("lake/t")}),
         "Failed to write to Delta table"),
        (("df_write_delta", {"query": "SELECT * FROM nope", "path": storage_path("lake/t")}), "not found"),
        (("df_register_delta", {"path": storage_path("../../app2/files/storage/lake/t"), "table_name": "d"}), "'..'"),
    ]
    for step, message in cases:
        result = run_session(files, [step])
        assert (result.status, result.reason) == ("failed", "node_error"), step
        assert message in result.error["message"], (step, result.error)
    # commits whose add action points outside the table folder (at another app's file)
    for version, target in enumerate(["../../../../app2/files/storage/secret.parquet",
                                      services_storage_uri(files, "../../app2/files/storage/secret.parquet")], 1):
        log = json.dumps({"add": {"path": target, "size": 1, "partitionValues": {}, "modificationTime": 0,
                                  "dataChange": True}})
        put(files, f"lake/t/_delta_log/{version:020d}.json",
            (json.dumps({"commitInfo": {"timestamp": 1}}) + "\n" + log + "\n").encode())
        result = run_session(files, [("df_register_delta", {"path": storage_path("lake/t"), "table_name": "d",
                                                            "version": version})])
        assert "outside its folder of the app" in result.error["message"], (target, result.error)


def services_storage_uri(files, rel):
    """The absolute URI of a path relative to the app's storage folder, without the path checks."""
    root = files.uri(files.locate(storage_path(""), "path")).rstrip("/")
    return f"{'file://' if root.startswith('/') else ''}{root}/{rel}"


@pytest.fixture
def iceberg(files, tmp_path):
    """An Iceberg table made by pyiceberg (SQL catalog) in the app's storage folder 'wh', with two snapshots;
    (metadata file relative to 'wh', [snapshot ids])."""
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog

    loc, uri = lake_uri(files, "wh")
    o = files.storage_options(loc)
    props = {"s3.endpoint": o["endpoint"], "s3.region": o["region"], "s3.access-key-id": o["aws_access_key_id"],
             "s3.secret-access-key": o["aws_secret_access_key"]} if o else {}
    warehouse = uri if uri.startswith("s3://") else f"file://{uri}"
    catalog = SqlCatalog("test", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=warehouse, **props)
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.events", schema=pa.schema([("id", pa.int64()), ("kind", pa.string())]))
    table.append(pa.table({"id": [1, 2], "kind": ["a", "b"]}))
    table.append(pa.table({"id": [3], "kind": ["c"]}))
    table = catalog.load_table("ns.events")
    metadata = table.metadata_location.split("/wh/", 1)[1]
    return metadata, [s.snapshot_id for s in table.metadata.snapshots], [s.timestamp_ms for s in table.metadata.snapshots]


def test_iceberg_register_info_and_time_travel(files, iceberg):
    """An Iceberg table in the app's storage registers at its current snapshot, at an older one (by id and
    by time), and Iceberg Table Info reports its snapshots and columns."""
    metadata, (first, second), (_, second_ms) = iceberg
    source = {"warehouse_path": storage_path("wh"), "metadata_file": metadata, "table_name": "ev"}
    count = ("df_sql_query", {"query": "SELECT COUNT(*) AS n, MAX(id) AS top FROM ev"})
    current = run_session(files, [("df_register_iceberg", source), count], result="rows")
    assert current.result == [{"n": 3, "top": 3}], current.error
    assert run_session(files, [("df_register_iceberg", source)], result="current_snapshot").result == str(second)
    assert run_session(files, [("df_register_iceberg", source)], result="schema_info").result == 2
    old = run_session(files, [("df_iceberg_time_travel", {**source, "snapshot_id": str(first)}), count], result="rows")
    assert old.result == [{"n": 2, "top": 2}], old.error
    by_time = run_session(files, [("df_iceberg_time_travel", {**source, "travel_mode": "timestamp",
                                                              "timestamp_ms": second_ms})], result="loaded_snapshot")
    assert by_time.result == str(second), by_time.error
    b = BoardBuilder()
    start = b.add("events_simple")
    info = b.add("df_iceberg_info", warehouse_path=storage_path("wh"), metadata_file=metadata)
    ret = b.add("events_generic_return_result")
    b.chain(start, info, ret)
    b.connect(info, "snapshots", ret, "response")
    snaps = b.run(start, files=files)
    assert [(s["snapshot_id"], s["parent_snapshot_id"]) for s in snaps.result] == [(first, None), (second, first)]
    b2 = BoardBuilder()
    start = b2.add("events_simple")
    info = b2.add("df_iceberg_info", warehouse_path=storage_path("wh"), metadata_file=metadata)
    ret = b2.add("events_generic_return_result")
    b2.chain(start, info, ret)
    b2.connect(info, "schema", ret, "response")
    assert b2.run(start, files=files).result == {"schema_id": 0, "fields": [
        {"id": 1, "name": "id", "required": False}, {"id": 2, "name": "kind", "required": False}]}


def test_iceberg_bad_input_fails_the_node(files, iceberg):
    """A missing metadata file, a path escaping the folder, an unknown or malformed snapshot, a time before
    the first snapshot, and metadata naming files outside the warehouse folder fail the node."""
    metadata, (first, _), (first_ms, _) = iceberg
    source = {"warehouse_path": storage_path("wh"), "metadata_file": metadata, "table_name": "ev"}
    cases = [
        (("df_register_iceberg", {**source, "metadata_file": "nope.metadata.json"}), "no metadata file"),
        (("df_register_iceberg", {**source, "metadata_file": "../secret.json"}), "'..'"),
        (("df_iceberg_time_travel", {**source, "snapshot_id": "12"}), "no snapshot 12"),
        (("df_iceberg_time_travel", {**source, "snapshot_id": "latest"}), "Invalid snapshot ID"),
        (("df_iceberg_time_travel", {**source, "travel_mode": "timestamp", "timestamp_ms": first_ms - 1}),
         "No snapshot found at or before"),
        (("df_register_iceberg", {**source, "table_name": "bad name"}), "not a table name"),
    ]
    put(files, "wh/broken.metadata.json", b"{not json")
    cases.append((("df_register_iceberg", {**source, "metadata_file": "broken.metadata.json"}),
                  "Failed to load Iceberg table"))
    loc, _ = lake_uri(files, f"wh/{metadata}")
    document = json.loads(files.read(loc))
    document["snapshots"][0]["manifest-list"] = services_storage_uri(files, "../../app2/files/storage/m.avro")
    put(files, "wh/forged.metadata.json", json.dumps(document).encode())
    cases.append((("df_register_iceberg", {**source, "metadata_file": "forged.metadata.json"}),
                  "outside its folder of the app"))
    for step, message in cases:
        result = run_session(files, [step])
        assert (result.status, result.reason) == ("failed", "node_error"), step
        assert message in result.error["message"], (step, result.error)


# -- SQLite and DuckDB files of the app, MySQL -------------------------------------------------------

def database_file(files, tmp_path, name, build):
    """Build a database file with ``build(path)`` and put it into the app's storage folder as ``name``."""
    local = tmp_path / f"build-{uuid.uuid4().hex[:6]}-{name.replace('/', '_')}"
    build(str(local))
    put(files, name, local.read_bytes())


def make_sqlite(path):
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute('CREATE TABLE "my table" (id INTEGER, city TEXT, amount REAL)')
        conn.executemany('INSERT INTO "my table" VALUES (?, ?, ?)', [(1, "Berlin", 1.5), (2, "Paris", None)])
    conn.close()


def make_duckdb(path):
    import duckdb

    with duckdb.connect(path) as conn:
        conn.execute('CREATE TABLE sales (id INTEGER, city VARCHAR, "at" TIMESTAMP)')
        conn.execute("INSERT INTO sales VALUES (1, 'Berlin', '2026-01-01 10:00:00'), (2, 'Rome', NULL)")
        conn.execute("CREATE VIEW leak AS SELECT * FROM read_text('/etc/hostname')")  # a file of the server


def test_register_sqlite_and_duckdb_files_of_the_app(files, tmp_path):
    """Tables of SQLite and DuckDB files in the app's storage folder (local and S3) answer SQL."""
    database_file(files, tmp_path, "db/shop.sqlite", make_sqlite)
    database_file(files, tmp_path, "db/shop.duckdb", make_duckdb)
    result = run_session(files, [
        ("df_register_sqlite", {"file_path": "db/shop.sqlite", "source_table": "my table", "table_name": "s"}),
        ("df_register_duckdb", {"file_path": "db/shop.duckdb", "source_table": "sales", "table_name": "d"}),
        ("df_sql_query", {"query": "SELECT s.city, s.amount, d.at FROM s JOIN d ON s.id = d.id ORDER BY s.id"}),
    ], result="rows")
    assert result.status == "completed", result.error
    assert result.result == [{"city": "Berlin", "amount": 1.5, "at": "2026-01-01T10:00:00"},
                             {"city": "Paris", "amount": None, "at": None}]


@pytest.mark.parametrize("step,message", [
    (("df_register_sqlite", {"file_path": "db/none.sqlite"}), "SQLite file not found"),
    (("df_register_sqlite", {"file_path": "sales/jan.csv"}), "is not an SQLite database file"),
    (("df_register_sqlite", {"file_path": "db/shop.sqlite", "source_table": "nope"}), "no such table: nope"),
    (("df_register_sqlite", {"file_path": "/etc/passwd"}), "absolute"),
    (("df_register_sqlite", {"file_path": "../../app2/files/storage/db/shop.sqlite"}), "'..'"),
    (("df_register_duckdb", {"file_path": "db/none.duckdb"}), "DuckDB file not found"),
    (("df_register_duckdb", {"file_path": "sales/jan.csv"}), "DuckDB connection failed"),
    (("df_register_duckdb", {"file_path": "db/shop.duckdb", "source_table": "nope"}), "Table with name nope"),
    (("df_register_duckdb", {"source_table": "nope"}), "Table with name nope"),
    (("df_register_duckdb", {"file_path": "db/shop.duckdb", "source_table": "/etc/passwd"}), "Table with name /etc/passwd does not exist"),
    (("df_register_duckdb", {"file_path": "db/shop.duckdb", "readonly": False}), "leave Read Only on"),
    (("df_register_duckdb", {"file_path": "db/shop.duckdb", "source_table": "leak"}), "disabled by configuration"),
])
def test_database_file_bad_input_fails_the_node(files, tmp_path, step, message):
    """Missing or wrong files, unknown tables, paths outside the app and DuckDB reading outside files fail
    the node."""
    database_file(files, tmp_path, "db/shop.sqlite", make_sqlite)
    database_file(files, tmp_path, "db/shop.duckdb", make_duckdb)
    node, values = step
    result = run_session(files, [(node, {"source_table": "my table" if node.endswith("sqlite") else "sales",
                                         "table_name": "t", **values})])
    assert (result.status, result.reason) == ("failed", "node_error"), result.error
    assert message in result.error["message"], result.error


MYSQL = {"host": "127.0.0.1", "port": 3306, "username": "root", "password": ""}


@pytest.fixture
def mysql_table():
    """A database of our own on the machine's MariaDB (root, no password) with one table; its name."""
    import pymysql

    name = f"boardrun_test_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
        cursor.execute(f"CREATE TABLE `{name}`.sales (id INT, city VARCHAR(20), amount DECIMAL(6,2), at DATETIME)")
        cursor.execute(f"INSERT INTO `{name}`.sales VALUES (1, 'Berlin', 10.50, '2026-01-01 10:00:00'), "
                       "(2, 'Paris', 5, NULL)")
    yield name
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE `{name}`")
    conn.close()


def mysql_step(database, **overrides):
    return ("df_register_mysql", {**MYSQL, "database": database, "source_table": "sales", "table_name": "m",
                                  **overrides})


def test_register_mysql_reads_a_table(tmp_path, mysql_table):
    """A MariaDB table on 127.0.0.1 is registered and answers SQL; the connection URL hides the password."""
    files = services_local(tmp_path)
    query = ("df_sql_query", {"query": "SELECT city, amount, at FROM m ORDER BY id"})
    result = run_pg(files, [mysql_step(mysql_table), query], result="rows")
    assert result.status == "completed", result.error
    assert result.result == [{"city": "Berlin", "amount": "10.50", "at": "2026-01-01T10:00:00"},
                             {"city": "Paris", "amount": "5.00", "at": None}]
    url = run_pg(files, [mysql_step(mysql_table, ssl_mode="disabled")], result="connection_url").result
    assert url == f"mysql://root:****@127.0.0.1:3306/{mysql_table}?ssl-mode=disabled"


def test_register_mysql_refusals(tmp_path, mysql_table):
    """Private addresses need the egress setting; a missing table, bad credentials (never echoed), a closed
    port, TLS the server does not offer, writing and bad modes fail the node."""
    files = services_local(tmp_path)
    refused = run_session(files, [mysql_step(mysql_table)])
    assert "egress refused" in refused.error["message"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    for overrides, message in (({"source_table": "nope"}, "doesn't exist"),
                               ({"username": "nobody", "password": "hunter2-secret"}, "Access denied"),
                               ({"port": closed}, "could not connect to 127.0.0.1"),
                               ({"ssl_mode": "required"}, "SSL is required"),
                               ({"readonly": False}, "leave Read Only on"),
                               ({"ssl_mode": "sometimes"}, "is not one of")):
        result = run_pg(files, [mysql_step(mysql_table, **overrides)])
        assert (result.status, result.reason) == ("failed", "node_error"), overrides
        assert message in result.error["message"], (overrides, result.error)
        assert "hunter2" not in json.dumps(result.to_dict())


CLICKHOUSE_CONFIG = """<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><console>1</console></logger>
    <http_port>{http}</http_port>
    <tcp_port>{tcp}</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>{root}/data/</path>
    <tmp_path>{root}/data/tmp/</tmp_path>
    <user_files_path>{root}/data/user_files/</user_files_path>
    <format_schema_path>{root}/data/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>5368709</mark_cache_size>
</yandex>
"""
CLICKHOUSE_USERS = """<?xml version="1.0"?>
<yandex>
    <profiles><default/></profiles>
    <users>
        <default><password></password><networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile><quota>default</quota></default>
        <reader><password>s3cret-pw</password><networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile><quota>default</quota></reader>
    </users>
    <quotas><default/></quotas>
</yandex>
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory):
    """A throwaway ClickHouse server (Debian's clickhouse-server) on free ports of 127.0.0.1, with the table
    shop.sales; its HTTP port."""
    import subprocess
    import time
    import urllib.request

    root = tmp_path_factory.mktemp("clickhouse")
    http = free_port()
    (root / "config.xml").write_text(CLICKHOUSE_CONFIG.format(http=http, tcp=free_port(), root=root))
    (root / "users.xml").write_text(CLICKHOUSE_USERS)
    server = subprocess.Popen(["clickhouse-server", f"--config-file={root / 'config.xml'}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sql(query):
        request = urllib.request.Request(f"http://127.0.0.1:{http}/", data=query.encode())
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.read()

    try:
        for _ in range(300):  # the server answers /ping once it listens (a few seconds at most)
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{http}/ping", timeout=1).read()
                break
            except OSError:
                assert server.poll() is None, "clickhouse-server exited"
                time.sleep(0.1)
        sql("CREATE DATABASE shop")
        sql("CREATE TABLE shop.sales (id UInt64, city String, amount Decimal(6,2), at Nullable(DateTime)) "
            "ENGINE = Memory")
        sql("INSERT INTO shop.sales VALUES (1, 'Berlin', 10.50, '2026-01-01 10:00:00'), (2, 'Paris', 5, NULL)")
        yield http
    finally:
        server.terminate()
        server.wait(timeout=30)


def clickhouse_step(http_port, **overrides):
    return ("df_register_clickhouse", {"host": "127.0.0.1", "port": http_port, "database": "shop", "username": "reader",
                                       "password": "s3cret-pw", "source_table": "sales", "table_name": "c",
                                       **overrides})


def test_register_clickhouse_reads_a_table(tmp_path, clickhouse):
    """A ClickHouse table on 127.0.0.1 is read over HTTP and answers SQL; the URL hides the password."""
    files = services_local(tmp_path)
    query = ("df_sql_query", {"query": "SELECT id, city, amount, at FROM c ORDER BY id"})
    result = run_pg(files, [clickhouse_step(clickhouse), query], result="rows")
    assert result.status == "completed", result.error
    assert result.result == [{"id": 1, "city": "Berlin", "amount": 10.5, "at": "2026-01-01 10:00:00"},
                             {"id": 2, "city": "Paris", "amount": 5.0, "at": None}]
    url = run_pg(files, [clickhouse_step(clickhouse)], result="connection_url").result
    assert url == f"http://reader:****@127.0.0.1:{clickhouse}/shop"


def test_register_clickhouse_refusals(tmp_path, clickhouse, monkeypatch):
    """Private addresses need the egress setting; a missing table, a wrong password (never echoed), a closed
    port and a table over the row cap fail the node; the query cannot write (readonly)."""
    from boardrun.engine.nodes.data import datafusion as df_nodes

    files = services_local(tmp_path)
    assert "egress refused" in run_session(files, [clickhouse_step(clickhouse)]).error["message"]
    for overrides, message in (({"source_table": "nope"}, "Table shop.nope doesn't exist"),
                               ({"password": "hunter2-wrong"}, "Wrong password for user reader"),
                               ({"port": free_port()}, "127.0.0.1"),
                               ({"source_table": "sales` ; DROP TABLE shop.sales; --"}, "doesn't exist")):
        result = run_pg(files, [clickhouse_step(clickhouse, **overrides)])
        assert (result.status, result.reason) == ("failed", "node_error"), overrides
        assert message in result.error["message"], (overrides, result.error)
        assert "hunter2" not in json.dumps(result.to_dict()) and "s3cret" not in json.dumps(result.to_dict())
    monkeypatch.setattr(df_nodes, "MAX_ROWS", 1)
    capped = run_pg(files, [clickhouse_step(clickhouse)])
    assert "more than 1 rows" in capped.error["message"], capped.error


# -- Arrow Flight SQL -------------------------------------------------------------------------------

def _proto_fields(buf):
    """The length-delimited fields of a protobuf message, {number: bytes} (all Flight SQL's query and ticket
    messages hold)."""
    def varint(i):
        value = shift = 0
        while True:
            byte = buf[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value, i

    fields, i = {}, 0
    while i < len(buf):
        key, i = varint(i)
        size, i = varint(i)
        fields[key >> 3] = buf[i:i + size]
        i += size
    return fields


def _proto_field(number, data):
    from boardrun.engine.nodes.data.datafusion import _protobuf_field

    return _protobuf_field(number, data)


FLIGHT_SQL = b"type.googleapis.com/arrow.flight.protocol.sql."


@pytest.fixture(scope="module")
def flight_sql():
    """A Flight SQL server on 127.0.0.1 (pyarrow.flight with Flight SQL's statement commands, basic auth
    answered with a bearer token): it knows one query. Yields (port, server); the server's ``elsewhere``
    makes it point the data at another location."""
    import base64

    import pyarrow as pa
    from pyarrow import flight

    tables = {"SELECT * FROM sales": pa.table({"id": [1, 2], "city": ["Berlin", "Paris"]})}
    token = "token-123"

    class Auth(flight.ServerMiddlewareFactory):
        def start_call(self, info, headers):
            values = headers.get("authorization", [])
            basic = values[0][len("Basic "):] if values and values[0].startswith("Basic ") else None
            # clients differ in base64 padding (Go's ADBC driver sends none)
            if basic is not None and base64.b64decode(basic + "=" * (-len(basic) % 4)) == b"reader:s3cret-pw":
                return Bearer()
            if values != [f"Bearer {token}"]:
                raise flight.FlightUnauthenticatedError("invalid username or password")
            return None

    class Bearer(flight.ServerMiddleware):
        def sending_headers(self):
            return {"authorization": f"Bearer {token}"}

    class Handshake(flight.ServerAuthHandler):
        """Accepts every handshake: the middleware checks the credentials in its headers."""

        def authenticate(self, outgoing, incoming):
            pass

        def is_valid(self, token):
            return ""

    class Server(flight.FlightServerBase):
        elsewhere = False

        def get_flight_info(self, context, descriptor):
            command = _proto_fields(descriptor.command)
            if command[1] != FLIGHT_SQL + b"CommandStatementQuery":
                raise flight.FlightUnimplementedError(f"{command[1].decode()} is not supported")
            query = _proto_fields(command[2])[1].decode()
            if query not in tables:
                raise flight.FlightServerError(f"SQL error: no table in '{query}'")
            ticket = _proto_field(1, FLIGHT_SQL + b"TicketStatementQuery") + _proto_field(
                2, _proto_field(1, query.encode()))
            locations = [f"grpc+tcp://127.0.0.1:{free_port()}"] if self.elsewhere else []
            table = tables[query]
            return flight.FlightInfo(table.schema, descriptor, [flight.FlightEndpoint(ticket, locations)],
                                     table.num_rows, -1)

        def do_get(self, context, ticket):
            query = _proto_fields(_proto_fields(ticket.ticket)[2])[1].decode()
            return flight.RecordBatchStream(tables[query])

    server = Server("grpc://127.0.0.1:0", auth_handler=Handshake(), middleware={"auth": Auth()})
    try:
        yield server.port, server
    finally:
        server.shutdown()


def flight_step(server_port, **overrides):
    return ("df_register_flightsql", {"host": "127.0.0.1", "port": server_port, "username": "reader",
                                      "password": "s3cret-pw", "query": "SELECT * FROM sales", "table_name": "f",
                                      "use_tls": False, **overrides})


def test_the_test_server_speaks_flight_sql(flight_sql):
    """An independent Flight SQL client (Apache Arrow's ADBC driver) reads the test server, so the node's
    tests below run against the real protocol."""
    import adbc_driver_flightsql.dbapi as adbc

    port, _ = flight_sql
    with adbc.connect(f"grpc://127.0.0.1:{port}", db_kwargs={"username": "reader", "password": "s3cret-pw"},
                      autocommit=True) as conn:
        with conn.cursor() as cursor:
            cursor.execute("SELECT * FROM sales")
            assert cursor.fetch_arrow_table().to_pylist() == [{"id": 1, "city": "Berlin"}, {"id": 2, "city": "Paris"}]


def test_register_flightsql_reads_a_query(tmp_path, flight_sql):
    """A Flight SQL query's result is registered and answers SQL; Endpoint is the server's address."""
    port, _ = flight_sql
    files = services_local(tmp_path)
    result = run_pg(files, [flight_step(port), ("df_sql_query", {"query": "SELECT city FROM f ORDER BY id"})],
                    result="rows")
    assert result.result == [{"city": "Berlin"}, {"city": "Paris"}], result.error
    assert run_pg(files, [flight_step(port)], result="endpoint").result == f"http://127.0.0.1:{port}"


def test_register_flightsql_refusals(tmp_path, flight_sql):
    """Private addresses need the egress setting; a wrong password (never echoed), no credentials, an SQL
    error, a closed port, TLS against a plain server and data sent to another location fail the node."""
    port, server = flight_sql
    files = services_local(tmp_path)
    assert "egress refused" in run_session(files, [flight_step(port)]).error["message"]
    for overrides, message in (({"password": "hunter2-wrong"}, "invalid username or password"),
                               ({"username": "", "password": ""}, "invalid username or password"),
                               ({"query": "SELECT * FROM nope"}, "SQL error: no table"),
                               ({"query": " "}, "input 'query' is empty"),
                               ({"port": free_port()}, "could not connect to 127.0.0.1"),
                               ({"use_tls": True}, "failed")):
        result = run_pg(files, [flight_step(port, **overrides)])
        assert (result.status, result.reason) == ("failed", "node_error"), overrides
        assert message in result.error["message"], (overrides, result.error)
        assert "hunter2" not in json.dumps(result.to_dict()) and "s3cret" not in json.dumps(result.to_dict())
    server.elsewhere = True
    try:
        result = run_pg(files, [flight_step(port)])
    finally:
        server.elsewhere = False
    assert "sends the result to another location" in result.error["message"], result.error
