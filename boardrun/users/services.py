"""Users' own records and profiles."""

from __future__ import annotations

from sqlalchemy.orm import Session

from boardrun.accounts.models import User
from boardrun.ids import new_id
from boardrun.users.models import Profile


def create_default_profile(session: Session, user: User) -> Profile:
    profile = Profile(id=new_id("prf"), user_id=user.id, name="Default", interests=[], tags=[], settings={})
    session.add(profile)
    return profile
