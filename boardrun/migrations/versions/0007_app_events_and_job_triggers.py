"""app events and job triggers

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_events',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('app_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('event_type', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('board_id', sa.String(length=128), nullable=False),
    sa.Column('board_version', sa.String(length=32), nullable=True),
    sa.Column('node_id', sa.String(length=128), nullable=True),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('http_path', sa.String(length=256), nullable=True),
    sa.Column('auth_token_hash', sa.String(length=64), nullable=True),
    sa.Column('webhook_secret', sa.String(length=512), nullable=True),
    sa.Column('cron_last_slot', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('app_id', 'http_path')
    )
    with op.batch_alter_table('app_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_events_app_id'), ['app_id'], unique=False)
        batch_op.create_index('ix_app_events_type_active', ['event_type', 'active'], unique=False)

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('event_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_jobs_event_id'), ['event_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_event_id'))
        batch_op.drop_column('event_id')
        batch_op.drop_column('trigger')

    with op.batch_alter_table('app_events', schema=None) as batch_op:
        batch_op.drop_index('ix_app_events_type_active')
        batch_op.drop_index(batch_op.f('ix_app_events_app_id'))

    op.drop_table('app_events')
