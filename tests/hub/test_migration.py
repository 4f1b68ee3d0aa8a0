"""Migration 0002 on a fresh database of each backend: it creates the OAuth tables,
seeds the profile templates, leaves no drift from the models, and its downgrade
removes exactly what it added."""

from __future__ import annotations

import importlib.util
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from boardrun import db
from boardrun.models import metadata
from tests.conftest import BACKENDS, PG_ADMIN_URL, _pg_url

_spec = importlib.util.spec_from_file_location("migration_0002", db.MIGRATIONS_DIR / "versions" / "0002_oauth_and_profile_templates.py")
_migration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_migration)
TEMPLATES, SEEDED = _migration.TEMPLATES, _migration.SEEDED


@pytest.fixture(params=BACKENDS)
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"boardrun_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_seeds_and_downgrade_removes(fresh_url):
    """upgrade head creates oauth_states/oauth_identities and the seeded templates with no model drift; downgrade to 0001 removes them."""
    db.migrate(fresh_url)
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            assert {"oauth_states", "oauth_identities"} <= set(inspect(conn).get_table_names())
            ids = {r[0] for r in conn.execute(text("SELECT id FROM profile_templates"))}
            assert ids == {t["id"] for t in TEMPLATES} and len(ids) >= 3
            drift = compare_metadata(MigrationContext.configure(conn), metadata)
            mine = ("oauth_states", "oauth_identities", "profile_templates")
            assert [d for d in drift if any(t in repr(d) for t in mine)] == []
        command.downgrade(db._alembic_config(fresh_url), "0001")
        with engine.connect() as conn:
            assert not {"oauth_states", "oauth_identities"} & set(inspect(conn).get_table_names())
            assert conn.execute(text("SELECT count(*) FROM profile_templates")).scalar() == 0
    finally:
        engine.dispose()


def test_0004_adds_verification_and_invitations_and_downgrades(fresh_url):
    """upgrade head creates email_verifications and invitations, makes login_throttle a counter (no locked_until) and leaves no drift; downgrade to 0003 restores the old shape."""
    db.migrate(fresh_url)
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            assert {"email_verifications", "invitations"} <= set(inspector.get_table_names())
            assert "locked_until" not in {c["name"] for c in inspector.get_columns("login_throttle")}
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        command.downgrade(db._alembic_config(fresh_url), "0003")
        with engine.connect() as conn:
            inspector = inspect(conn)
            assert not {"email_verifications", "invitations"} & set(inspector.get_table_names())
            assert "locked_until" in {c["name"] for c in inspector.get_columns("login_throttle")}
    finally:
        engine.dispose()
