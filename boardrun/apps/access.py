"""Who may do what on an app: the one authorization check every app-scoped endpoint
(apps, team, boards, jobs) goes through.

- app missing                                   -> NotFound
- Private app and the caller is not a member    -> NotFound (private apps are never revealed)
- Public app: anyone, anonymous included, may read it (ReadBoards)
- member whose role lacks the permission        -> Forbidden
- non-member of a Public app needing more       -> Forbidden; anonymous -> Unauthorized
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from boardrun.accounts.tokens import Principal
from boardrun.apps.models import App, Membership, Role
from boardrun.apps.permissions import Permission, effective, has
from boardrun.errors import Forbidden, NotFound, Unauthorized

PUBLIC = "Public"
PRIVATE = "Private"
# What anybody may do on a Public app without being a member of it.
PUBLIC_READ = Permission.ReadBoards


@dataclass
class AppAccess:
    app: App
    role: Role | None  # the caller's role on the app; None: not a member (reading a Public app)
    permissions: Permission  # effective permissions (Owner/Admin expanded)

    @property
    def role_name(self) -> str | None:
        return self.role.name if self.role is not None else None


def _not_found(app_id: str) -> NotFound:
    return NotFound(f"no app {app_id}", code="app_not_found")


def member_role(session: Session, app_id: str, user_id: str) -> Role | None:
    return session.scalar(
        select(Role)
        .join(Membership, Membership.role_id == Role.id)
        .where(Membership.app_id == app_id, Membership.user_id == user_id)
    )


# Built once: every app-scoped request asks, and building a statement costs about as much
# CPU as running it.
_APP_AND_ROLE = (
    select(App, Role)
    .outerjoin(Membership, (Membership.app_id == App.id) & (Membership.user_id == bindparam("user_id")))
    .outerjoin(Role, Role.id == Membership.role_id)
    .where(App.id == bindparam("app_id"))
)


def _app_and_role(session: Session, app_id: str, principal: Principal | None) -> tuple[App | None, Role | None]:
    """The app and the caller's role on it, in one query."""
    if principal is None:
        return session.get(App, app_id), None
    row = session.execute(_APP_AND_ROLE, {"app_id": app_id, "user_id": principal.user_id}).first()
    return (row[0], row[1]) if row is not None else (None, None)


def require_app_permission(
    session: Session, app_id: str, principal: Principal | None, needed: Permission
) -> AppAccess:
    """The caller's access to the app, if it includes every bit of `needed`; raises
    NotFound / Unauthorized / Forbidden otherwise (see the module docstring)."""
    app, role = _app_and_role(session, app_id, principal)
    if app is None:
        raise _not_found(app_id)
    if role is not None:
        granted = effective(role.permissions)
        if not has(granted, needed):
            missing = ", ".join(p.name for p in Permission if p.value and (needed & p) and not (granted & p))
            raise Forbidden(
                f"your role '{role.name}' on this app lacks the permission {missing}", code="permission_denied"
            )
        return AppAccess(app=app, role=role, permissions=granted)
    if app.visibility != PUBLIC:
        raise _not_found(app_id)
    if has(PUBLIC_READ, needed):
        return AppAccess(app=app, role=None, permissions=PUBLIC_READ)
    if principal is None:
        raise Unauthorized("sign in to do this on the app", error="invalid_request")
    raise Forbidden("only members of this app may do this", code="permission_denied")
