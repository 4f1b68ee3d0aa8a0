"""The one keyset-cursor codec (boardrun.cursors): a cursor round-trips its position at full
precision; an altered, malformed or foreign one (another list, other filters, another
server's key) is refused with the same 422; and every list endpoint (apps, store, jobs)
answers a foreign cursor that way."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from itsdangerous.encoding import base64_decode

from boardrun import cursors, services
from boardrun.errors import Unprocessable
from tests.conftest import register_and_login

WHEN = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)
SCOPE = {"app": "app_1", "status": None, "event": None}
SHAPE = (datetime, str)


@pytest.fixture
def keyed(monkeypatch, tmp_path):
    """Embedded mode with its own DATA_DIR, where the signing key (and so the cursor key) is generated."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BOARDRUN_ENV", raising=False)
    monkeypatch.delenv("AUTH_SIGNING_KEY", raising=False)
    services.reset()
    yield
    services.reset()


def refusal(cursor: str, listing: str = "jobs", scope=SCOPE, shape=SHAPE) -> str:
    with pytest.raises(Unprocessable) as caught:
        cursors.decode(cursor, listing, scope, shape)
    error = caught.value
    assert (error.status, error.code) == (422, "validation_failed")
    assert [d["field"] for d in error.details] == ["cursor"]
    return error.details[0]["message"]


def test_round_trip_keeps_the_position_exactly(keyed):
    """A cursor decodes to the position it was made from: microseconds and timezone kept, strings unchanged."""
    cursor = cursors.encode("jobs", SCOPE, (WHEN, "job_01"))
    assert cursors.decode(cursor, "jobs", dict(SCOPE), SHAPE) == (WHEN, "job_01")
    named = cursors.encode("store", {"sort": "name"}, ("Zoë's ✓ app", "app_9"))
    assert cursors.decode(named, "store", {"sort": "name"}, (str, str)) == ("Zoë's ✓ app", "app_9")
    assert len(cursor) < 200 and cursor.isascii()
    # the longest cursor a list can issue: the store by name, an app name of 200 four-byte characters
    longest = cursors.encode("store", {"sort": "name"}, ("".join(chr(0x1F300 + i) for i in range(200)), "app_" + "x" * 40))
    assert len(longest) < cursors.MAX_LENGTH and cursors.decode(longest, "store", {"sort": "name"}, (str, str))


def _decoded(cursor: str) -> list[bytes]:
    return [base64_decode(part) for part in cursor.split(".")]


def test_an_altered_cursor_is_refused(keyed):
    """Changing any one character, dropping the signature or appending to it is refused."""
    cursor = cursors.encode("jobs", SCOPE, (WHEN, "job_01"))
    for i in range(len(cursor)):
        swapped = cursor[:i] + ("A" if cursor[i] != "A" else "B") + cursor[i + 1:]
        if _decoded(swapped) == _decoded(cursor):
            continue  # a base64 part's last character has unused bits: the same bytes, the same cursor
        assert "not a cursor this server issued" in refusal(swapped), i
    assert "not a cursor this server issued" in refusal(cursor.rsplit(".", 1)[0])
    assert "not a cursor this server issued" in refusal(cursor + "x")


def test_a_cursor_of_another_list_or_other_filters_is_refused(keyed):
    """The list's name and every filter value are bound: a cursor is refused elsewhere, and
    a filter missing is not the same as a filter set."""
    cursor = cursors.encode("jobs", SCOPE, (WHEN, "job_01"))
    for listing, scope in (
        ("apps", SCOPE),
        ("jobs", {**SCOPE, "app": "app_2"}),
        ("jobs", {**SCOPE, "status": "failed"}),
        ("jobs", {**SCOPE, "event": ""}),
        ("jobs", {"app": "app_1"}),
    ):
        assert "another list or to other filters" in refusal(cursor, listing, scope), (listing, scope)


def test_a_malformed_cursor_is_refused(keyed):
    """Garbage, a bare dot, non-ASCII text, an over-long value and the old unsigned formats are refused."""
    import base64
    import json

    old_jobs = base64.urlsafe_b64encode(json.dumps([WHEN.isoformat(), "job_01"]).encode()).decode()
    for bad in ("garbage", ".", "..", "é.é", "x" * (cursors.MAX_LENGTH + 1), old_jobs, base64.b64encode(b"[" * 2500).decode()):
        assert "not a cursor this server issued" in refusal(bad), bad[:40]


