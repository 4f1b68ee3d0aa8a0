"""Boards through the apps function: save (schema, size, ETag/If-Match, engine warnings),
read (draft, versions, 304), freeze versions, list, delete, and resolve_board."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from boardrun import services
from boardrun.apps.boards import ResolvedBoard, resolve_board
from boardrun.apps.models import BoardVersion
from boardrun.db import session_scope
from boardrun.errors import NotFound, Unprocessable
from boardrun.storage import get_storage
from boardrun.testing.boards import hello_board
from tests.apps.conftest import create_app, quick_user


@pytest.fixture
def owner(env):
    return quick_user("ada@example.com")


@pytest.fixture
def app_id(apps, owner):
    return create_app(apps, owner)


def _put(apps, owner, app_id, board, board_id="hello", **headers):
    return apps.put(f"/api/v1/apps/{app_id}/board/{board_id}", json=board, headers={**owner["headers"], **headers})


def _freeze(apps, owner, app_id, kind, board_id="hello"):
    return apps.patch(f"/api/v1/apps/{app_id}/board/{board_id}?version_type={kind}", headers=owner["headers"])


def test_put_creates_then_updates(apps, owner, app_id, board):
    """A new board is a 201 with Location and ETag "1"; saving again is a 200 with revision 2 in storage."""
    r = _put(apps, owner, app_id, board)
    assert r.status_code == 201
    assert r.headers["Location"] == f"/api/v1/apps/{app_id}/board/hello" and r.headers["ETag"] == '"1"'
    body = r.get_json()
    assert (body["id"], body["name"], body["revision"], body["warnings"]) == ("hello", "Hello", 1, [])
    stored = get_storage().get(f"apps/{app_id}/boards/hello.json")
    assert body["size_bytes"] == len(stored) and json.loads(stored) == board
    board["name"] = "Renamed"
    r = _put(apps, owner, app_id, board)
    assert r.status_code == 200 and r.get_json()["revision"] == 2 and r.headers["ETag"] == '"2"'
    listed = apps.get(f"/api/v1/apps/{app_id}/board", headers=owner["headers"]).get_json()["boards"]
    assert [(b["id"], b["name"], b["revision"], b["description"], b["latest_version"]) for b in listed] == [
        ("hello", "Renamed", 2, "logs one line", None)
    ]


def test_if_match(apps, owner, app_id, board):
    """If-Match with the current revision saves; a stale one is a 412 and changes nothing."""
    _put(apps, owner, app_id, board)
    assert _put(apps, owner, app_id, board, **{"If-Match": '"1"'}).status_code == 200
    r = _put(apps, owner, app_id, board, **{"If-Match": '"1"'})
    assert r.status_code == 412 and r.get_json()["error"]["code"] == "precondition_failed"
    assert apps.get(f"/api/v1/apps/{app_id}/board/hello", headers=owner["headers"]).headers["ETag"] == '"2"'
    assert _put(apps, owner, app_id, hello_board("other"), board_id="other", **{"If-Match": '"1"'}).status_code == 412


def test_schema_errors_name_json_paths(apps, owner, app_id, board):
    """A board breaking the format is a 422 whose details name each failing JSON path."""
    pins = board["nodes"]["n_log"]["pins"]
    message, toast, exec_in = (next(i for i, p in pins.items() if p["name"] == name) for name in ("message", "toast", "exec_in"))
    pins[message]["data_type"] = "Text"
    pins[toast]["default_value"] = [300]
    del pins[exec_in]["pin_type"]
    board["stage"] = "Live"
    del board["refs"]
    r = _put(apps, owner, app_id, board)
    assert r.status_code == 422
    assert {d["field"] for d in r.get_json()["error"]["details"]} == {
        f"nodes/n_log/pins/{message}/data_type",
        f"nodes/n_log/pins/{toast}/default_value/0",
        f"nodes/n_log/pins/{exec_in}/pin_type",
        "stage",
        "refs",
    }
    assert get_storage().list(f"apps/{app_id}") == []


def test_unknown_newer_fields_are_tolerated(apps, owner, app_id, board):
    """Fields a newer Flow-Like may add (on the board, nodes, pins) do not make a board invalid."""
    board["future_field"] = {"x": 1}
    board["nodes"]["n_log"]["new_flag"] = True
    next(iter(board["nodes"]["n_log"]["pins"].values()))["extra"] = "y"
    assert _put(apps, owner, app_id, board).status_code == 201


def test_board_id_rules(apps, owner, app_id, board):
    """A path board id that is not a safe client id, or differs from the body's id, is a 422."""
    bad = hello_board("-bad")
    assert _put(apps, owner, app_id, bad, board_id="-bad").status_code == 422
    r = _put(apps, owner, app_id, board, board_id="another")
    assert r.status_code == 422 and r.get_json()["error"]["details"][0]["field"] == "id"


