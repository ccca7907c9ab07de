from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from core.db import Base, make_engine
from pos.config import database_url
from pos.models import import_all_models

import_all_models()
config = context.config
target_metadata = Base.metadata
# Set by pos/migrate.py; from Alembic's own command line (migrations/alembic.ini) it is CREDITMART_DATABASE_URL.
url = config.get_main_option("sqlalchemy.url") or database_url()


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            run_migrations(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=url, target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
