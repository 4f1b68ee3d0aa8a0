# ruff: noqa: F811 - test arguments name the fixtures imported from data_testkit
"""The local database nodes (Data/Database) on real LanceDB, in a local folder and in S3 (moto server)."""

from __future__ import annotations

import pytest

from boardrun.engine.files import FileServices
from data_testkit import files, moto_url, services, storage  # noqa: F401 - pytest fixtures
from engine_testkit import BoardBuilder

ROWS = [
    {"id": 1, "text": "the quick brown fox jumps", "kind": "animal", "vector": [1.0, 0.0, 0.0]},
    {"id": 2, "text": "a slow green turtle swims", "kind": "animal", "vector": [0.0, 1.0, 0.0]},
    {"id": 3, "text": "fresh bread from the oven", "kind": "food", "vector": [0.0, 0.0, 1.0]},
]



def run_steps(files, steps, table="docs", user_scoped=False, result=None):
    """Open ``table`` and run ``steps`` ((node, defaults) in order) on it; return the run result.

    ``result`` names an output pin of the last step, which becomes the run's result.
    """
    b = BoardBuilder()
    start = b.add("events_simple")
    db = b.add("open_local_db", name=table, user_scoped=user_scoped)
    b.connect(start, "exec_out", db, "exec_in")
    previous = db
    for name, defaults in steps:
        node = b.add(name, **defaults)
        if any(p["name"] == "database" for p in b.nodes[node]["pins"].values()):
            b.connect(db, "database", node, "database")
        b.connect(previous, "exec_out", node, "exec_in")
        previous = node
    if result is not None:
        ret = b.add("events_generic_return_result")
        b.connect(previous, "exec_out", ret, "exec_in")
        b.connect(previous, result, ret, "response")
    return b.run(start, files=files)


def seeded(*steps):
    return [("batch_insert_local_db", {"value": ROWS}), *steps]


def ids(rows):
    return [r["id"] for r in rows]


def test_batch_insert_then_list_filter_and_count(files):
    """Rows written by Batch Insert come back from List (paged), Filter and Count, in their JSON form."""
    listed = run_steps(files, seeded(("list_local_db", {"limit": 2, "offset": 1})), result="values")
    assert listed.status == "completed", listed.error
    assert ids(listed.result) == [2, 3]
    assert listed.result[0]["vector"] == [0.0, 1.0, 0.0] and listed.result[0]["text"] == ROWS[1]["text"]
    filtered = run_steps(files, [("filter_local_db", {"filter": "kind = 'animal'", "limit": 10})], result="values")
    assert sorted(ids(filtered.result)) == [1, 2]
    counted = run_steps(files, [("count_local_db", {"filter": "id >= 2"})], result="count")
    assert counted.result == 2
    assert run_steps(files, [("count_local_db", {})], result="count").result == 3


def test_upsert_replaces_matching_rows_and_inserts_new_ones(files):
    """Batch Upsert updates the row with the same ID and adds the rest; Upsert does the same for one row."""
    new = [{"id": 2, "text": "changed", "kind": "animal", "vector": [0.5, 0.5, 0.0]},
           {"id": 4, "text": "added", "kind": "food", "vector": [0.1, 0.2, 0.3]}]
    result = run_steps(files, seeded(("batch_upsert_local_db", {"id_row": "id", "value": new}),
                                     ("upsert_local_db", {"id_row": "id", "value": {**ROWS[0], "text": "one"}}),
                                     ("list_local_db", {"limit": 10})), result="values")
    assert result.status == "completed", result.error
    by_id = {r["id"]: r["text"] for r in result.result}
    assert by_id == {1: "one", 2: "changed", 3: ROWS[2]["text"], 4: "added"}


def test_vector_search_orders_by_cosine_distance(files):
    """Vector Search returns the nearest rows first, honours the filter and reports the distance."""
    result = run_steps(files, seeded(("vector_search_local_db", {"vector": [0.9, 0.1, 0.0], "limit": 2})),
                       result="values")
    assert result.status == "completed", result.error
    assert ids(result.result) == [1, 2]
    assert result.result[0]["_distance"] < result.result[1]["_distance"]
    filtered = run_steps(files, [("vector_search_local_db", {"vector": [0.9, 0.1, 0.0], "filter": "kind = 'food'"})],
                         result="values")
    assert ids(filtered.result) == [3]


def test_vector_search_with_a_vector_index(files):
    """Build Index AUTO on the vector column builds a vector index; Vector Search still finds the nearest row."""
    result = run_steps(files, seeded(("index_local_db", {"column": "vector"}),
                                     ("vector_search_local_db", {"vector": [0.0, 0.0, 2.0], "limit": 1})),
                       result="values")
    assert result.status == "completed", result.error
    assert ids(result.result) == [3]


