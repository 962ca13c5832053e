"""Requests for a talk with a volunteer, made in the chat (the Rasa form `booking_form`).

The front end stores a request once the person has answered and agreed; coordinators mark it
scheduled, done or cancelled in their group. The programme offers at most three sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from bot.storage.db import Database
from bot.storage.models import Booking, aware, utcnow
from bot.storage.stored_records import mark_stored

MAX_SESSIONS = 3
REQUESTED, SCHEDULED, DONE, CANCELLED = "requested", "scheduled", "done", "cancelled"
CLOSED = (DONE, CANCELLED)


@dataclass(frozen=True)
class BookingView:
    id: int
    user_key: str | None
    language: str
    session_language: str
    times: str
    contact: str
    status: str
    created_at: datetime
    chat_id: int | None
    alert_message_id: int | None
    posted_at: datetime | None

    @classmethod
    def of(cls, row: Booking) -> BookingView:
        return cls(
            id=row.id,
            user_key=row.user_key,
            language=row.language,
            session_language=row.session_language,
            times=row.times,
            contact=row.contact,
            status=row.status,
            created_at=aware(row.created_at),
            chat_id=row.chat_id,
            alert_message_id=row.alert_message_id,
            posted_at=aware(row.posted_at),
        )


class BookingLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def sessions_asked(self, user_key: str) -> int:
        """Requests that count towards the limit: all but cancelled ones."""
        with self.db.session() as session:
            return session.scalar(
                select(func.count(Booking.id)).where(Booking.user_key == user_key, Booking.status != CANCELLED)
            )

    def add(
        self,
        user_key: str,
        language: str,
        session_language: str,
        times: str,
        contact: str,
        chat_id: int | None,
        record_id: str | None = None,
    ) -> BookingView:
        """Stores a request. `record_id`: the outbox's id for it; AlreadyStored if it was stored."""
        with self.db.session() as session:
            mark_stored(session, record_id, "booking")
            row = Booking(
                user_key=user_key,
                language=language,
                session_language=session_language[:64],
                times=times[:300],
                contact=contact,
                status=REQUESTED,
                chat_id=chat_id,
            )
            session.add(row)
            session.flush()
            return BookingView.of(row)

    def get(self, booking_id: int) -> BookingView | None:
        with self.db.session() as session:
            row = session.get(Booking, booking_id)
            return BookingView.of(row) if row else None

    def set_status(self, booking_id: int, status: str) -> BookingView | None:
        """Moves a request on; None if it was already there or closed. Done and cancelled forget how
        to reach the person: the view returned still has the chat, to tell them once."""
        with self.db.session() as session:
            row = session.get(Booking, booking_id)
            if row is None or row.status == status or row.status in CLOSED:
                return None
            view = replace(BookingView.of(row), status=status)
            row.status, row.updated_at = status, utcnow()
            if status in CLOSED:
                row.chat_id = None
            return view

    def mark_posted(self, booking_id: int, message_id: int) -> None:
        with self.db.session() as session:
            session.execute(
                update(Booking).where(Booking.id == booking_id).values(alert_message_id=message_id, posted_at=utcnow())
            )

    def unposted(self) -> list[BookingView]:
        with self.db.session() as session:
            rows = session.scalars(select(Booking).where(Booking.posted_at.is_(None)).order_by(Booking.id))
            return [BookingView.of(row) for row in rows]

    def forget_person(self, user_key: str) -> int:
        with self.db.session() as session:
            return session.execute(delete(Booking).where(Booking.user_key == user_key)).rowcount

    def purge(self, older_than: timedelta) -> int:
        """Deletes closed requests older than the retention period."""
        cutoff = utcnow() - older_than
        with self.db.session() as session:
            return session.execute(
                delete(Booking).where(Booking.status.in_(CLOSED), Booking.updated_at < cutoff)
            ).rowcount
