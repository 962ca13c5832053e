"""The database: SQLite by default, PostgreSQL through DATABASE_URL; Alembic migrations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot import PROJECT_ROOT

log = logging.getLogger(__name__)

DatabaseError = SQLAlchemyError
T = TypeVar("T")


async def off_the_loop(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A blocking database call, run in a worker thread, so that a slow or locked database never
    holds up the event loop that serves every chat."""
    return await asyncio.to_thread(call, *args, **kwargs)


def make_engine(url: str, wait_seconds: float = 5.0) -> Engine:
    """`wait_seconds`: how long a write waits for a locked SQLite file or a slow connection."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, hide_parameters=True, connect_args={"timeout": wait_seconds})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
            cursor.close()

        return engine
    # hide_parameters: an error's text never holds the values of a statement (message excerpts).
    return create_engine(
        url,
        future=True,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args={"connect_timeout": max(1, int(wait_seconds))},
    )


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["url"] = url
    return config


def migrate(url: str) -> None:
    """Brings the schema up to date; running it again changes nothing."""
    command.upgrade(alembic_config(url), "head")


class Database:
    def __init__(self, url: str, wait_seconds: float = 5.0) -> None:
        self.url = url
        self.engine = make_engine(url, wait_seconds)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
