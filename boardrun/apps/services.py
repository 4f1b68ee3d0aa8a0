"""Apps and their team: create, list (keyset pages), read, update, delete, members
(invitations are in boardrun.apps.invitations)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from boardrun import cursors
from boardrun.accounts.models import User
from boardrun.accounts.tokens import Principal
from boardrun.apps.access import AppAccess
from boardrun.apps.models import App, Board, Membership, Role
from boardrun.apps.permissions import (
    ADMIN_ROLE,
    DEFAULT_ROLES,
    MEMBER_ROLE,
    OWNER_ROLE,
    Permission,
    effective,
    has,
    names,
)
from boardrun.db import utcnow
from boardrun.errors import Forbidden, NotFound
from boardrun.ids import new_id
from boardrun.web import iso_time

log = logging.getLogger(__name__)

APP_EDITABLE = (
    "name", "description", "tags", "visibility", "primary_category", "secondary_category",
    "changelog", "version", "execution_mode", "status",
)  # fmt: skip


def public_app_json(app: App) -> dict[str, Any]:
    """What anyone who may see the app sees (the store shows exactly this)."""
    return {
        "id": app.id,
        "name": app.name,
        "description": app.description,
        "tags": list(app.tags or []),
        "primary_category": app.primary_category,
        "secondary_category": app.secondary_category,
        "version": app.version,
        "changelog": app.changelog,
        "execution_mode": app.execution_mode,
        "status": app.status,
        "created_at": iso_time(app.created_at),
        "updated_at": iso_time(app.updated_at),
    }


def app_json(app: App, *, board_ids: list[str], role: str | None, permissions: Permission) -> dict[str, Any]:
    """An app as its members see it: the public fields, visibility, boards and the caller's role."""
    return {
        **public_app_json(app),
        "visibility": app.visibility,
        "boards": board_ids,
        "role": role,
        "permissions": names(permissions),
    }


def board_ids(session: Session, app_id: str) -> list[str]:
    return list(session.scalars(select(Board.id).where(Board.app_id == app_id).order_by(Board.id)))


def access_json(session: Session, access: AppAccess) -> dict[str, Any]:
    return app_json(
        access.app, board_ids=board_ids(session, access.app.id), role=access.role_name, permissions=access.permissions
    )


# --- create / list -------------------------------------------------------------------


