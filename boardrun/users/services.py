"""Users' own records and profiles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boardrun.accounts.models import User
from boardrun.db import utcnow
from boardrun.errors import Conflict, NotFound
from boardrun.ids import new_id
from boardrun.users.models import Profile, ProfileFields
from boardrun.web import iso_time

# Fields of the user record the user may change themselves (PUT /api/v1/user).
USER_EDITABLE = ("name", "username", "description", "avatar", "accepted_terms_version", "tutorial_completed")
PROFILE_FIELDS = ("name", "description", "icon", "thumbnail", "interests", "tags", "theme", "settings")
MAX_PROFILES = 100


def create_default_profile(session: Session, user: User) -> Profile:
    profile = Profile(id=new_id("prf"), user_id=user.id, name="Default", interests=[], tags=[], settings={})
    session.add(profile)
    return profile


# --- the user record ---------------------------------------------------------------


def user_json(user: User) -> dict[str, Any]:
    """The caller's own record. Never includes the password hash or internal bits."""
    return {
        "id": user.id,
        "email": user.email,
        "email_verified": bool(user.email_verified),
        "name": user.name,
        "username": user.username,
        "description": user.description,
        "avatar": user.avatar,
        "accepted_terms_version": user.accepted_terms_version,
        "tutorial_completed": bool(user.tutorial_completed),
        "status": user.status,
        "tier": user.tier,
        "created_at": iso_time(user.created_at),
        "updated_at": iso_time(user.updated_at),
    }


def get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:  # a valid token for an account deleted since it was issued
        raise NotFound("this account no longer exists", code="user_not_found")
    return user


def update_user(session: Session, user_id: str, changes: dict[str, Any]) -> User:
    user = get_user(session, user_id)
    username = changes.get("username")
    if username is not None and username != user.username:
        taken = session.scalar(select(User.id).where(User.username == username, User.id != user.id))
        if taken is not None:
            raise Conflict("that username is taken", code="username_taken")
    for field in USER_EDITABLE:
        if field in changes:
            setattr(user, field, changes[field])
    user.updated_at = utcnow()
    try:
        session.flush()
    except IntegrityError:  # a concurrent change took the username first
        raise Conflict("that username is taken", code="username_taken") from None
    return user


# --- profiles ------------------------------------------------------------------------


def profile_json(profile: ProfileFields) -> dict[str, Any]:
    """A profile, or a profile template (the same shape)."""
    return {
        "id": profile.id,
        "name": profile.name,
        "description": profile.description,
        "icon": profile.icon,
        "thumbnail": profile.thumbnail,
        "interests": list(profile.interests or []),
        "tags": list(profile.tags or []),
        "theme": profile.theme,
        "settings": dict(profile.settings or {}),
        "created_at": iso_time(profile.created_at),
        "updated_at": iso_time(profile.updated_at),
    }


def list_profiles(session: Session, user_id: str) -> list[Profile]:
    return list(
        session.scalars(select(Profile).where(Profile.user_id == user_id).order_by(Profile.created_at, Profile.id))
    )


def get_profile(session: Session, user_id: str, profile_id: str) -> Profile:
    """The caller's own profile; someone else's is indistinguishable from a missing one."""
    profile = session.get(Profile, profile_id)
    if profile is None or profile.user_id != user_id:
        raise NotFound(f"no profile {profile_id}", code="profile_not_found")
    return profile


def create_profile(session: Session, user_id: str, fields: dict[str, Any]) -> Profile:
    get_user(session, user_id)
    count = session.scalar(select(func.count()).select_from(Profile).where(Profile.user_id == user_id)) or 0
    if count >= MAX_PROFILES:
        raise Conflict(f"an account can have at most {MAX_PROFILES} profiles", code="too_many_profiles")
    profile = Profile(
        id=new_id("prf"),
        user_id=user_id,
        name=fields["name"],
        description=fields.get("description"),
        icon=fields.get("icon"),
        thumbnail=fields.get("thumbnail"),
        interests=list(fields.get("interests") or []),
        tags=list(fields.get("tags") or []),
        theme=fields.get("theme"),
        settings=dict(fields.get("settings") or {}),
    )
    session.add(profile)
    session.flush()
    return profile


def update_profile(session: Session, user_id: str, profile_id: str, changes: dict[str, Any]) -> Profile:
    profile = get_profile(session, user_id, profile_id)
    for field in PROFILE_FIELDS:
        if field in changes:
            value = changes[field]
            if field in ("interests", "tags"):
                value = list(value or [])
            elif field == "settings":
                value = dict(value or {})
            setattr(profile, field, value)
    profile.updated_at = utcnow()
    session.flush()
    return profile


def delete_profile(session: Session, user_id: str, profile_id: str) -> None:
    session.delete(get_profile(session, user_id, profile_id))
