"""The store through the store function: only public apps, search, categories,
sorting, keyset cursors that refuse tampering, and details with boards and versions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from boardrun.apps.models import App, Board, BoardVersion
from boardrun.db import session_scope
from tests.conftest import function_client

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def add_app(app_id, name, *, public=True, minutes=0, description=None, tags=(), primary=None, secondary=None):
    with session_scope() as s:
        s.add(
            App(
                id=app_id,
                name=name,
                description=description,
                tags=list(tags),
                visibility="Public" if public else "Private",
                primary_category=primary,
                secondary_category=secondary,
                created_at=T0 + timedelta(minutes=minutes),
                updated_at=T0 + timedelta(minutes=minutes),
            )
        )


@pytest.fixture
def store(env):
    return function_client("store")


@pytest.fixture
def catalogue(store):
    add_app("app-weather", "Weather Alerts", minutes=1, description="Warns before the rain", tags=["weather", "notify"], primary="Productivity")
    add_app("app-invoice", "Invoice Bot", minutes=2, description="Books invoices", tags=["finance"], primary="Finance", secondary="Productivity")
    add_app("app-secret", "Secret Payroll", public=False, minutes=3, description="Private weather payroll", tags=["weather"], primary="Finance")
    add_app("app-atlas", "atlas sync", minutes=4, description=None, tags=["maps"], primary="Other")
    return store


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


def test_lists_public_apps_only_newest_first(catalogue):
    """The list holds every public app, newest first, and never a private one."""
    r = catalogue.get("/api/v1/store")
    assert ids(r) == ["app-atlas", "app-invoice", "app-weather"]
    assert r.get_json()["next_cursor"] is None
    item = r.get_json()["items"][1]
    assert item["name"] == "Invoice Bot" and item["tags"] == ["finance"] and item["created_at"].endswith("Z")


def test_private_app_never_leaks(catalogue):
    """A private app is absent from the list, from searches by its exact name or words, and its detail is a plain 404."""
    assert "app-secret" not in ids(catalogue.get("/api/v1/store?limit=100"))
    assert ids(catalogue.get("/api/v1/store", query_string={"q": "Secret Payroll"})) == []
    assert ids(catalogue.get("/api/v1/store", query_string={"q": "weather"})) == ["app-weather"]
    assert "app-secret" not in ids(catalogue.get("/api/v1/store?category=Finance"))
    private = catalogue.get("/api/v1/store/app-secret")
    missing = catalogue.get("/api/v1/store/app-nothing")
    assert private.status_code == missing.status_code == 404
    assert private.get_json()["error"]["code"] == missing.get_json()["error"]["code"] == "not_found"
    assert "Payroll" not in private.get_data(as_text=True)


def test_search_covers_name_description_and_tags(catalogue):
    """q matches case-insensitively in the name, the description or a tag; LIKE wildcards are literal."""
    assert ids(catalogue.get("/api/v1/store?q=invoice%20BOT")) == ["app-invoice"]
    assert ids(catalogue.get("/api/v1/store?q=rain")) == ["app-weather"]
    assert ids(catalogue.get("/api/v1/store?q=maps")) == ["app-atlas"]
    assert ids(catalogue.get("/api/v1/store", query_string={"q": "%"})) == []
    assert ids(catalogue.get("/api/v1/store", query_string={"q": "_"})) == []


def test_category_matches_primary_or_secondary(catalogue):
    """category selects apps whose primary or secondary category is that one."""
    assert ids(catalogue.get("/api/v1/store?category=Productivity")) == ["app-invoice", "app-weather"]
    assert ids(catalogue.get("/api/v1/store?category=Finance")) == ["app-invoice"]
    assert ids(catalogue.get("/api/v1/store?category=Games")) == []


def test_sort_by_name(catalogue):
    """sort=name orders by name, then id."""
    names = [i["name"] for i in catalogue.get("/api/v1/store?sort=name").get_json()["items"]]
    assert names == sorted(names)
    assert set(names) == {"Weather Alerts", "Invoice Bot", "atlas sync"}


@pytest.mark.parametrize("sort", ["newest", "name"])
def test_cursor_pages_through_everything_once(store, sort):
    """Following next_cursor visits every public app exactly once, in order, whatever the sort."""
    for n in range(23):
        add_app(f"app-{n:02d}", f"App {n % 5} {n:02d}", minutes=n // 3, public=n % 7 != 0)
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 4, "sort": sort, **({"cursor": cursor} if cursor else {})}
        r = store.get("/api/v1/store", query_string=query)
        seen += ids(r)
        pages += 1
        cursor = r.get_json()["next_cursor"]
        if cursor is None:
            break
    everything = ids(store.get("/api/v1/store", query_string={"limit": 100, "sort": sort}))
    assert seen == everything and len(seen) == len(set(seen)) == 23 - 4
    assert pages == 5


def test_bad_parameters_are_422(catalogue):
    """limit outside 1..100, an unknown sort, a tampered cursor or one from another query are 422."""
    for query in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"sort": "popular"}, {"cursor": "garbage!"}):
        r = catalogue.get("/api/v1/store", query_string=query)
        assert r.status_code == 422, query
    cursor = catalogue.get("/api/v1/store?limit=1").get_json()["next_cursor"]
    assert catalogue.get("/api/v1/store", query_string={"limit": 1, "cursor": cursor}).status_code == 200
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    r = catalogue.get("/api/v1/store", query_string={"limit": 1, "cursor": tampered})
    assert r.status_code == 422 and r.get_json()["error"]["details"][0]["field"] == "cursor"
    r = catalogue.get("/api/v1/store", query_string={"limit": 1, "cursor": cursor, "sort": "name"})
    assert r.status_code == 422 and "other filters" in r.get_json()["error"]["message"]


def test_detail_has_boards_and_their_frozen_versions(catalogue):
    """A public app's detail lists its boards (id, name, description, updated_at) with their versions, newest first."""
    with session_scope() as s:
        s.add(Board(app_id="app-weather", id="brd-main", name="Main", description="The flow", size_bytes=10))
        s.add(Board(app_id="app-weather", id="brd-draft", name="Draft", size_bytes=5))
        s.flush()
        for major, minor, patch in ((1, 0, 0), (1, 1, 0), (0, 9, 3)):
            s.add(BoardVersion(app_id="app-weather", board_id="brd-main", major=major, minor=minor, patch=patch, size_bytes=10))
    r = catalogue.get("/api/v1/store/app-weather")
    assert r.status_code == 200
    body = r.get_json()
    assert body["id"] == "app-weather" and body["name"] == "Weather Alerts"
    boards = {b["id"]: b for b in body["boards"]}
    assert set(boards) == {"brd-main", "brd-draft"}
    assert [v["version"] for v in boards["brd-main"]["versions"]] == ["1.1.0", "1.0.0", "0.9.3"]
    assert boards["brd-draft"]["versions"] == [] and boards["brd-main"]["description"] == "The flow"
    assert set(boards["brd-main"]) == {"id", "name", "description", "updated_at", "versions"}


def test_store_needs_no_sign_in_end_to_end(server, env):
    """Over real HTTP on the embedded server, the store answers without any token."""
    add_app("app-e2e", "End To End")
    with server.client() as http:
        r = http.get("/api/v1/store")
        assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == ["app-e2e"]
        assert http.get("/api/v1/store/app-e2e").status_code == 200


def test_a_self_made_deep_cursor_is_422_not_500(catalogue):
    """Regression: when the cursor's digest was no secret, anyone could make one whose JSON
    was 1,500 arrays deep (within the 2,048 characters a cursor may have): json.loads raised
    RecursionError, a 500 on an anonymous endpoint. Such a cursor is now refused unread."""
    import base64
    import hashlib

    payload = "[" * 1500
    digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
    cursor = base64.urlsafe_b64encode(f"{digest}.{payload}".encode()).decode().rstrip("=")
    r = catalogue.get("/api/v1/store", query_string={"cursor": cursor})
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["error"]["details"][0]["field"] == "cursor"
