"""Alembic environment: runs mediafix's migrations on the connection the caller gives."""

from __future__ import annotations

from alembic import context

from mediafix.store.db import get_engine
from mediafix.store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
        with get_engine(str(url)).begin() as conn:
            _run(conn)
    else:
        _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
