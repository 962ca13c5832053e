"""Alembic environment: migrates the database named in the config (set by bot.storage.db.migrate)."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from bot.storage.models import Base

config = context.config
# bot.storage.db.migrate passes the URL; by hand, DATABASE_URL or alembic.ini's default.
url = config.attributes.get("url") or os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")


def run_migrations() -> None:
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
            # Rasa's tracker store keeps its `events` table in the same database: not ours to migrate.
            include_object=lambda obj, name, type_, reflected, compare_to: (
                type_ != "table" or name in Base.metadata.tables
            ),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
