"""The submission's board cache (boardrun.jobs.prepared): a frozen version is read and
validated once, the working copy at every submission, and a board deleted and frozen
again under the same version number is never served from the old entry."""

from __future__ import annotations

import pytest

from boardrun.apps.boards import ResolvedBoard
from boardrun.jobs import prepared
from tests.conftest import register_and_login
from tests.engine.engine_testkit import BoardBuilder


def _board(start_id: str) -> dict:
    b = BoardBuilder()
    start = b.add("events_generic", start_id)
    ret = b.add("events_generic_return_result", "ret")
    b.connect(start, "exec_out", ret, "exec_in")
    b.connect(start, "payload", ret, "response")
    return {**b.build(), "id": "echo"}


@pytest.fixture
def reads(monkeypatch):
    """Every board document a submission reads from storage, by version."""
    seen: list[str] = []
    original = ResolvedBoard.load

    def counting(self):
        seen.append(self.version)
        return original(self)

    monkeypatch.setattr(ResolvedBoard, "load", counting)
    monkeypatch.setattr(prepared, "_cache", type(prepared._cache)())
    return seen


def _setup(api, board: dict) -> tuple[dict, str]:
    user = register_and_login(api)
    app_id = api.post("/api/v1/apps", json={"name": "Cache"}, headers=user["headers"]).get_json()["id"]
    _put_and_freeze(api, user, app_id, board)
    return user, app_id


def _put_and_freeze(api, user, app_id: str, board: dict) -> None:
    assert api.put(f"/api/v1/apps/{app_id}/board/echo", json=board, headers=user["headers"]).status_code in (200, 201)
    r = api.patch(f"/api/v1/apps/{app_id}/board/echo?version_type=Minor", headers=user["headers"])
    assert r.status_code == 201, r.get_data(as_text=True)


def _submit(api, user, app_id: str, **body):
    return api.post("/jobs/submit", json={"app_id": app_id, "board_id": "echo", **body}, headers=user["headers"])


def test_a_frozen_version_is_read_once_the_working_copy_every_time(api, reads):
    """Three submissions of the frozen version read its document once; each one of the
    draft reads the working copy again (it may have changed in between)."""
    user, app_id = _setup(api, _board("start"))
    for _ in range(3):
        assert _submit(api, user, app_id).status_code == 202
    assert reads == ["0.1.0"]
    for _ in range(2):
        assert _submit(api, user, app_id, version="draft").status_code == 202
    assert reads == ["0.1.0", "draft", "draft"]


def test_a_cached_version_still_checks_the_start_node(api, reads):
    """The cached form keeps the node ids: an unknown node_id is refused from the cache too."""
    user, app_id = _setup(api, _board("start"))
    assert _submit(api, user, app_id, node_id="start").status_code == 202
    r = _submit(api, user, app_id, node_id="nope")
    assert r.status_code == 422 and r.get_json()["error"]["details"][0]["field"] == "node_id"
    assert reads == ["0.1.0"]


def test_a_board_frozen_again_after_deletion_is_read_afresh(api, reads):
    """Deleted and created again, the board freezes 0.1.0 again under the same storage key:
    its new start node is the one a submission uses, not the cached old one."""
    user, app_id = _setup(api, _board("first"))
    assert _submit(api, user, app_id, node_id="first").status_code == 202
    assert api.delete(f"/api/v1/apps/{app_id}/board/echo", headers=user["headers"]).status_code == 204
    _put_and_freeze(api, user, app_id, _board("second"))
    assert _submit(api, user, app_id, node_id="second").status_code == 202
    assert _submit(api, user, app_id, node_id="first").status_code == 422
    assert reads == ["0.1.0", "0.1.0"]
