# ruff: noqa: F811 - test arguments name the fixtures imported from data_testkit
"""Data nodes end to end through POST /jobs/submit on the embedded server: app files, the local
database (LanceDB) and DataFusion SQL, in the app's storage (a local folder, and S3 on a moto
server), isolated from other apps."""

from __future__ import annotations

import uuid

import pytest

from boardrun.testing.boards import BoardBuilder
from tests.engine.nodes.data_testkit import moto_url  # noqa: F401 - pytest fixture
from tests.jobs.conftest import Workspace, sign_in

CSV = "id,body\n1,the quick brown fox\n2,a slow green turtle\n3,fresh bread\n"


def _csv_path(b: BoardBuilder) -> str:
    storage = b.add("path_from_storage_dir")
    child = b.add("child", child_name="notes.csv")
    b.connect(storage, "path", child, "parent_path")
    return child


def load_board() -> dict:
    """Write notes.csv, load it into the local database, index it and search it."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    path = _csv_path(b)
    write = b.add("write_string", content=CSV)
    db = b.add("open_local_db", name="notes")
    insert = b.add("csv_insert_local_db")
    index = b.add("index_local_db", column="body", type="FULL TEXT")
    search = b.add("fts_search_local_db", search="turtle")
    ret = b.add("events_generic_return_result")
    b.chain(start, write, db, insert, index, search, ret)
    b.connect(path, "path", write, "path")
    b.connect(path, "path", insert, "csv")
    for node in (insert, index, search):
        b.connect(db, "database", node, "database")
    b.connect(search, "values", ret, "response")
    return b.build()


def query_board() -> dict:
    """Query notes.csv with DataFusion SQL, joined with the rows of the local database."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    path = _csv_path(b)
    session = b.add("df_create_session")
    mount = b.add("df_mount_csv", table_name="notes_csv")
    db = b.add("open_local_db", name="notes")
    register = b.add("df_register_lance", table_name="notes_db")
    query = b.add("df_sql_query", query="SELECT c.id, d.body FROM notes_csv c JOIN notes_db d "
                                        "ON CAST(c.id AS VARCHAR) = d.id WHERE c.id > 1 ORDER BY c.id")
    ret = b.add("events_generic_return_result")
    b.chain(start, session, mount, db, register, query, ret)
    b.connect(path, "path", mount, "path")
    for node in (mount, register, query):
        b.connect(session, "session", node, "session")
    b.connect(db, "database", register, "database")
    b.connect(query, "rows", ret, "response")
    return b.build()


@pytest.fixture(params=["local", "s3"])
def data_workspace(request, env, monkeypatch):
    """A signed-in owner with an app, on a server whose storage is a local folder or an S3 bucket."""
    if request.param == "s3":
        import boto3

        url = request.getfixturevalue("moto_url")
        for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                            "AWS_DEFAULT_REGION": "us-east-1", "S3_ENDPOINT_URL": url}.items():
            monkeypatch.setenv(name, value)
        bucket = f"e2e-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=url).create_bucket(Bucket=bucket)
        monkeypatch.setenv("STORAGE_URL", f"s3://{bucket}/boardrun")
    server = request.getfixturevalue("server")  # started now, with the storage chosen above
    client = server.client()
    headers = sign_in(client, "owner@example.com")
    app_id = client.post("/api/v1/apps", json={"name": "Data"}, headers=headers).json()["id"]
    yield Workspace(client, headers, app_id)
    client.close()


def test_files_database_and_sql_end_to_end(data_workspace):
    """A job writes a CSV and searches it in the local database; a later job queries both with SQL."""
    data_workspace.put_board("load", load_board())
    data_workspace.put_board("query", query_board())
    loaded = data_workspace.submit("load", payload={}, mode="sync").json()
    assert loaded["status"] == "completed", loaded["error"]
    assert [(row["id"], row["body"]) for row in loaded["result"]] == [("2", "a slow green turtle")]
    queried = data_workspace.submit("query", payload={}, mode="sync").json()
    assert queried["status"] == "completed", queried["error"]
    assert queried["result"] == [{"id": 2, "body": "a slow green turtle"}, {"id": 3, "body": "fresh bread"}]


def test_another_app_cannot_reach_the_data(data_workspace):
    """The same query board in a second app finds neither the first app's CSV nor its database table."""
    data_workspace.put_board("load", load_board())
    assert data_workspace.submit("load", payload={}, mode="sync").json()["status"] == "completed"
    other = data_workspace.client.post("/api/v1/apps", json={"name": "Other"}, headers=data_workspace.headers).json()["id"]
    data_workspace.app_id = other
    data_workspace.put_board("query", query_board())
    failed = data_workspace.submit("query", payload={}, mode="sync").json()
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "node_error" and "'notes.csv' is neither a file nor a folder" in (
        failed["error"]["message"])


def document_board() -> dict:
    """Write an HTML page to the app's storage, extract it as Markdown pages, and make a chat attachment of it."""
    b = BoardBuilder()
    start = b.add("events_generic", "start")
    storage = b.add("path_from_storage_dir")
    child = b.add("child", child_name="page.html")
    b.connect(storage, "path", child, "parent_path")
    write = b.add("write_string", content="<h1>Menu</h1><ul><li>Soup</li></ul>")
    extract = b.add("ai_processing_extract_document")
    attach = b.add("events_chat_attachment_from_path", name="Menu")
    ret = b.add("events_generic_return_result")
    b.chain(start, write, extract, attach, ret)
    for node, pin in ((write, "path"), (extract, "file"), (attach, "path")):
        b.connect(child, "path", node, pin)
    b.connect(extract, "pages", ret, "response")
    return b.build()


def test_documents_end_to_end(data_workspace, request):
    """A job extracts a document it wrote as Markdown pages; its chat attachment is a presigned URL on S3
    and a clear failure on a local folder."""
    data_workspace.put_board("doc", document_board())
    job = data_workspace.submit("doc", payload={}, mode="sync").json()
    if request.node.callspec.params["data_workspace"] == "local":  # nothing can presign a local file
        assert job["status"] == "failed" and "signed URLs need S3 storage" in job["error"]["message"], job
        return
    assert job["status"] == "completed", job["error"]
    assert job["result"] == [{"page_number": 1, "content": "# Menu\n\n* Soup", "images": []}]