def test_board_size_limit(apps, owner, app_id, board, monkeypatch):
    """A board over MAX_BOARD_BYTES is a 413, even though it is a valid board."""
    monkeypatch.setenv("MAX_BOARD_BYTES", "1000")
    services.reset()
    board["description"] = "x" * 2000
    assert _put(apps, owner, app_id, board).status_code == 413


def test_engine_problems_come_back_as_warnings(apps, owner, app_id, board):
    """A board the engine would refuse to run is still saved, with the engine's problems as warnings."""
    board["nodes"]["n_log"]["name"] = "no_such_node"
    r = _put(apps, owner, app_id, board)
    assert r.status_code == 201
    warnings = r.get_json()["warnings"]
    assert any(w["node_id"] == "n_log" and w["code"] == "unknown_node" for w in warnings)


def test_get_board_etag_and_304(apps, owner, app_id, board):
    """GET returns the stored board with its ETag; If-None-Match with that ETag is a 304."""
    _put(apps, owner, app_id, board)
    r = apps.get(f"/api/v1/apps/{app_id}/board/hello", headers=owner["headers"])
    assert r.status_code == 200 and r.get_json() == board and r.headers["ETag"] == '"1"'
    again = apps.get(f"/api/v1/apps/{app_id}/board/hello", headers={**owner["headers"], "If-None-Match": '"1"'})
    assert again.status_code == 304 and again.get_data() == b""
    assert apps.get(f"/api/v1/apps/{app_id}/board/missing", headers=owner["headers"]).status_code == 404


def test_version_numbers(apps, owner, app_id, board):
    """Freezing numbers versions after the newest: Patch 0.0.1, then Minor 0.1.0, Patch 0.1.1, Major 1.0.0."""
    _put(apps, owner, app_id, board)
    got = []
    for kind in ("Patch", "Minor", "Patch", "Major", "Minor"):
        r = _freeze(apps, owner, app_id, kind)
        assert r.status_code == 201
        got.append((r.get_json()["label"], r.get_json()["version"]))
    assert got == [("0.0.1", [0, 0, 1]), ("0.1.0", [0, 1, 0]), ("0.1.1", [0, 1, 1]), ("1.0.0", [1, 0, 0]), ("1.1.0", [1, 1, 0])]
    versions = apps.get(f"/api/v1/apps/{app_id}/board/hello/version", headers=owner["headers"]).get_json()["versions"]
    assert [v["label"] for v in versions] == ["1.1.0", "1.0.0", "0.1.1", "0.1.0", "0.0.1"]
    assert all(v["size_bytes"] > 0 and v["created_at"] for v in versions)
    assert apps.get(f"/api/v1/apps/{app_id}/board", headers=owner["headers"]).get_json()["boards"][0]["latest_version"] == "1.1.0"


@pytest.mark.parametrize("kind", ["Minor", "Major"])
def test_first_version(apps, owner, app_id, board, kind):
    """The first Minor freeze is 0.1.0 and the first Major 1.0.0."""
    _put(apps, owner, app_id, board)
    assert _freeze(apps, owner, app_id, kind).get_json()["label"] == {"Minor": "0.1.0", "Major": "1.0.0"}[kind]


def test_freeze_needs_a_valid_version_type(apps, owner, app_id, board):
    """A missing or unknown version_type is a 422; freezing an unknown board is a 404."""
    _put(apps, owner, app_id, board)
    assert apps.patch(f"/api/v1/apps/{app_id}/board/hello", headers=owner["headers"]).status_code == 422
    assert _freeze(apps, owner, app_id, "Huge").status_code == 422
    assert _freeze(apps, owner, app_id, "Patch", board_id="missing").status_code == 404


