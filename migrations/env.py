"""Alembic runs as the schema owner (DATABASE_URL), never as the application role."""

from alembic import context
from sqlalchemy import create_engine, pool

from backend.db import owner_url
from backend.models import metadata


def run_migrations() -> None:
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(owner_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
