"""Every table of the product, imported in one place for Alembic's metadata."""

from boardrun.accounts.models import EmailVerification, LoginThrottle, RefreshToken, User  # noqa: F401
from boardrun.apps.models import App, Board, BoardVersion, Invitation, Membership, Role  # noqa: F401
from boardrun.db import Base
from boardrun.eventing.outbox import OutboxEvent  # noqa: F401
from boardrun.jobs.models import DeadLetter, Job, JobEvent, ProcessedEvent  # noqa: F401
from boardrun.oauth.models import OAuthIdentity, OAuthState  # noqa: F401
from boardrun.triggers.models import AppEvent  # noqa: F401
from boardrun.users.models import Profile, ProfileTemplate  # noqa: F401

metadata = Base.metadata