def test_frozen_versions_are_immutable(apps, owner, app_id, board):
    """Editing the working copy after a freeze leaves the frozen version as it was; both version spellings work."""
    _put(apps, owner, app_id, board)
    _freeze(apps, owner, app_id, "Minor")
    assert get_storage().list(f"apps/{app_id}/boards/hello") == [f"apps/{app_id}/boards/hello/versions/0_1_0.json"]
    edited = hello_board(message="changed")
    _put(apps, owner, app_id, edited)
    for spelling in ("0.1.0", "0_1_0"):
        r = apps.get(f"/api/v1/apps/{app_id}/board/hello?version={spelling}", headers=owner["headers"])
        assert r.status_code == 200 and r.get_json() == board
    assert apps.get(f"/api/v1/apps/{app_id}/board/hello", headers=owner["headers"]).get_json() == edited
    assert apps.get(f"/api/v1/apps/{app_id}/board/hello?version=0.2.0", headers=owner["headers"]).status_code == 404
    assert apps.get(f"/api/v1/apps/{app_id}/board/hello?version=one", headers=owner["headers"]).status_code == 422


def test_concurrent_freezes_get_distinct_versions(api, owner, board):
    """Eight freezes at once produce eight different versions (or a clean 409), never a duplicate."""
    app_id = create_app(api, owner)
    api.put(f"/api/v1/apps/{app_id}/board/hello", json=board, headers=owner["headers"])
    results: list = []
    barrier = threading.Barrier(8)

    def freeze():
        barrier.wait()
        results.append(api.patch(f"/api/v1/apps/{app_id}/board/hello?version_type=Patch", headers=owner["headers"]))

    threads = [threading.Thread(target=freeze) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in results} <= {201, 409}
    labels = [r.get_json()["label"] for r in results if r.status_code == 201]
    assert len(labels) == len(set(labels)) and len(labels) >= 1
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(BoardVersion)) == len(labels)


def test_delete_board_removes_versions(apps, owner, app_id, board):
    """DELETE removes the board, its version rows and every stored object of it (204)."""
    _put(apps, owner, app_id, board)
    _freeze(apps, owner, app_id, "Patch")
    _freeze(apps, owner, app_id, "Patch")
    assert apps.delete(f"/api/v1/apps/{app_id}/board/hello", headers=owner["headers"]).status_code == 204
    assert get_storage().list(f"apps/{app_id}") == []
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(BoardVersion)) == 0
    assert apps.get(f"/api/v1/apps/{app_id}/board/hello", headers=owner["headers"]).status_code == 404
    assert apps.delete(f"/api/v1/apps/{app_id}/board/hello", headers=owner["headers"]).status_code == 404
    assert _put(apps, owner, app_id, board).status_code == 201  # the id can be used again


def test_resolve_board(apps, owner, app_id, board):
    """resolve_board maps latest/draft/M.m.p/M_m_p to a stored document, and load() reads it."""
    _put(apps, owner, app_id, board)
    with session_scope() as s:
        with pytest.raises(NotFound, match="no frozen version yet.*version_type="):
            resolve_board(s, app_id, "hello", "latest")
        draft = resolve_board(s, app_id, "hello", "draft")
    assert draft == ResolvedBoard(app_id, "hello", "draft", f"apps/{app_id}/boards/hello.json")
    assert draft.load() == board
    _freeze(apps, owner, app_id, "Minor")
    _freeze(apps, owner, app_id, "Patch")
    with session_scope() as s:
        latest = resolve_board(s, app_id, "hello", "latest")
        assert (latest.version, latest.storage_key) == ("0.1.1", f"apps/{app_id}/boards/hello/versions/0_1_1.json")
        assert resolve_board(s, app_id, "hello", "0_1_0").version == "0.1.0"
        assert resolve_board(s, app_id, "hello", "0.1.0").load() == board
        with pytest.raises(NotFound):
            resolve_board(s, app_id, "hello", "2.0.0")
        with pytest.raises(NotFound):
            resolve_board(s, app_id, "nope", "draft")
        with pytest.raises(Unprocessable):
            resolve_board(s, app_id, "hello", "v1")
    with pytest.raises(AttributeError):
        latest.version = "x"  # frozen dataclass


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_board_id_ending_in_a_newline_is_422_not_500(api, owner, board, method):
    """Regression: a board id ending in %0A passed the id pattern (`$` matches before a
    final newline) and failed later with a ValueError (500). Through the embedded server's
    router: functions-framework's own routing never matches a newline in a path."""
    app_id = create_app(api, owner)
    kwargs = {"json": {**board, "id": "hello\n"}} if method == "put" else {}
    r = getattr(api, method)(f"/api/v1/apps/{app_id}/board/hello%0A", headers=owner["headers"], **kwargs)
    assert r.status_code in (404, 422), r.get_data(as_text=True)
    assert r.get_json()["error"]["code"] in ("validation_failed", "board_not_found", "not_found")
