"""Every users and apps endpoint × anonymous / other user / member / admin / owner,
with the exact status each must get, which the OpenAPI document must list. Each case runs on a fresh world (see conftest:
a Private app with an Owner, an Admin and a Member, and a board frozen at 0.0.1)."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

import pytest
from werkzeug.routing import Map, Rule

from boardrun.openapi import document, openapi_path
from boardrun.routes import ROUTES
from boardrun.testing.boards import hello_board

WHO = ("anonymous", "other", "member", "admin", "owner")

A = "/api/v1/apps/{app}"
B = "/api/v1/apps/{app}/board/hello"
NEW_BOARD = hello_board("fresh")
BOARD = hello_board("hello", message="edited")

# (case id, method, path, json body, expected status for anonymous, other, member, admin, owner)
# {app}: the Private app; {public}: the same app after its Owner made it Public;
# {missing}: an app id that does not exist; {profile}: the Owner's default profile;
# {u:name}: the user id of one of the people.
MATRIX = [
    # --- users function: own records only ---
    ("user.get", "GET", "/api/v1/user", None, (401, 200, 200, 200, 200)),
    ("user.put", "PUT", "/api/v1/user", {"name": "N"}, (401, 200, 200, 200, 200)),
    ("user.invites", "GET", "/api/v1/user/invites", None, (401, 200, 200, 200, 200)),
    ("user.invite accept unknown", "POST", "/api/v1/user/invites/inv-nope", None, (401, 404, 404, 404, 404)),
    ("user.invite decline unknown", "DELETE", "/api/v1/user/invites/inv-nope", None, (401, 404, 404, 404, 404)),
    ("profile.list", "GET", "/api/v1/profile", None, (401, 200, 200, 200, 200)),
    ("profile.create", "POST", "/api/v1/profile", {"name": "Work"}, (401, 201, 201, 201, 201)),
    ("profile.get owner's", "GET", "/api/v1/profile/{profile}", None, (401, 404, 404, 404, 200)),
    ("profile.put owner's", "PUT", "/api/v1/profile/{profile}", {"name": "X"}, (401, 404, 404, 404, 200)),
    ("profile.delete owner's", "DELETE", "/api/v1/profile/{profile}", None, (401, 404, 404, 404, 204)),
    # --- apps ---
    ("apps.list", "GET", "/api/v1/apps", None, (401, 200, 200, 200, 200)),
    ("apps.create", "POST", "/api/v1/apps", {"name": "Another"}, (401, 201, 201, 201, 201)),
    ("app.get", "GET", A, None, (404, 404, 200, 200, 200)),
    ("app.get missing", "GET", "/api/v1/apps/{missing}", None, (404, 404, 404, 404, 404)),
    ("app.put meta", "PUT", A, {"description": "new"}, (401, 404, 403, 200, 200)),
    ("app.put visibility", "PUT", A, {"visibility": "Public"}, (401, 404, 403, 403, 200)),
    ("app.delete", "DELETE", A, None, (401, 404, 403, 403, 204)),
    # --- team ---
    ("team.list", "GET", A + "/team", None, (401, 404, 200, 200, 200)),
    ("team.invite Member", "PUT", A + "/team/invite", {"email": "extra@example.com", "role": "Member"}, (401, 404, 403, 202, 202)),
    ("team.invite Admin", "PUT", A + "/team/invite", {"email": "extra@example.com", "role": "Admin"}, (401, 404, 403, 403, 202)),
    ("team.invites list", "GET", A + "/team/invites", None, (401, 404, 403, 200, 200)),
    ("team.invite revoke unknown", "DELETE", A + "/team/invites/inv-nope", None, (401, 404, 403, 404, 404)),
    ("team.invite no account", "PUT", A + "/team/invite", {"email": "ghost@example.com", "role": "Member"}, (401, 404, 403, 202, 202)),
    ("team.remove member", "DELETE", A + "/team/{u:member}", None, (401, 404, 403, 204, 204)),
    ("team.remove admin", "DELETE", A + "/team/{u:admin}", None, (401, 404, 403, 403, 204)),
    ("team.remove owner", "DELETE", A + "/team/{u:owner}", None, (401, 404, 403, 403, 403)),
    # --- boards ---
    ("boards.list", "GET", A + "/board", None, (404, 404, 200, 200, 200)),
    ("board.get draft", "GET", B, None, (404, 404, 200, 200, 200)),
    ("board.get version", "GET", B + "?version=0.0.1", None, (404, 404, 200, 200, 200)),
    ("board.versions", "GET", B + "/version", None, (404, 404, 200, 200, 200)),
    ("board.put new", "PUT", A + "/board/fresh", NEW_BOARD, (401, 404, 403, 201, 201)),
    ("board.put existing", "PUT", B, BOARD, (401, 404, 403, 200, 200)),
    ("board.freeze", "PATCH", B + "?version_type=Minor", None, (401, 404, 403, 201, 201)),
    ("board.delete", "DELETE", B, None, (401, 404, 403, 204, 204)),
    # --- a Public app: readable by anyone, writable by its members only ---
    ("public app.get", "GET", "/api/v1/apps/{public}", None, (200, 200, 200, 200, 200)),
    ("public boards.list", "GET", "/api/v1/apps/{public}/board", None, (200, 200, 200, 200, 200)),
    ("public board.get", "GET", "/api/v1/apps/{public}/board/hello", None, (200, 200, 200, 200, 200)),
    ("public board.versions", "GET", "/api/v1/apps/{public}/board/hello/version", None, (200, 200, 200, 200, 200)),
    ("public app.put", "PUT", "/api/v1/apps/{public}", {"description": "x"}, (401, 403, 403, 200, 200)),
    ("public app.delete", "DELETE", "/api/v1/apps/{public}", None, (401, 403, 403, 403, 204)),
    ("public team.list", "GET", "/api/v1/apps/{public}/team", None, (401, 403, 200, 200, 200)),
    ("public board.put", "PUT", "/api/v1/apps/{public}/board/hello", BOARD, (401, 403, 403, 200, 200)),
    ("public board.freeze", "PATCH", "/api/v1/apps/{public}/board/hello?version_type=Patch", None, (401, 403, 403, 201, 201)),
    ("public board.delete", "DELETE", "/api/v1/apps/{public}/board/hello", None, (401, 403, 403, 204, 204)),
]

CASES = [
    pytest.param(method, path, body, who, expected, id=f"{name}-{who}")
    for name, method, path, body, statuses in MATRIX
    for who, expected in zip(WHO, statuses)
]


def _fill(path: str, world: dict) -> str:
    people = world["people"]
    path = path.replace("{app}", world["app_id"]).replace("{public}", world["app_id"])
    path = path.replace("{missing}", "app-doesnotexist").replace("{profile}", world["profile_id"])
    for name, person in people.items():
        path = path.replace("{u:%s}" % name, person["user_id"])
    return path


@functools.cache
def _documented_statuses() -> tuple[Map, dict]:
    table = Map([Rule(r.path, endpoint=i, methods=[r.method]) for i, r in enumerate(ROUTES)])
    return table, document()["paths"]


def documented(method: str, url: str) -> set[int]:
    """The statuses the OpenAPI document lists for the operation that serves `url`."""
    table, paths = _documented_statuses()
    endpoint, _ = table.bind("localhost").match(urlsplit(url).path, method=method)
    route = ROUTES[endpoint]
    return {int(s) for s in paths[openapi_path(route.path)][method.lower()]["responses"]}


@pytest.mark.parametrize("method,path,body,who,expected", CASES)
def test_authorization_matrix(api, world, method, path, body, who, expected):
    """The caller gets exactly the status the matrix names for this endpoint and role, and the document lists it."""
    if "{public}" in path:
        owner = world["people"]["owner"]
        r = api.put(f"/api/v1/apps/{world['app_id']}", json={"visibility": "Public"}, headers=owner["headers"])
        assert r.status_code == 200
    headers = {} if who == "anonymous" else world["people"][who]["headers"]
    r = api.open(_fill(path, world), method=method, json=body, headers=headers)
    assert r.status_code == expected, r.get_data(as_text=True)
    assert expected in documented(method, path), f"{method} {path} answers {expected}, which the OpenAPI document does not list"
    if expected == 401:
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