def test_a_signed_payload_of_the_wrong_shape_is_refused(keyed):
    """What the signature covers is still checked: a payload of another shape (a future
    format under the same key) or a naive or unreadable time is refused, not a 500."""
    sign = cursors._serializer().dumps
    scope = cursors._scope_digest(SCOPE)
    for payload in (
        {"jobs": 1},
        ["jobs", scope],
        ["jobs", scope, [WHEN.isoformat()]],
        ["jobs", scope, [WHEN.isoformat(), 7]],
        ["jobs", scope, ["2026-03-01T12:30:15", "job_01"]],
        ["jobs", scope, ["yesterday", "job_01"]],
    ):
        assert "not a cursor this server issued" in refusal(sign(payload)), payload


def _pem() -> str:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_the_key_comes_from_the_configured_signing_key(monkeypatch, tmp_path):
    """Production: replicas configured with the same AUTH_SIGNING_KEY read each other's
    cursors; a server with another key refuses them."""
    monkeypatch.setenv("BOARDRUN_ENV", "production")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "unused"))
    first, second = _pem(), _pem()
    monkeypatch.setenv("AUTH_SIGNING_KEY", first)
    services.reset()
    try:
        cursor = cursors.encode("apps", {"user": "usr_1"}, (WHEN, "app_1"))
        services.reset()  # another process with the same configuration
        assert cursors.decode(cursor, "apps", {"user": "usr_1"}, SHAPE) == (WHEN, "app_1")
        monkeypatch.setenv("AUTH_SIGNING_KEY", second)
        services.reset()
        assert "not a cursor this server issued" in refusal(cursor, "apps", {"user": "usr_1"})
        assert not (tmp_path / "unused").exists()
    finally:
        services.reset()


def _refused(response) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and [d["field"] for d in error["details"]] == ["cursor"]
    assert error["message"].startswith("cursor is not valid: ")


def test_every_list_endpoint_refuses_foreign_cursors(api):
    """A next_cursor of /api/v1/apps, /api/v1/store and /jobs works on its own list, and is
    refused with the same 422 by the other lists, by its list under other filters and by
    another user's list of apps."""
    ada, bob = register_and_login(api), register_and_login(api)
    app_ids = [
        api.post("/api/v1/apps", json={"name": f"A{n}", "visibility": "Public"}, headers=ada["headers"]).get_json()["id"]
        for n in range(2)
    ]
    apps_cursor = api.get("/api/v1/apps?limit=1", headers=ada["headers"]).get_json()["next_cursor"]
    store_cursor = api.get("/api/v1/store?limit=1").get_json()["next_cursor"]
    # two real jobs need executors; a cursor made by the codec for this app's list is the same string
    jobs_cursor = cursors.encode("jobs", {"app": app_ids[0], "status": None, "event": None}, (WHEN, "job_x"))
    assert apps_cursor and store_cursor

    def apps(cursor, who=ada):
        return api.get("/api/v1/apps", query_string={"cursor": cursor}, headers=who["headers"])

    def store(cursor, **query):
        return api.get("/api/v1/store", query_string={"cursor": cursor, **query})

    def jobs(cursor, **query):
        return api.get("/jobs", query_string={"app_id": app_ids[0], "cursor": cursor, **query}, headers=ada["headers"])

    assert apps(apps_cursor).status_code == store(store_cursor).status_code == jobs(jobs_cursor).status_code == 200
    for response in (
        apps(store_cursor), apps(jobs_cursor), apps(apps_cursor, who=bob),
        store(apps_cursor), store(jobs_cursor), store(store_cursor, sort="name"), store(store_cursor, q="A"),
        jobs(apps_cursor), jobs(store_cursor), jobs(jobs_cursor, status="failed"), jobs(jobs_cursor, app_id=app_ids[1]),
        apps("garbage"), store("garbage"), jobs("garbage"),
    ):  # fmt: skip
        _refused(response)