def test_full_text_and_hybrid_search_after_a_full_text_index(files):
    """With a FULL TEXT index, Full-Text Search finds the matching row and Hybrid Search ranks it first."""
    fts = run_steps(files, seeded(("index_local_db", {"column": "text", "type": "FULL TEXT"}),
                                  ("fts_search_local_db", {"search": "turtle"})), result="values")
    assert fts.status == "completed", fts.error
    assert ids(fts.result) == [2]
    hybrid = run_steps(files, [("hybrid_search_local_db", {"search": "bread", "vector": [0.0, 0.1, 1.0],
                                                            "limit": 3})], result="values")
    assert hybrid.status == "completed", hybrid.error
    assert ids(hybrid.result)[0] == 3 and "_relevance_score" in hybrid.result[0]


def test_delete_purge_schema_index_optimize_and_list_tables(files):
    """Delete removes matching rows, Purge all; the schema names the columns; tables are listed."""
    result = run_steps(files, seeded(("filter_delete_local_db", {"filter": "id = 1"}),
                                     ("index_local_db", {"column": "id", "type": "BTREE"}),
                                     ("optimize_local_db", {"keep_versions": False}),
                                     ("count_local_db", {})), result="count")
    assert result.status == "completed", result.error
    assert result.result == 2
    schema = run_steps(files, [("schema_local_db", {})], result="schema").result
    fields = {f["name"]: f["data_type"] for f in schema["fields"]}
    assert fields["id"] == "int64" and fields["text"] == "string" and fields["vector"].startswith("fixed_size_list")
    assert run_steps(files, [("purge_local_db", {}), ("count_local_db", {})], result="count").result == 0
    tables = run_steps(files, [("list_tables_db", {})], result="tables")
    assert tables.result == ["docs"]


def test_csv_insert_streams_a_file_in_chunks(files):
    """Batch Insert (CSV) reads an app file in chunks, with quoted fields and a custom delimiter, as text."""
    from boardrun.engine.files import flow_path

    body = 'id;title\n1;"semi; colon"\n2;"two\nlines"\n3;plain\n'
    files.write(files.locate(flow_path("dirs__storage", "in/rows.csv"), "p"), body.encode())
    result = run_steps(files, [("csv_insert_local_db", {"csv": flow_path("dirs__storage", "in/rows.csv"),
                                                        "chunk_size": 2, "delimiter": ";"}),
                               ("list_local_db", {"limit": 10})], result="values")
    assert result.status == "completed", result.error
    assert result.result == [{"id": "1", "title": "semi; colon"}, {"id": "2", "title": "two\nlines"},
                             {"id": "3", "title": "plain"}]


@pytest.mark.parametrize("body,message", [
    (b"", "is empty"),
    (b'a,b\n1,"unclosed\n', "malformed CSV"),
])
def test_csv_insert_bad_files(files, body, message):
    """An empty or malformed CSV, or a missing file, fails the node."""
    from boardrun.engine.files import flow_path

    files.write(files.locate(flow_path("dirs__storage", "bad.csv"), "p"), body)
    result = run_steps(files, [("csv_insert_local_db", {"csv": flow_path("dirs__storage", "bad.csv")})])
    assert result.status == "failed" and message in result.error["message"]
    missing = run_steps(files, [("csv_insert_local_db", {"csv": flow_path("dirs__storage", "nope.csv")})])
    assert "file not found" in missing.error["message"]


def test_a_table_created_by_another_opener_is_found(files):
    """Two openers of one missing table: after the first creates it, the second reads it and adds to it."""
    from boardrun.engine.nodes.data.database import LocalTable, connect

    class Ctx:  # what connect() reads of a node's context: the run's file services
        def __init__(self, files):
            self.files = files

    first, second = LocalTable(connect(Ctx(files), False), "docs"), LocalTable(connect(Ctx(files), False), "docs")
    first.write(ROWS[:1], "value")
    assert second.require().count_rows() == 1
    other = LocalTable(connect(Ctx(files), False), "fresh")
    LocalTable(connect(Ctx(files), False), "fresh").write(ROWS[:1], "value")
    other.write(ROWS[1:], "value")  # its create finds the table made meanwhile and appends
    assert other.require().count_rows() == 3


