"""Fixtures for the apps tests: clients of the apps/users/auth functions, signed-in
users, and a small valid Flow-Like board (boardrun.testing.boards.hello_board)."""

from __future__ import annotations

import pytest

from boardrun.testing.boards import hello_board
from tests.conftest import function_client


@pytest.fixture
def board():
    return hello_board()


@pytest.fixture
def auth(env):
    return function_client("auth")


@pytest.fixture
def apps(env):
    return function_client("apps")


@pytest.fixture
def users(env):
    return function_client("users")


def sign_up(auth, email: str, password: str = "correct horse 1") -> dict:
    """Register and sign in through the auth function; {'headers', 'email', 'user_id'}."""
    import jwt

    r = auth.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert r.status_code == 201, r.get_data(as_text=True)
    r = auth.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.get_data(as_text=True)
    token = r.get_json()["access_token"]
    user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    return {"headers": {"Authorization": f"Bearer {token}"}, "email": email, "user_id": user_id}


def create_app(apps, who: dict, **fields) -> str:
    r = apps.post("/api/v1/apps", json={"name": "My app", **fields}, headers=who["headers"])
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()["id"]


def confirm_address(user_id: str) -> None:
    """Mark an account's address verified, as the verification link would (tests where
    verification itself is not the subject)."""
    from sqlalchemy import update

    from boardrun.accounts.models import User
    from boardrun.db import session_scope

    with session_scope() as session:
        session.execute(update(User).where(User.id == user_id).values(email_verified=True))


def add_member(client, owner: dict, app_id: str, who: dict, role: str) -> None:
    """Invite `who` and let them accept: the one way in to a team. Works with a client of
    the full router (the apps and users endpoints together)."""
    r = client.put(f"/api/v1/apps/{app_id}/team/invite", json={"email": who["email"], "role": role}, headers=owner["headers"])
    assert r.status_code == 202, r.get_data(as_text=True)
    confirm_address(who["user_id"])
    r = client.post(f"/api/v1/user/invites/{r.get_json()['id']}", headers=who["headers"])
    assert r.status_code == 200, r.get_data(as_text=True)


def quick_user(email: str) -> dict:
    """A real account created without a password (as an OAuth-only account is) and a
    real access token for it: the matrix needs many users, and argon2 is slow on purpose."""
    from boardrun.accounts.models import User
    from boardrun.accounts.tokens import issue_access_token
    from boardrun.db import session_scope
    from boardrun.ids import new_id
    from boardrun.users.services import create_default_profile

    with session_scope() as session:
        user = User(id=new_id("usr"), email=email, email_verified=True, password_hash=None)
        session.add(user)
        session.flush()
        create_default_profile(session, user)
        user_id = user.id
    token, _ = issue_access_token(user_id)
    return {"headers": {"Authorization": f"Bearer {token}"}, "email": email, "user_id": user_id}


@pytest.fixture
def world(env, api):
    """Owner, admin, member, an outsider and a spare account; a Private app with board
    'hello' frozen at 0.0.1; the owner's default profile id."""
    people = {name: quick_user(f"{name}@example.com") for name in ("owner", "admin", "member", "other", "extra")}
    owner = people["owner"]
    app_id = create_app(api, owner, name="Private app")
    add_member(api, owner, app_id, people["admin"], "Admin")
    add_member(api, owner, app_id, people["member"], "Member")
    r = api.put(f"/api/v1/apps/{app_id}/board/hello", json=hello_board(), headers=owner["headers"])
    assert r.status_code == 201, r.get_data(as_text=True)
    assert api.patch(f"/api/v1/apps/{app_id}/board/hello?version_type=Patch", headers=owner["headers"]).status_code == 201
    profiles = api.get("/api/v1/profile", headers=owner["headers"]).get_json()["profiles"]
    return {"people": people, "app_id": app_id, "profile_id": profiles[0]["id"]}
