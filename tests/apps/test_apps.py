"""The apps function: create, list (keyset pages), read, update, delete, and the team."""

from __future__ import annotations

from sqlalchemy import func, select

from boardrun.apps.models import App, Board, BoardVersion, Membership, Role
from boardrun.apps.permissions import Permission
from boardrun.db import session_scope
from boardrun.storage import get_storage
from boardrun.testing.boards import hello_board
from tests.apps.conftest import add_member, create_app, quick_user, sign_up


def test_create_app_makes_roles_and_owner_membership(auth, apps):
    """POST /api/v1/apps answers 201 with Location and creates Owner/Admin/Member roles and the creator's Owner membership."""
    ada = sign_up(auth, "ada@example.com")
    r = apps.post("/api/v1/apps", json={"name": "Mail bot", "tags": ["mail"], "primary_category": "Productivity"}, headers=ada["headers"])
    assert r.status_code == 201
    body = r.get_json()
    assert r.headers["Location"] == f"/api/v1/apps/{body['id']}"
    assert body["name"] == "Mail bot" and body["visibility"] == "Private" and body["status"] == "Active"
    assert body["role"] == "Owner" and "Owner" in body["permissions"] and body["boards"] == []
    with session_scope() as s:
        roles = {r.name: r.permissions for r in s.scalars(select(Role).where(Role.app_id == body["id"]))}
        owner_role = s.scalar(select(Role.name).join(Membership, Membership.role_id == Role.id).where(Membership.user_id == ada["user_id"]))
    member_bits = (Permission.ReadBoards | Permission.ExecuteBoards | Permission.ListEvents | Permission.ReadEvents
                   | Permission.ExecuteEvents | Permission.ReadLogs | Permission.ReadTemplates | Permission.ReadTeam)  # fmt: skip
    assert roles == {"Owner": 1, "Admin": 2, "Member": int(member_bits)}
    assert owner_role == "Owner"


def test_create_app_validates(auth, apps):
    """A missing name, an unknown visibility or category and unknown fields are each named in a 422."""
    ada = sign_up(auth, "ada@example.com")
    r = apps.post("/api/v1/apps", json={"visibility": "Secret", "primary_category": "Nope", "owner": "x"}, headers=ada["headers"])
    assert r.status_code == 422
    assert {d["field"] for d in r.get_json()["error"]["details"]} == {"name", "visibility", "primary_category", "owner"}


