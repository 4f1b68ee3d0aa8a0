"""The hub function: platform configuration, version, info pages, features that are
facts, profile templates from the migration, and the cacheable node catalog."""

from __future__ import annotations

import json

import pytest

from boardrun import services
from boardrun import __version__
from boardrun.routes import ROUTES
from tests.conftest import function_client

PROFILE_KEYS = {"id", "name", "description", "icon", "thumbnail", "interests", "tags", "theme", "settings", "created_at", "updated_at"}


def _seed_templates_again(env) -> None:
    """conftest empties every PostgreSQL table between tests, seed rows included: put
    back exactly the rows migration 0002 seeds (tests/hub/test_migration.py proves the
    migration itself inserts them, on both backends)."""
    from sqlalchemy import func, select

    from boardrun.db import session_scope
    from boardrun.users.models import ProfileTemplate
    from tests.hub.test_migration import SEEDED, TEMPLATES

    with session_scope() as s:
        if s.scalar(select(func.count()).select_from(ProfileTemplate)) == 0:
            s.add_all(ProfileTemplate(**t, created_at=SEEDED, updated_at=SEEDED) for t in TEMPLATES)


@pytest.fixture
def hub(env, monkeypatch):
    if not env["database_url"].startswith("sqlite"):
        _seed_templates_again(env)
    for name in ("OAUTH_PROVIDERS", "HUB_CONFIG_FILE", "HUB_NAME", "BOARDRUN_COMMIT", "HUB_TERMS_URL", "HUB_TERMS_TEXT"):
        monkeypatch.delenv(name, raising=False)
    services.reset()
    return function_client("hub")


@pytest.fixture
def with_oauth(monkeypatch):
    monkeypatch.setenv("OAUTH_PROVIDERS", "google,github")
    monkeypatch.setenv("OAUTH_GOOGLE_CLIENT_ID", "google-client")
    monkeypatch.setenv("OAUTH_GOOGLE_CLIENT_SECRET", "google-very-secret")
    monkeypatch.setenv("OAUTH_GOOGLE_DISCOVERY_URL", "https://accounts.google.com/.well-known/openid-configuration")
    monkeypatch.setenv("OAUTH_GOOGLE_DISPLAY_NAME", "Google")
    monkeypatch.setenv("OAUTH_GITHUB_CLIENT_ID", "gh-client")
    monkeypatch.setenv("OAUTH_GITHUB_CLIENT_SECRET", "gh-very-secret")
    services.reset()


def test_hub_defaults(hub):
    """With no configuration the hub names itself Boardrun, reports the package version and offers password sign-in only."""
    r = hub.get("/api/v1/")
    assert r.status_code == 200
    body = r.get_json()
    assert body["name"] == "Boardrun" and body["version"] == __version__ and body["description"]
    assert [m["method"] for m in body["authentication"]["sign_in"]] == ["password"]
    assert body["authentication"]["sign_in"][0]["login_url"] == "/api/v1/auth/login"
    assert body["links"]["openapi"] == "/api/v1/openapi.json"
    assert body["legal_notice"] == {"url": None, "path": "/api/v1/info/legal"}


def test_hub_lists_oauth_providers_without_secrets(hub, with_oauth):
    """Each configured provider is listed with id, display name and start URL; no client secret or id is exposed."""
    r = hub.get("/api/v1/")
    methods = r.get_json()["authentication"]["sign_in"]
    assert methods[1:] == [
        {"method": "oauth", "id": "google", "name": "Google", "kind": "oidc", "url": "/api/v1/oauth/google"},
        {"method": "oauth", "id": "github", "name": "GitHub", "kind": "github", "url": "/api/v1/oauth/github"},
    ]
    text = r.get_data(as_text=True)
    assert "very-secret" not in text and "google-client" not in text


def test_hub_config_file_and_environment(hub, env, monkeypatch):
    """HUB_CONFIG_FILE sets name, pages and contact; an environment variable wins over the file."""
    path = env["tmp_path"] / "hub.json"
    path.write_text(json.dumps({
        "name": "Acme Flows", "description": "Acme's boards",
        "terms_of_service": {"url": "https://acme.example/terms"},
        "privacy_policy": {"text": "We keep little."},
        "contact": {"name": "Acme Ops", "email": "ops@acme.example"},
    }))
    monkeypatch.setenv("HUB_CONFIG_FILE", str(path))
    monkeypatch.setenv("HUB_DESCRIPTION", "From the environment")
    services.reset()
    body = hub.get("/api/v1/").get_json()
    assert (body["name"], body["description"]) == ("Acme Flows", "From the environment")
    assert body["terms_of_service"]["url"] == "https://acme.example/terms"
    assert hub.get("/api/v1/info/terms").get_json() == {"url": "https://acme.example/terms", "text": None}
    assert hub.get("/api/v1/info/privacy").get_json() == {"url": None, "text": "We keep little."}
    assert hub.get("/api/v1/info/contact").get_json() == {"name": "Acme Ops", "email": "ops@acme.example", "url": None}
    monkeypatch.setenv("HUB_TERMS_TEXT", "Be nice.")
    monkeypatch.setenv("HUB_CONTACT_URL", "https://acme.example/contact")
    services.reset()
    assert hub.get("/api/v1/info/terms").get_json() == {"url": "https://acme.example/terms", "text": "Be nice."}
    assert hub.get("/api/v1/info/contact").get_json()["url"] == "https://acme.example/contact"


