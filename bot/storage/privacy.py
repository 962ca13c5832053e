"""Retention and erasure: the bot keeps only what it needs, for as long as it needs it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import MetaData, Table, delete, func, inspect, select

from bot.storage.bookings import BookingLog
from bot.storage.db import Database
from bot.storage.escalations import EscalationLog
from bot.storage.models import EVENTS_TABLE, utcnow
from bot.storage.stored_records import forget_stored
from bot.storage.users import SqlUserStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    conversation_events: int
    users: int
    escalations: int
    bookings: int


class Privacy:
    def __init__(self, db: Database, users: SqlUserStore, escalations: EscalationLog, bookings: BookingLog) -> None:
        self.db = db
        self.users = users
        self.escalations = escalations
        self.bookings = bookings
        self._events: Table | None = None

    def _events_table(self) -> Table | None:
        """Rasa's tracker events, once Rasa has created the table."""
        if self._events is None and inspect(self.db.engine).has_table(EVENTS_TABLE):
            self._events = Table(EVENTS_TABLE, MetaData(), autoload_with=self.db.engine)
        return self._events

    def erase(self, user_key: str) -> list[str]:
        """Deletes everything about one person; returns what there was (see assistant.erased_item)."""
        deleted: list[str] = []
        user = self.users.erase(user_key)
        if user is not None:
            deleted.append("profile")
            if user.crisis_level:
                deleted.append("crisis")
        events = self._events_table()
        if events is not None:
            with self.db.session() as session:
                if session.execute(delete(events).where(events.c.sender_id == user_key)).rowcount:
                    deleted.append("conversation")
        if self.escalations.forget_person(user_key):
            deleted.append("escalations")
        if self.bookings.forget_person(user_key):
            deleted.append("bookings")
        log.info("Erased a person's data on request (%d kinds)", len(deleted))
        return deleted

    def purge(self, retention: timedelta, escalation_retention: timedelta) -> PurgeReport:
        """Deletes conversations and profiles of people whose last message is older than
        `retention`, and closed escalations older than `escalation_retention`."""
        cutoff = utcnow() - retention
        events_deleted = 0
        events = self._events_table()
        if events is not None:
            # Whole conversations whose last event is older than the cutoff: an active person's
            # early messages stay as long as the conversation goes on.
            finished = (
                select(events.c.sender_id)
                .group_by(events.c.sender_id)
                .having(func.max(events.c.timestamp) < cutoff.timestamp())
            )
            with self.db.session() as session:
                events_deleted = session.execute(delete(events).where(events.c.sender_id.in_(finished))).rowcount
        stale = self.users.purge(cutoff)
        escalations = self.escalations.purge(escalation_retention)
        bookings = self.bookings.purge(retention)
        with self.db.session() as session:
            forget_stored(session, escalation_retention)  # the outbox's notes of what it stored
        report = PurgeReport(events_deleted, stale, escalations, bookings)
        log.info("Purge: %s", report)
        return report
