"""The users function: the caller's own record and profiles, through functions-framework."""

from __future__ import annotations

from tests.apps.conftest import sign_up

USER_FIELDS = {
    "id", "email", "name", "username", "description", "avatar", "accepted_terms_version",
    "tutorial_completed", "email_verified", "status", "tier", "created_at", "updated_at",
}  # fmt: skip


def test_get_user_returns_the_record_without_secrets(auth, users):
    """GET /api/v1/user answers the caller's record with exactly the documented fields, no password hash."""
    ada = sign_up(auth, "ada@example.com")
    r = users.get("/api/v1/user", headers=ada["headers"])
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == USER_FIELDS
    assert body["id"] == ada["user_id"] and body["email"] == "ada@example.com"
    assert "password" not in r.get_data(as_text=True) and "argon2" not in r.get_data(as_text=True)


def test_get_user_needs_a_token(users):
    """Without a Bearer token the user endpoints answer 401 with WWW-Authenticate."""
    r = users.get("/api/v1/user")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert users.get("/api/v1/user", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_put_user_updates_editable_fields(auth, users):
    """PUT /api/v1/user changes the editable fields and returns the updated record."""
    ada = sign_up(auth, "ada@example.com")
    changes = {
        "name": "Ada", "username": "ada_l", "description": "engines", "avatar": "https://example.com/a.png",
        "accepted_terms_version": "2025-01", "tutorial_completed": True,
    }  # fmt: skip
    r = users.put("/api/v1/user", json=changes, headers=ada["headers"])
    assert r.status_code == 200
    assert {k: r.get_json()[k] for k in changes} == changes
    assert users.get("/api/v1/user", headers=ada["headers"]).get_json()["username"] == "ada_l"


def test_put_user_names_unknown_fields(auth, users):
    """Fields that are not editable (email, status, tier, password_hash…) are a 422 naming each of them."""
    ada = sign_up(auth, "ada@example.com")
    r = users.put("/api/v1/user", json={"email": "x@example.com", "tier": "pro", "name": "A"}, headers=ada["headers"])
    assert r.status_code == 422
    assert {d["field"] for d in r.get_json()["error"]["details"]} == {"email", "tier"}
    assert users.get("/api/v1/user", headers=ada["headers"]).get_json()["email"] == "ada@example.com"


def test_put_user_taken_username_is_409(auth, users):
    """Taking a username another account has is a 409; keeping one's own is fine."""
    ada, bob = sign_up(auth, "ada@example.com"), sign_up(auth, "bob@example.com")
    assert users.put("/api/v1/user", json={"username": "ada_l"}, headers=ada["headers"]).status_code == 200
    assert users.put("/api/v1/user", json={"username": "ada_l"}, headers=ada["headers"]).status_code == 200
    r = users.put("/api/v1/user", json={"username": "ada_l"}, headers=bob["headers"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "username_taken"


def test_put_user_validates_types(auth, users):
    """A wrongly typed value or a malformed username is a 422 naming the field."""
    ada = sign_up(auth, "ada@example.com")
    r = users.put("/api/v1/user", json={"tutorial_completed": "yes", "username": "a b"}, headers=ada["headers"])
    assert r.status_code == 422
    assert {d["field"] for d in r.get_json()["error"]["details"]} == {"tutorial_completed", "username"}


def test_registration_creates_a_default_profile(auth, users):
    """A new account owns one profile named Default."""
    ada = sign_up(auth, "ada@example.com")
    r = users.get("/api/v1/profile", headers=ada["headers"])
    assert r.status_code == 200
    assert [p["name"] for p in r.get_json()["profiles"]] == ["Default"]


def test_profile_crud(auth, users):
    """A profile can be created (201 + Location), read, updated, listed and deleted (204)."""
    ada = sign_up(auth, "ada@example.com")
    body = {"name": "Work", "description": "d", "icon": "i", "thumbnail": "t", "interests": ["ai"], "tags": ["x"],
            "theme": {"mode": "dark"}, "settings": {"lang": "en"}}  # fmt: skip
    r = users.post("/api/v1/profile", json=body, headers=ada["headers"])
    assert r.status_code == 201
    created = r.get_json()
    assert r.headers["Location"] == f"/api/v1/profile/{created['id']}"
    assert {k: created[k] for k in body} == body
    got = users.get(r.headers["Location"], headers=ada["headers"])
    assert got.status_code == 200 and got.get_json() == created
    r = users.put(f"/api/v1/profile/{created['id']}", json={"name": "Office", "tags": []}, headers=ada["headers"])
    assert r.status_code == 200 and r.get_json()["name"] == "Office" and r.get_json()["tags"] == []
    assert r.get_json()["interests"] == ["ai"]
    names = [p["name"] for p in users.get("/api/v1/profile", headers=ada["headers"]).get_json()["profiles"]]
    assert names == ["Default", "Office"]
    assert users.delete(f"/api/v1/profile/{created['id']}", headers=ada["headers"]).status_code == 204
    assert users.get(f"/api/v1/profile/{created['id']}", headers=ada["headers"]).status_code == 404


def test_someone_elses_profile_is_404(auth, users):
    """Another user's profile cannot be read, changed or deleted: it looks missing (404)."""
    ada, bob = sign_up(auth, "ada@example.com"), sign_up(auth, "bob@example.com")
    ada_profile = users.get("/api/v1/profile", headers=ada["headers"]).get_json()["profiles"][0]["id"]
    path = f"/api/v1/profile/{ada_profile}"
    assert users.get(path, headers=bob["headers"]).status_code == 404
    assert users.put(path, json={"name": "mine"}, headers=bob["headers"]).status_code == 404
    assert users.delete(path, headers=bob["headers"]).status_code == 404
    assert users.get(path, headers=ada["headers"]).get_json()["name"] == "Default"
    assert [p["name"] for p in users.get("/api/v1/profile", headers=bob["headers"]).get_json()["profiles"]] == ["Default"]


def test_profile_validation(auth, users):
    """A profile needs a name; unknown fields and wrong types are 422s naming each field."""
    ada = sign_up(auth, "ada@example.com")
    r = users.post("/api/v1/profile", json={"tags": "x", "owner": "me"}, headers=ada["headers"])
    assert r.status_code == 422
    assert {d["field"] for d in r.get_json()["error"]["details"]} == {"name", "tags", "owner"}


def test_users_function_serves_only_its_group(users):
    """The users function does not serve the apps paths (each function is its own Knative service)."""
    assert users.get("/api/v1/apps").status_code == 404
