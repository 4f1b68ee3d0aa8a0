"""Invitations to an app's team, as Flow-Like has them: an Owner or Admin invites an
e-mail address; the owner of that address (once they confirmed it) lists the invitation,
then accepts it (becoming a member) or declines it.

Invitations are addressed to an e-mail address, not to an account, so the inviter's
answer is the same whether or not the address has an account: nothing is revealed, and
nobody becomes a member without consenting.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boardrun import mail
from boardrun.accounts.models import User
from boardrun.accounts.services import normalise_email
from boardrun.apps.access import AppAccess
from boardrun.apps.models import App, Invitation, Membership, Role
from boardrun.apps.permissions import ADMIN_ROLE, Permission, has
from boardrun.config import get_settings
from boardrun.db import utcnow
from boardrun.errors import Conflict, Forbidden, NotFound
from boardrun.ids import new_id
from boardrun.web import iso_time


def _role(session: Session, app_id: str, name: str) -> Role:
    role = session.scalar(select(Role).where(Role.app_id == app_id, Role.name == name))
    if role is None:  # every app is created with its three roles
        raise NotFound(f"the app has no role {name}", code="role_not_found")
    return role


def invite(session: Session, access: AppAccess, inviter_id: str, email: str, role_name: str, message: str | None) -> tuple[dict[str, Any], mail.Mail]:
    """Create (or renew) the invitation of `email`; returns its JSON for the inviter and
    the mail to send once the transaction is committed."""
    _require_admin(access)
    if role_name == ADMIN_ROLE and not has(access.permissions, Permission.Owner):
        raise Forbidden("only the app's Owner can grant the Admin role", code="owner_only")
    app, email, now = access.app, normalise_email(email), utcnow()
    # The inviter sees the team's addresses anyway (GET …/team), so this reveals nothing new.
    member = session.scalar(
        select(Membership.id).join(User, User.id == Membership.user_id).where(Membership.app_id == app.id, User.email == email)
    )
    if member is not None:
        raise Conflict("that address belongs to a member of this app already", code="already_member")
    role = _role(session, app.id, role_name)
    expires = now + timedelta(seconds=get_settings().auth.invitation_ttl)
    row = session.scalar(select(Invitation).where(Invitation.app_id == app.id, Invitation.email == email))
    if row is None:
        row = Invitation(id=new_id("inv"), app_id=app.id, email=email)
        session.add(row)
    row.role_id, row.invited_by, row.message, row.created_at, row.expires_at = role.id, inviter_id, message, now, expires
    try:
        session.flush()
    except IntegrityError:  # the same address invited concurrently
        raise Conflict("that address is being invited concurrently; try again", code="conflict") from None
    inviter = session.get(User, inviter_id)
    by = (inviter.name or inviter.email) if inviter is not None else "A member"
    return _sent_json(row, role.name), _invitation_mail(email, app.name, by, role.name, message)


def _require_admin(access: AppAccess) -> None:
    if not has(access.permissions, Permission.Admin):
        raise Forbidden("only the app's Owner and Admins manage invitations", code="permission_denied")


def pending(session: Session, access: AppAccess) -> list[dict[str, Any]]:
    """The app's open invitations, newest first (for its Owner and Admins)."""
    _require_admin(access)
    now = utcnow()
    session.execute(delete(Invitation).where(Invitation.app_id == access.app.id, Invitation.expires_at <= now))
    rows = session.execute(
        select(Invitation, Role)
        .join(Role, Role.id == Invitation.role_id)
        .where(Invitation.app_id == access.app.id)
        .order_by(Invitation.created_at.desc(), Invitation.id)
    ).all()
    return [_sent_json(invitation, role.name) for invitation, role in rows]


def revoke(session: Session, access: AppAccess, invite_id: str) -> None:
    _require_admin(access)
    row = session.get(Invitation, invite_id)
    if row is None or row.app_id != access.app.id:
        raise NotFound(f"no invitation {invite_id} in this app", code="invitation_not_found")
    session.delete(row)


