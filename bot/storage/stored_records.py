"""Which outbox records the database holds already (table `stored_records`), so that a record
replayed after a crash is never stored twice (bot/conversation/outbox.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from bot.storage.models import StoredRecord, utcnow


class AlreadyStored(Exception):
    """The record with this id is in the database already (an earlier replay stored it)."""


def unavailable(error: Exception) -> bool:
    """True when the database as a whole refuses (locked, down, unreachable), not this one record."""
    return isinstance(error, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout))


def mark_stored(session: Session, record_id: str | None, kind: str) -> None:
    """Notes a record's id in the transaction that stores it; raises AlreadyStored if it is there."""
    if record_id is None:
        return
    if session.get(StoredRecord, record_id) is not None:
        raise AlreadyStored(record_id)
    session.add(StoredRecord(id=record_id, kind=kind[:24], stored_at=utcnow()))
    session.flush()  # a second writer with the same id fails here, inside its own transaction


def forget_stored(session: Session, older_than: timedelta) -> int:
    """Deletes the notes of records stored long ago (no outbox still holds them)."""
    return session.execute(delete(StoredRecord).where(StoredRecord.stored_at < utcnow() - older_than)).rowcount