def test_bad_hub_config_file_is_an_error_not_a_default(hub, env, monkeypatch):
    """A HUB_CONFIG_FILE that is not JSON makes the hub answer 500 (logged), not silently fall back."""
    path = env["tmp_path"] / "hub.json"
    path.write_text("{not json")
    monkeypatch.setenv("HUB_CONFIG_FILE", str(path))
    services.reset()
    r = hub.get("/api/v1/")
    assert r.status_code == 500 and "X-Error-Id" in r.headers


@pytest.mark.parametrize("page", ["legal", "privacy", "terms"])
def test_info_pages_default_to_null_and_take_env(hub, monkeypatch, page):
    """Legal, privacy and terms pages are {url, text}, null until configured by environment."""
    assert hub.get(f"/api/v1/info/{page}").get_json() == {"url": None, "text": None}
    prefix = {"legal": "HUB_LEGAL_NOTICE", "privacy": "HUB_PRIVACY_POLICY", "terms": "HUB_TERMS"}[page]
    monkeypatch.setenv(f"{prefix}_URL", f"https://example.com/{page}")
    services.reset()
    assert hub.get(f"/api/v1/info/{page}").get_json() == {"url": f"https://example.com/{page}", "text": None}


def test_version_with_and_without_commit(hub, monkeypatch):
    """/version reports the package version and the build commit from BOARDRUN_COMMIT, or null."""
    assert hub.get("/api/v1/version").get_json() == {"version": __version__, "commit": None}
    monkeypatch.setenv("BOARDRUN_COMMIT", "abc1234")
    services.reset()
    assert hub.get("/api/v1/version").get_json() == {"version": __version__, "commit": "abc1234"}


def test_features_are_facts_of_this_server(hub, with_oauth):
    """Every feature flag follows from the routes table and configuration; unimplemented Flow-Like features are false."""
    served = {(r.method, r.path) for r in ROUTES}
    f = hub.get("/api/v1/info/features").get_json()
    assert f["password_sign_in"] is True and f["registration"] is True
    assert f["oauth_sign_in"] is True and f["oauth_providers"] == ["google", "github"]
    assert f["store"] is True and f["catalog"] is True
    assert f["jobs"] == (("POST", "/jobs/submit") in served)
    assert f["execution"] == (("POST", "/api/v1/execution/run") in served)
    assert f["unauthorized_read"] == any(r.method == "GET" and r.path.startswith("/api/v1/apps/") and not r.auth for r in ROUTES)
    assert not any(f[k] for k in ("model_hosting", "governance", "ai_act", "premium", "wasm_registry", "admin_interface"))
    assert all(isinstance(v, bool) for k, v in f.items() if k != "oauth_providers")


def test_features_without_oauth(hub):
    """With no provider configured, OAuth sign-in is reported off."""
    f = hub.get("/api/v1/info/features").get_json()
    assert f["oauth_sign_in"] is False and f["oauth_providers"] == []


def test_profile_templates_are_seeded_in_profile_shape(hub):
    """The migration seeds at least three profile templates, served in the same shape as user profiles."""
    r = hub.get("/api/v1/info/profiles")
    assert r.status_code == 200
    templates = r.get_json()
    assert len(templates) >= 3
    assert {t["name"] for t in templates} >= {"Automation", "Data & AI", "Developer"}
    for t in templates:
        assert set(t) == PROFILE_KEYS
        assert isinstance(t["interests"], list) and t["settings"]["connection_mode"]
        assert t["created_at"].endswith("Z")


def test_catalog_is_the_engine_catalog_with_strong_etag(hub):
    """/catalog returns boardrun.engine.catalog() with a strong ETag and public Cache-Control; If-None-Match gives 304."""
    from boardrun.engine import catalog

    r = hub.get("/api/v1/catalog")
    assert r.status_code == 200
    assert r.get_json() == json.loads(json.dumps(catalog()))
    etag = r.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert r.headers["Cache-Control"].startswith("public, max-age=")
    assert hub.get("/api/v1/catalog").headers["ETag"] == etag  # deterministic
    cached = hub.get("/api/v1/catalog", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.get_data() == b"" and cached.headers["ETag"] == etag
    assert hub.get("/api/v1/catalog", headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert hub.get("/api/v1/catalog", headers={"If-None-Match": '"stale"'}).status_code == 200


def test_catalog_nodes_have_flowlike_shape(hub):
    """Every catalog node has Flow-Like's node fields and its pins are keyed by id."""
    nodes = hub.get("/api/v1/catalog").get_json()
    assert nodes and len({n["name"] for n in nodes}) == len(nodes)
    for node in nodes:
        assert {"id", "name", "friendly_name", "description", "category", "pins"} <= set(node)
        for pin_id, pin in node["pins"].items():
            assert pin["id"] == pin_id and pin["pin_type"] in ("Input", "Output")


def test_hub_end_to_end_over_http(server, env):
    """Over real HTTP the embedded server serves the hub, the catalog with 304 revalidation, and the profile templates."""
    if not env["database_url"].startswith("sqlite"):
        _seed_templates_again(env)
    with server.client() as http:
        assert http.get("/api/v1/").json()["name"] == "Boardrun"
        etag = http.get("/api/v1/catalog").headers["etag"]
        assert http.get("/api/v1/catalog", headers={"If-None-Match": etag}).status_code == 304
        assert len(http.get("/api/v1/info/profiles").json()) >= 3