def _sent_json(row: Invitation, role_name: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "app_id": row.app_id,
        "email": row.email,
        "role": role_name,
        "message": row.message,
        "created_at": iso_time(row.created_at),
        "expires_at": iso_time(row.expires_at),
    }


def _invitation_mail(email: str, app_name: str, by: str, role: str, message: str | None) -> mail.Mail:
    url = get_settings().server.public_url
    note = f"\nTheir message:\n\n  {message}\n" if message else ""
    return mail.Mail(
        to=email,
        subject=f"Invitation to the app {app_name!r}",
        body=(
            f"{by} invited this address to join the app {app_name!r} on Boardrun ({url}) as {role}.\n{note}\n"
            f"To answer, sign in (or register) with this address and confirm it; the invitation is then listed "
            f"at {url}/api/v1/user/invites, where you accept or decline it. If you do not know this app, "
            "ignore this message: nothing changes unless you accept.\n"
        ),
    )


def _verified_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("this account no longer exists", code="user_not_found")
    if not user.email_verified:
        # Invitations go to an address; until its owner confirmed it, this account may
        # belong to someone who merely registered it.
        raise Forbidden(
            "confirm your e-mail address first (POST /api/v1/auth/verify-email); invitations are sent to the address",
            code="email_not_verified",
        )
    return user


def list_invites(session: Session, user_id: str) -> list[dict[str, Any]]:
    user = _verified_user(session, user_id)
    session.execute(delete(Invitation).where(Invitation.email == user.email, Invitation.expires_at <= utcnow()))
    rows = session.execute(
        select(Invitation, App, Role, User)
        .join(App, App.id == Invitation.app_id)
        .join(Role, Role.id == Invitation.role_id)
        .outerjoin(User, User.id == Invitation.invited_by)
        .where(Invitation.email == user.email)
        .order_by(Invitation.created_at.desc(), Invitation.id)
    ).all()
    return [
        {
            "id": invitation.id,
            "app_id": app.id,
            "app_name": app.name,
            "role": role.name,
            "message": invitation.message,
            "invited_by": {"user_id": inviter.id, "name": inviter.name} if inviter is not None else None,
            "created_at": iso_time(invitation.created_at),
            "expires_at": iso_time(invitation.expires_at),
        }
        for invitation, app, role, inviter in rows
    ]


def _own_invitation(session: Session, user: User, invite_id: str) -> Invitation:
    row = session.get(Invitation, invite_id)
    if row is None or row.email != user.email:  # someone else's is indistinguishable from none
        raise NotFound(f"no invitation {invite_id}", code="invitation_not_found")
    return row


def accept(session: Session, user_id: str, invite_id: str) -> dict[str, Any]:
    """Join the app with the invitation's role; the invitation is spent."""
    user = _verified_user(session, user_id)
    row = _own_invitation(session, user, invite_id)
    if row.expires_at <= utcnow():
        session.delete(row)
        session.commit()  # the expired invitation goes although this request fails
        raise NotFound(f"the invitation {invite_id} has expired; ask for a new one", code="invitation_expired")
    role = session.get(Role, row.role_id)
    assert role is not None  # the invitation cascades with its role
    app_id = row.app_id
    session.delete(row)
    if session.scalar(select(Membership.id).where(Membership.app_id == app_id, Membership.user_id == user.id)):
        session.commit()  # a spent invitation: the caller is a member already
        raise Conflict("you are a member of this app already", code="already_member")
    membership = Membership(id=new_id("mbr"), app_id=app_id, user_id=user.id, role_id=role.id, joined_at=utcnow())
    session.add(membership)
    try:
        session.flush()
    except IntegrityError:  # accepted twice at once
        raise Conflict("you are a member of this app already", code="already_member") from None
    return {"app_id": app_id, "user_id": user.id, "role": role.name, "joined_at": iso_time(membership.joined_at)}


def decline(session: Session, user_id: str, invite_id: str) -> None:
    user = _verified_user(session, user_id)
    session.delete(_own_invitation(session, user, invite_id))


__all__ = ["accept", "decline", "invite", "list_invites", "pending", "revoke"]