def test_list_apps_newest_first_with_keyset_cursor(env, apps):
    """GET /api/v1/apps pages through the caller's apps newest first; other people's apps never appear."""
    ada, bob = quick_user("ada@example.com"), quick_user("bob@example.com")
    ids = [create_app(apps, ada, name=f"app {i}") for i in range(5)]
    create_app(apps, bob, name="bob's")
    seen, cursor = [], None
    while True:
        r = apps.get("/api/v1/apps", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=ada["headers"])
        assert r.status_code == 200
        page = r.get_json()
        assert len(page["apps"]) <= 2
        seen += [a["id"] for a in page["apps"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    default = apps.get("/api/v1/apps", headers=ada["headers"]).get_json()
    assert len(default["apps"]) == 5 and default["next_cursor"] is None


def test_list_apps_rejects_tampered_cursor_and_bad_limit(env, apps):
    """A cursor that was altered is a 422, as are limits outside 1..100."""
    ada = quick_user("ada@example.com")
    for _ in range(3):
        create_app(apps, ada)
    cursor = apps.get("/api/v1/apps?limit=1", headers=ada["headers"]).get_json()["next_cursor"]
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for bad in (flipped, "garbage", cursor + "x"):
        r = apps.get("/api/v1/apps", query_string={"cursor": bad}, headers=ada["headers"])
        assert r.status_code == 422 and r.get_json()["error"]["details"][0]["field"] == "cursor"
    for limit in ("0", "101", "x"):
        assert apps.get(f"/api/v1/apps?limit={limit}", headers=ada["headers"]).status_code == 422
    assert apps.get("/api/v1/apps?limit=100", headers=ada["headers"]).status_code == 200


def test_get_app_shape(env, apps, api):
    """GET /api/v1/apps/<id> returns the app with its boards, the caller's role and permission names."""
    ada, bob = quick_user("ada@example.com"), quick_user("bob@example.com")
    app_id = create_app(apps, ada)
    add_member(api, ada, app_id, bob, "Member")
    apps.put(f"/api/v1/apps/{app_id}/board/hello", json=hello_board(), headers=ada["headers"])
    body = apps.get(f"/api/v1/apps/{app_id}", headers=bob["headers"]).get_json()
    assert set(body) == {
        "id", "name", "description", "tags", "status", "visibility", "primary_category", "secondary_category",
        "changelog", "version", "execution_mode", "created_at", "updated_at", "boards", "role", "permissions",
    }  # fmt: skip
    assert body["boards"] == ["hello"] and body["role"] == "Member"
    assert set(body["permissions"]) == {"ReadTeam", "ReadBoards", "ExecuteBoards", "ListEvents", "ReadEvents",
                                        "ExecuteEvents", "ReadLogs", "ReadTemplates"}  # fmt: skip


def test_update_app(env, apps):
    """PUT /api/v1/apps/<id> changes the editable fields; unknown fields are a 422 naming them."""
    ada = quick_user("ada@example.com")
    app_id = create_app(apps, ada)
    r = apps.put(f"/api/v1/apps/{app_id}", json={"name": "Renamed", "changelog": "v2", "execution_mode": "Remote",
                                                 "tags": ["a"], "status": "Archived"}, headers=ada["headers"])  # fmt: skip
    assert r.status_code == 200
    body = r.get_json()
    assert (body["name"], body["changelog"], body["execution_mode"], body["tags"], body["status"]) == ("Renamed", "v2", "Remote", ["a"], "Archived")
    r = apps.put(f"/api/v1/apps/{app_id}", json={"id": "x", "rating_sum": 5}, headers=ada["headers"])
    assert r.status_code == 422 and {d["field"] for d in r.get_json()["error"]["details"]} == {"id", "rating_sum"}


def test_admin_cannot_change_visibility_but_can_keep_it(env, apps, api):
    """An Admin may edit metadata and send the unchanged visibility, but changing it needs the Owner."""
    ada, bob = quick_user("ada@example.com"), quick_user("bob@example.com")
    app_id = create_app(apps, ada)
    add_member(api, ada, app_id, bob, "Admin")
    assert apps.put(f"/api/v1/apps/{app_id}", json={"visibility": "Private", "name": "n"}, headers=bob["headers"]).status_code == 200
    r = apps.put(f"/api/v1/apps/{app_id}", json={"visibility": "Public"}, headers=bob["headers"])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "owner_only"
    assert apps.put(f"/api/v1/apps/{app_id}", json={"visibility": "Public"}, headers=ada["headers"]).status_code == 200


def test_delete_app_removes_rows_and_storage(env, apps):
    """DELETE /api/v1/apps/<id> (Owner) removes the app's rows and every storage object under apps/<id>, and nothing else."""
    ada = quick_user("ada@example.com")
    app_id, keep = create_app(apps, ada), create_app(apps, ada)
    for target in (app_id, keep):
        apps.put(f"/api/v1/apps/{target}/board/hello", json=hello_board(), headers=ada["headers"])
        apps.patch(f"/api/v1/apps/{target}/board/hello?version_type=Major", headers=ada["headers"])
    get_storage().put(f"apps/{app_id}/files/extra.bin", b"x")
    assert apps.delete(f"/api/v1/apps/{app_id}", headers=ada["headers"]).status_code == 204
    assert apps.get(f"/api/v1/apps/{app_id}", headers=ada["headers"]).status_code == 404
    assert get_storage().list(f"apps/{app_id}") == []
    assert len(get_storage().list(f"apps/{keep}")) == 2
    with session_scope() as s:
        for model in (Role, Membership, Board, BoardVersion):
            assert s.scalar(select(func.count()).select_from(model).where(model.app_id == app_id)) == 0
        assert s.get(App, keep) is not None


def test_team_list_and_remove(env, apps, api):
    """Members (joined by invitation) are listed with their role and removed (204)."""
    ada, bob = quick_user("ada@example.com"), quick_user("bob@example.com")
    app_id = create_app(apps, ada)
    add_member(api, ada, app_id, bob, "Member")
    team = apps.get(f"/api/v1/apps/{app_id}/team", headers=bob["headers"]).get_json()["members"]
    assert [(m["email"], m["role"]) for m in team] == [("ada@example.com", "Owner"), ("bob@example.com", "Member")]
    assert apps.delete(f"/api/v1/apps/{app_id}/team/{bob['user_id']}", headers=ada["headers"]).status_code == 204
    assert apps.get(f"/api/v1/apps/{app_id}", headers=bob["headers"]).status_code == 404


def test_team_errors(env, apps, api):
    """Inviting a member is a 409, a bad role or address a 422, removing a non-member a 404."""
    ada, bob = quick_user("ada@example.com"), quick_user("bob@example.com")
    app_id = create_app(apps, ada)
    add_member(api, ada, app_id, bob, "Member")
    invite = f"/api/v1/apps/{app_id}/team/invite"
    r = apps.put(invite, json={"email": "BOB@example.com", "role": "Admin"}, headers=ada["headers"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_member"
    assert apps.put(invite, json={"email": "eve@example.com", "role": "Owner"}, headers=ada["headers"]).status_code == 422
    assert apps.put(invite, json={"email": "not-an-address", "role": "Member"}, headers=ada["headers"]).status_code == 422
    assert apps.delete(f"/api/v1/apps/{app_id}/team/usr-nobody", headers=ada["headers"]).status_code == 404


def test_admin_team_limits(env, apps, api):
    """An Admin invites Members but not Admins, cannot remove another Admin, and nobody removes the Owner."""
    ada, adm, adm2, joe = (quick_user(f"{n}@example.com") for n in ("ada", "adm", "adm2", "joe"))
    app_id = create_app(apps, ada)
    add_member(api, ada, app_id, adm, "Admin")
    add_member(api, ada, app_id, adm2, "Admin")
    invite = f"/api/v1/apps/{app_id}/team/invite"
    r = apps.put(invite, json={"email": joe["email"], "role": "Admin"}, headers=adm["headers"])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "owner_only"
    add_member(api, adm, app_id, joe, "Member")
    assert apps.delete(f"/api/v1/apps/{app_id}/team/{adm2['user_id']}", headers=adm["headers"]).status_code == 403
    assert apps.delete(f"/api/v1/apps/{app_id}/team/{ada['user_id']}", headers=adm["headers"]).status_code == 403
    assert apps.delete(f"/api/v1/apps/{app_id}/team/{ada['user_id']}", headers=ada["headers"]).status_code == 403
    assert apps.delete(f"/api/v1/apps/{app_id}/team/{adm2['user_id']}", headers=ada["headers"]).status_code == 204
    assert apps.delete(f"/api/v1/apps/{app_id}/team/{joe['user_id']}", headers=adm["headers"]).status_code == 204


def test_apps_need_a_token(apps):
    """Listing and creating apps without a token is a 401."""
    assert apps.get("/api/v1/apps").status_code == 401
    assert apps.post("/api/v1/apps", json={"name": "x"}).status_code == 401
