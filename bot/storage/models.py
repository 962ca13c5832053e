"""Every table the bot keeps, in one place. People are known by their pseudonymous key only.

A Telegram chat id is stored only while it is needed to reach the person: on an open escalation
or hand-off, or an active booking request. Message text is stored only as the short excerpt an
open escalation shows its coordinator, and is wiped when the escalation closes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

#: Rasa's SQL tracker store keeps its conversations in this table of the same database; it is not
#: ours to migrate, but retention and erasure delete from it (bot/storage/privacy.py).
EVENTS_TABLE = "events"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; every time we store is UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


class User(Base):
    """A person's preferences and their most recent crisis (kept until it expires)."""

    __tablename__ = "users"

    key = Column(String(64), primary_key=True)
    language = Column(String(8))  # the language in use: chosen, or read from their messages
    language_chosen = Column(Boolean, nullable=False, default=False)  # chosen with /language or the menu
    language_offered = Column(String(8))  # the last language the bot offered to switch to
    residence = Column(String(16))  # "azc" or "municipality": which GP route to show
    crisis_level = Column(String(16))
    crisis_since = Column(DateTime(timezone=True))
    crisis_messages_since = Column(Integer, nullable=False, default=0)
    crisis_checked_in = Column(Boolean, nullable=False, default=False)
    last_seen = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Escalation(Base):
    """Someone needs a coordinator: acute risk, severe distress, or they asked for a person."""

    __tablename__ = "escalations"

    id = Column(Integer, primary_key=True, autoincrement=True)
    user_key = Column(String(64), index=True)  # None once the person erased their data
    level = Column(String(16), nullable=False)  # acute, distress, third_party, request
    categories = Column(String(255), nullable=False, default="")
    language = Column(String(8), nullable=False)
    residence = Column(String(16))
    status = Column(String(16), nullable=False, default="open", index=True)  # open, claimed, resolved, expired
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    claimed_by = Column(String(64))  # the coordinator's pseudonymous key
    chat_id = Column(BigInteger)  # only while open or claimed: how to reach the person
    excerpt = Column(Text)  # the person's recent messages, only while open or claimed
    alert_message_id = Column(BigInteger)  # the alert in the coordinators' group, once posted
    alerted_at = Column(DateTime(timezone=True))
    reminded_at = Column(DateTime(timezone=True))

    events = relationship("EscalationEvent", order_by="EscalationEvent.id", cascade="all, delete-orphan")


class EscalationEvent(Base):
    """One step in an escalation's history: who did what, and when."""

    __tablename__ = "escalation_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    kind = Column(String(24), nullable=False)  # created, alerted, claimed, released, resolved, note, ...
    actor = Column(String(64))  # a coordinator's pseudonymous key, or None for the bot
    note = Column(Text)
    message_id = Column(BigInteger)  # "relayed": the person's message as posted in the coordinators' group


class AuditEntry(Base):
    """Attempts to act in the coordinators' group by someone who is not a listed coordinator."""

    __tablename__ = "audit"

    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    actor = Column(String(64), nullable=False)
    action = Column(String(64), nullable=False)


class Booking(Base):
    """A request for a talk with a volunteer, made in the chat. The chat id is kept only until the
    sessions end (done or cancelled)."""

    __tablename__ = "bookings"

    id = Column(Integer, primary_key=True, autoincrement=True)
    user_key = Column(String(64), index=True)  # None once the person erased their data
    language = Column(String(8), nullable=False)  # the language the person writes in
    session_language = Column(String(64), nullable=False)
    times = Column(String(300), nullable=False)
    contact = Column(String(16), nullable=False)  # "chat", or "other": the coordinator asks in the chat
    status = Column(String(16), nullable=False, default="requested", index=True)  # scheduled, done, cancelled
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    chat_id = Column(BigInteger)
    alert_message_id = Column(BigInteger)
    posted_at = Column(DateTime(timezone=True))


class StoredRecord(Base):
    """A record from the front end's outbox (bot/conversation/outbox.py) that is in the database: written in the
    same transaction as the record itself, so a replayed record is never stored twice. Holds no
    personal data; purged with the closed escalations."""

    __tablename__ = "stored_records"

    id = Column(String(36), primary_key=True)  # the outbox record's id
    kind = Column(String(24), nullable=False)
    stored_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
