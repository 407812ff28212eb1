"""Alembic environment: runs on the connection handed over by ``ragward.service.db.engine.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from ragward.service.db.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run online on the given connection, or on ``sqlalchemy.url`` when run from the alembic CLI."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection")
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