def test_tdms_insert_loads_groups_and_channels(files, tmp_path):
    """A TDMS file becomes rows per group and sample index, channels as typed columns, short channels padded."""
    import numpy as np
    from nptdms import ChannelObject, TdmsWriter

    from boardrun.engine.files import flow_path

    source = tmp_path / "m.tdms"
    with TdmsWriter(str(source)) as writer:
        writer.write_segment([ChannelObject("run", "volts", np.array([1.5, 2.5, 3.5])),
                              ChannelObject("run", "count", np.array([1, 2], dtype=np.int32)),
                              ChannelObject("run", "at", np.array([np.datetime64("2026-01-01T00:00:00.5")]))])
    files.write(files.locate(flow_path("dirs__storage", "m.tdms"), "p"), source.read_bytes())
    result = run_steps(files, [("tdms_insert_local_db", {"tdms_path": flow_path("dirs__storage", "m.tdms"),
                                                         "chunk_size": 2}),
                               ("list_local_db", {"limit": 10})], result="values")
    assert result.status == "completed", result.error
    assert result.result == [
        {"_group": "run", "volts": 1.5, "count": 1, "at": "2026-01-01T00:00:00.500000"},
        {"_group": "run", "volts": 2.5, "count": 2, "at": None},
        {"_group": "run", "volts": 3.5, "count": None, "at": None},
    ]
    schema = run_steps(files, [("schema_local_db", {})], result="schema").result
    assert {f["name"]: f["data_type"] for f in schema["fields"]}["count"] == "int32"
    files.write(files.locate(flow_path("dirs__storage", "bad.tdms"), "p"), b"not a tdms file at all")
    bad = run_steps(files, [("tdms_insert_local_db", {"tdms_path": flow_path("dirs__storage", "bad.tdms")})])
    assert bad.status == "failed" and "not a readable TDMS file" in bad.error["message"]


def test_user_scoped_database_is_separate(files):
    """A user-scoped table lives in the user's folder: the app's database does not list it."""
    assert run_steps(files, seeded(), table="mine", user_scoped=True).status == "completed"
    assert run_steps(files, [("list_tables_db", {"user_scoped": True})], result="tables").result == ["mine"]
    assert run_steps(files, [("list_tables_db", {})], result="tables").result == []


def test_another_app_cannot_open_the_database(storage):
    """A board of app2 opening the same table name sees no rows of app1, and lists no tables of it."""
    assert run_steps(services(storage, "app1"), seeded()).status == "completed"
    other = services(storage, "app2")
    result = run_steps(other, [("count_local_db", {})], result="count")
    assert result.status == "failed" and "does not exist" in result.error["message"]
    assert run_steps(other, [("list_tables_db", {})], result="tables").result == []


@pytest.mark.parametrize("steps,message", [
    ([("count_local_db", {})], "table 'docs' does not exist"),
    (seeded(("vector_search_local_db", {"vector": [1.0, 2.0]})), "has 2 values but the table's vectors have 3"),
    (seeded(("filter_local_db", {"filter": "nocolumn > 1"})), "filtering rows failed"),
    (seeded(("batch_insert_local_db", {"value": [{"id": "x", "text": "t", "kind": "k", "vector": [1, 2, 3]}]})),
     "writing the rows failed"),
    ([("batch_insert_local_db", {"value": [{"vector": [1.0]}, {"vector": [1.0, 2.0]}]})], "same dimension"),
    ([("batch_insert_local_db", {"value": [1, 2]})], "row 0 is not an object"),
    ([("batch_insert_local_db", {"value": []})], "no rows to write"),
    (seeded(("filter_delete_local_db", {"filter": ""})), "Purge deletes every row"),
    (seeded(("fts_search_local_db", {"search": "fox"})), "searching failed"),
    (seeded(("index_local_db", {"column": "missing"})), "no column 'missing'"),
    (seeded(("list_local_db", {"limit": 0})), "'limit' must be at least 1"),
    (seeded(("filter_local_db", {"offset": -1})), "'offset' must not be negative"),
])
def test_bad_input_fails_the_node(files, steps, message):
    """Missing tables, wrong vector dimensions, bad filters and bad rows fail with node_error and a clear message."""
    result = run_steps(files, steps)
    assert (result.status, result.reason) == ("failed", "node_error")
    assert message in result.error["message"]


def test_bad_table_name_and_missing_storage(tmp_path):
    """An unsafe table name is refused; a run without app storage fails clearly."""
    result = run_steps(FileServices.local(tmp_path, "a", "u"), [], table="../x")
    assert "not a table name" in result.error["message"]
    b = BoardBuilder()
    start = b.add("events_simple")
    db = b.add("open_local_db", name="t")
    b.connect(start, "exec_out", db, "exec_in")
    assert "need app storage" in b.run(start).error["message"]


def test_a_forged_reference_is_refused(files):
    """A database reference that this run did not open is refused."""
    b = BoardBuilder()
    start = b.add("events_simple")
    count = b.add("count_local_db", database={"cache_key": "local database_forged"})
    b.connect(start, "exec_out", count, "exec_in")
    assert "no open local database" in b.run(start, files=files).error["message"]
