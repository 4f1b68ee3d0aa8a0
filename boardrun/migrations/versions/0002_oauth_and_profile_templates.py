"""oauth sign-in state and linked identities; seed profile templates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 02:51:41.029991
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

SEEDED = datetime(2026, 1, 1, tzinfo=timezone.utc)
SETTINGS = {"connection_mode": "simplebezier"}
# The profile templates a new user can start from (GET /api/v1/info/profiles).
TEMPLATES = [
    {
        "id": "tpl-automation",
        "name": "Automation",
        "description": "Run everyday workflows: triggers, HTTP calls, data shaping and notifications.",
        "icon": None,
        "thumbnail": None,
        "interests": ["automation", "integrations", "webhooks"],
        "tags": ["starter", "automation"],
        "settings": SETTINGS,
    },
    {
        "id": "tpl-data",
        "name": "Data & AI",
        "description": "Prepare, transform and analyse data, and chain it with AI models.",
        "icon": None,
        "thumbnail": None,
        "interests": ["data", "ai", "analytics"],
        "tags": ["starter", "data", "ai"],
        "settings": SETTINGS,
    },
    {
        "id": "tpl-developer",
        "name": "Developer",
        "description": "Build and debug boards: variables, control flow, logging and the full node catalog.",
        "icon": None,
        "thumbnail": None,
        "interests": ["development", "apis", "testing"],
        "tags": ["starter", "developer"],
        "settings": {"connection_mode": "step"},
    },
    {
        "id": "tpl-operations",
        "name": "Operations",
        "description": "Schedule and monitor jobs, watch their status and react to failures.",
        "icon": None,
        "thumbnail": None,
        "interests": ["operations", "monitoring", "scheduling"],
        "tags": ["starter", "operations"],
        "settings": SETTINGS,
    },
]


def upgrade() -> None:
    op.create_table('oauth_states',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=128), nullable=True),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_states_expires_at'), ['expires_at'], unique=False)

    op.create_table('oauth_identities',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider', 'subject')
    )
    with op.batch_alter_table('oauth_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_identities_user_id'), ['user_id'], unique=False)

    templates = sa.table(
        'profile_templates',
        sa.column('id', sa.String), sa.column('name', sa.String), sa.column('description', sa.Text),
        sa.column('icon', sa.String), sa.column('thumbnail', sa.String),
        sa.column('interests', sa.JSON), sa.column('tags', sa.JSON),
        sa.column('settings', sa.JSON),
        sa.column('created_at', sa.DateTime(timezone=True)), sa.column('updated_at', sa.DateTime(timezone=True)),
    )
    op.bulk_insert(templates, [{**t, "created_at": SEEDED, "updated_at": SEEDED} for t in TEMPLATES])


def downgrade() -> None:
    templates = sa.table('profile_templates', sa.column('id', sa.String))
    op.execute(templates.delete().where(templates.c.id.in_([t["id"] for t in TEMPLATES])))

    with op.batch_alter_table('oauth_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_identities_user_id'))

    op.drop_table('oauth_identities')
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_states_expires_at'))

    op.drop_table('oauth_states')
