"""Permission bits and require_app_permission, called directly as the jobs team will."""

from __future__ import annotations

import pytest

from boardrun.accounts.tokens import Principal
from boardrun.apps.access import AppAccess, require_app_permission
from boardrun.apps.permissions import DEFAULT_ROLES, Permission, effective, has, names
from boardrun.db import session_scope
from boardrun.errors import Forbidden, NotFound, Unauthorized
from tests.apps.conftest import add_member, create_app, quick_user


def test_bits_are_flow_likes():
    """The bit values are Flow-Like's, so roles keep their meaning when exported."""
    assert (Permission.Owner, Permission.Admin, Permission.ReadTeam, Permission.ReadBoards) == (1, 2, 4, 256)
    assert (Permission.ExecuteBoards, Permission.WriteBoards, Permission.ReadLogs) == (512, 1024, 32768)
    assert (Permission.ReadTemplates, Permission.WriteRoutes) == (524288, 33554432)


def test_admin_implies_everything_but_owner_only_actions():
    """Admin grants every permission except the Owner bit; Owner grants all; Member only its own bits."""
    admin, owner, member = (effective(DEFAULT_ROLES[n]) for n in ("Admin", "Owner", "Member"))
    assert has(admin, Permission.WriteBoards | Permission.WriteMeta | Permission.ReadTeam)
    assert not has(admin, Permission.Owner)
    assert has(owner, Permission.Owner | Permission.Admin | Permission.WriteRoutes)
    assert has(member, Permission.ReadBoards | Permission.ExecuteBoards) and not has(member, Permission.WriteBoards)
    assert names(member) == ["ReadTeam", "ReadBoards", "ExecuteBoards", "ListEvents", "ReadEvents", "ExecuteEvents",
                             "ReadLogs", "ReadTemplates"]  # fmt: skip


def _principal(user: dict) -> Principal:
    return Principal(user_id=user["user_id"], token_id="t")


def test_require_app_permission_semantics(env, api):
    """Missing or private → NotFound; lacking → Forbidden; public read for anyone; anonymous writes → Unauthorized."""
    ada, bob, eve = (quick_user(f"{n}@example.com") for n in ("ada", "bob", "eve"))
    app_id = create_app(api, ada)
    add_member(api, ada, app_id, bob, "Member")
    with session_scope() as s:
        access = require_app_permission(s, app_id, _principal(bob), Permission.ReadBoards)
        assert isinstance(access, AppAccess) and access.role_name == "Member" and access.app.id == app_id
        with pytest.raises(Forbidden):
            require_app_permission(s, app_id, _principal(bob), Permission.WriteBoards)
        for who in (_principal(eve), None):
            with pytest.raises(NotFound):
                require_app_permission(s, app_id, who, Permission.ReadBoards)
        with pytest.raises(NotFound):
            require_app_permission(s, "app-missing", _principal(ada), Permission.ReadBoards)
        assert require_app_permission(s, app_id, _principal(ada), Permission.Owner).role_name == "Owner"
    api.put(f"/api/v1/apps/{app_id}", json={"visibility": "Public"}, headers=ada["headers"])
    with session_scope() as s:
        public = require_app_permission(s, app_id, None, Permission.ReadBoards)
        assert public.role_name is None and public.permissions == Permission.ReadBoards
        with pytest.raises(Unauthorized):
            require_app_permission(s, app_id, None, Permission.ExecuteBoards)
        with pytest.raises(Forbidden):
            require_app_permission(s, app_id, _principal(eve), Permission.ExecuteBoards)