def create_app(session: Session, principal: Principal, fields: dict[str, Any]) -> dict[str, Any]:
    """The app, its three roles and the creator's Owner membership, in the caller's transaction."""
    if session.get(User, principal.user_id) is None:
        raise NotFound("this account no longer exists", code="user_not_found")
    now = utcnow()
    app = App(
        id=new_id("app"),
        name=fields["name"],
        description=fields.get("description"),
        tags=list(fields.get("tags") or []),
        status="Active",
        visibility=fields.get("visibility") or "Private",
        primary_category=fields.get("primary_category"),
        secondary_category=fields.get("secondary_category"),
        execution_mode="Any",
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(app)
    session.flush()
    roles = {
        name: Role(id=new_id("rol"), app_id=app.id, name=name, permissions=int(bits), attributes=[])
        for name, bits in DEFAULT_ROLES.items()
    }
    session.add_all(roles.values())
    session.flush()
    session.add(Membership(id=new_id("mbr"), app_id=app.id, user_id=principal.user_id, role_id=roles[OWNER_ROLE].id))
    session.flush()
    return app_json(app, board_ids=[], role=OWNER_ROLE, permissions=effective(roles[OWNER_ROLE].permissions))


def list_apps(session: Session, principal: Principal, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """The caller's apps, newest first, one keyset page."""
    query = (
        select(App, Role)
        .join(Membership, Membership.app_id == App.id)
        .join(Role, Role.id == Membership.role_id)
        .where(Membership.user_id == principal.user_id)
    )
    scope = {"user": principal.user_id}
    if cursor:
        created_at, app_id = cursors.decode(cursor, "apps", scope, (datetime, str))
        query = query.where(or_(App.created_at < created_at, and_(App.created_at == created_at, App.id < app_id)))
    rows = session.execute(query.order_by(App.created_at.desc(), App.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    ids = [app.id for app, _ in page]
    boards: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for app_id, board_id in session.execute(
            select(Board.app_id, Board.id).where(Board.app_id.in_(ids)).order_by(Board.id)
        ):
            boards[app_id].append(board_id)
    apps = [
        app_json(app, board_ids=boards[app.id], role=role.name, permissions=effective(role.permissions))
        for app, role in page
    ]
    next_cursor = cursors.encode("apps", scope, (page[-1][0].created_at, page[-1][0].id)) if len(rows) > limit else None
    return {"apps": apps, "next_cursor": next_cursor}


# --- update / delete -----------------------------------------------------------------


def update_app(session: Session, access: AppAccess, changes: dict[str, Any]) -> dict[str, Any]:
    app = access.app
    if "visibility" in changes and changes["visibility"] != app.visibility:
        if not has(access.permissions, Permission.Owner):
            raise Forbidden("only the app's Owner can change its visibility", code="owner_only")
    for field in APP_EDITABLE:
        if field in changes:
            value = changes[field]
            setattr(app, field, list(value or []) if field == "tags" else value)
    app.updated_at = utcnow()
    session.flush()
    return access_json(session, access)


def delete_app_rows(session: Session, access: AppAccess) -> None:
    """Delete the app and everything hanging off it (memberships, roles, boards, versions).

    Explicit deletes, children first, so it does not depend on the database enforcing
    ON DELETE CASCADE; the caller commits, then removes the storage objects."""
    from boardrun.apps.models import BoardVersion

    app_id = access.app.id
    for model in (BoardVersion, Board, Membership, Role):
        session.query(model).filter(model.app_id == app_id).delete(synchronize_session=False)
    session.delete(access.app)
    session.flush()


def delete_app_storage(app_id: str, attempts: int = 3) -> bool:
    """Remove every object under apps/<app_id>; True when done. Called after the DB
    commit: a failure here leaves only unreachable objects (logged for cleanup)."""
    from boardrun.storage import get_storage

    last: Exception | None = None
    for _ in range(attempts):
        try:
            get_storage().delete_prefix(f"apps/{app_id}")
            return True
        except Exception as exc:  # storage down: retry, then leave orphans for a sweep
            last = exc
    log.error("app %s deleted, but removing its storage under apps/%s failed: %s", app_id, app_id, last)
    return False


# --- team ----------------------------------------------------------------------------


def member_json(user: User, role: Role, membership: Membership) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "username": user.username,
        "role": role.name,
        "joined_at": iso_time(membership.joined_at),
    }


def list_team(session: Session, app_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(User, Role, Membership)
        .join(Membership, Membership.user_id == User.id)
        .join(Role, Role.id == Membership.role_id)
        .where(Membership.app_id == app_id)
        .order_by(Membership.joined_at, User.id)
    ).all()
    return [member_json(u, r, m) for u, r, m in rows]


def remove_member(session: Session, access: AppAccess, user_id: str) -> None:
    if not has(access.permissions, Permission.Admin):
        raise Forbidden("only the app's Owner and Admins can remove members", code="permission_denied")
    app_id = access.app.id
    row = session.execute(
        select(Membership, Role)
        .join(Role, Role.id == Membership.role_id)
        .where(Membership.app_id == app_id, Membership.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound(f"{user_id} is not a member of this app", code="member_not_found")
    membership, role = row
    if role.name == OWNER_ROLE or role.permissions & Permission.Owner:
        raise Forbidden("the app's Owner cannot be removed", code="owner_not_removable")
    if (role.name == ADMIN_ROLE or role.permissions & Permission.Admin) and not has(access.permissions, Permission.Owner):
        raise Forbidden("only the app's Owner can remove an Admin", code="owner_only")
    session.delete(membership)
    session.flush()


__all__ = [
    "APP_EDITABLE", "MEMBER_ROLE",
    "access_json", "app_json", "create_app", "delete_app_rows", "delete_app_storage",
    "list_apps", "list_team", "remove_member", "update_app",
]  # fmt: skip
