"""Alembic environment: migrations run against DATABASE_URL (or the URL the caller set)."""

from alembic import context
from sqlalchemy import create_engine, pool

from boardrun.models import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
if not url:
    from boardrun.config import get_settings

    url = get_settings().database.url


def run_offline() -> None:
    context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        # batch mode lets the same ALTERs run on SQLite, which cannot alter tables in place
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
