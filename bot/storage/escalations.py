"""The escalation log: every time someone needs a coordinator, and everything done about it.

An escalation is stored before any reply is sent, so nothing is lost if Telegram fails. States:
open → claimed → resolved, or open → expired; each change is an event with who and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from bot.storage.db import Database
from bot.storage.models import AuditEntry, Escalation, EscalationEvent, aware, utcnow
from bot.storage.stored_records import mark_stored

OPEN, CLAIMED, RESOLVED, EXPIRED = "open", "claimed", "resolved", "expired"
ACTIVE = (OPEN, CLAIMED)
#: The event that records a person's message posted in the coordinators' group.
RELAYED = "relayed"


@dataclass(frozen=True)
class GroupMessages:
    """See EscalationLog.group_messages_of: escalation ids, and (message id, posted at) pairs."""

    escalations: list[int]
    quoted: list[tuple[int, datetime]]


#: Levels in order of urgency; a new message never lowers an open escalation's level.
URGENCY = {"request": 0, "third_party": 1, "violence": 2, "distress": 2, "acute": 3}
EXCERPT_MESSAGES = 3


@dataclass(frozen=True)
class EscalationView:
    """A snapshot of one escalation, safe to use after its database session ended."""

    id: int
    user_key: str | None
    level: str
    categories: tuple[str, ...]
    language: str
    residence: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    claimed_by: str | None
    chat_id: int | None
    excerpt: str
    alert_message_id: int | None
    alerted_at: datetime | None
    reminded_at: datetime | None

    @property
    def urgent(self) -> bool:
        return self.level == "acute"

    @classmethod
    def of(cls, row: Escalation) -> EscalationView:
        return cls(
            id=row.id,
            user_key=row.user_key,
            level=row.level,
            categories=tuple(c for c in (row.categories or "").split(",") if c),
            language=row.language,
            residence=row.residence,
            status=row.status,
            created_at=aware(row.created_at),
            updated_at=aware(row.updated_at),
            claimed_by=row.claimed_by,
            chat_id=row.chat_id,
            excerpt=row.excerpt or "",
            alert_message_id=row.alert_message_id,
            alerted_at=aware(row.alerted_at),
            reminded_at=aware(row.reminded_at),
        )


@dataclass(frozen=True)
class EventView:
    at: datetime
    kind: str
    actor: str | None
    note: str | None


class EscalationLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- the person's side ---------------------------------------------------------------------
    def record(
        self,
        user_key: str,
        level: str,
        categories: Sequence[str],
        language: str,
        residence: str | None,
        chat_id: int | None,
        message: str | None = None,
        record_id: str | None = None,
    ) -> tuple[EscalationView, bool]:
        """Opens an escalation, or adds to the person's active one. Returns it and whether it is new.

        `record_id`: the outbox's id for this record; AlreadyStored if a record with it was stored."""
        now = utcnow()
        with self.db.session() as session:
            mark_stored(session, record_id, "escalation")
            row = session.scalars(
                select(Escalation).where(Escalation.user_key == user_key, Escalation.status.in_(ACTIVE))
            ).first()
            created = row is None
            if row is None:
                row = Escalation(
                    user_key=user_key, level=level, categories="", language=language, status=OPEN, created_at=now
                )
                session.add(row)
            elif URGENCY.get(level, 0) > URGENCY.get(row.level, 0):
                row.level = level
                row.alert_message_id = None  # a more urgent alert goes out again
                row.alerted_at = None
            merged = [c for c in (row.categories or "").split(",") if c]
            row.categories = ",".join(merged + [c for c in categories if c not in merged])[:255]
            row.language, row.residence, row.updated_at = language, residence or row.residence, now
            row.chat_id = chat_id if chat_id is not None else row.chat_id
            if message:
                row.excerpt = _add_to_excerpt(row.excerpt, message)
            session.flush()
            session.add(EscalationEvent(escalation_id=row.id, at=now, kind="created" if created else level))
            return EscalationView.of(row), created

    # --- the coordinators' side ----------------------------------------------------------------
    def get(self, escalation_id: int) -> EscalationView | None:
        with self.db.session() as session:
            row = session.get(Escalation, escalation_id)
            return EscalationView.of(row) if row else None

    def claimed_for(self, user_key: str) -> int | None:
        """The escalation a coordinator has claimed for this person, if any (the newest)."""
        with self.db.session() as session:
            return session.scalar(
                select(Escalation.id)
                .where(Escalation.user_key == user_key, Escalation.status == CLAIMED)
                .order_by(Escalation.id.desc())
                .limit(1)
            )

    def history(self, escalation_id: int) -> list[EventView]:
        """What happened to an escalation; the relayed messages' ids (kept for erasure) are left out."""
        with self.db.session() as session:
            rows = session.scalars(
                select(EscalationEvent)
                .where(EscalationEvent.escalation_id == escalation_id, EscalationEvent.kind != RELAYED)
                .order_by(EscalationEvent.id)
            )
            return [EventView(aware(e.at), e.kind, e.actor, e.note) for e in rows]

    def claim(self, escalation_id: int, coordinator: str) -> bool:
        """Exactly one of several coordinators pressing Claim at once gets True."""
        now = utcnow()
        with self.db.session() as session:
            won = session.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id, Escalation.status == OPEN)
                .values(status=CLAIMED, claimed_by=coordinator, updated_at=now)
            ).rowcount
            if won:
                session.add(EscalationEvent(escalation_id=escalation_id, at=now, kind="claimed", actor=coordinator))
            return bool(won)

    def take_over(self, escalation_id: int, coordinator: str) -> bool:
        """Another coordinator takes a claimed escalation (logged as "taken_over")."""
        return self._move(escalation_id, coordinator, (CLAIMED,), CLAIMED, "taken_over", claimed_by=coordinator)

    def release(self, escalation_id: int, coordinator: str) -> bool:
        """Hands a claimed escalation back: it is open again for anyone to claim."""
        return self._move(escalation_id, coordinator, (CLAIMED,), OPEN, "released", claimed_by=None)

    def resolve(self, escalation_id: int, coordinator: str) -> bool:
        return self._move(escalation_id, coordinator, ACTIVE, RESOLVED, "resolved", chat_id=None, excerpt=None)

    def expire(self, escalation_id: int) -> bool:
        return self._move(escalation_id, None, (OPEN,), EXPIRED, "expired", chat_id=None, excerpt=None)

    def _move(
        self, escalation_id: int, actor: str | None, sources: Sequence[str], target: str, kind: str, **values: object
    ) -> bool:
        now = utcnow()
        with self.db.session() as session:
            moved = session.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id, Escalation.status.in_(sources))
                .values(status=target, updated_at=now, **values)
            ).rowcount
            if moved:
                session.add(EscalationEvent(escalation_id=escalation_id, at=now, kind=kind, actor=actor))
            return bool(moved)

    def add_note(self, escalation_id: int, coordinator: str, note: str) -> bool:
        with self.db.session() as session:
            if session.get(Escalation, escalation_id) is None:
                return False
            session.add(EscalationEvent(escalation_id=escalation_id, kind="note", actor=coordinator, note=note[:2000]))
            return True

    def mark_alerted(self, escalation_id: int, message_id: int, reminder: bool = False) -> None:
        now = utcnow()
        with self.db.session() as session:
            row = session.get(Escalation, escalation_id)
            if row is None:
                return
            row.alert_message_id, row.alerted_at = message_id, now
            if reminder:
                row.reminded_at = now
            kind = "reminded" if reminder else "alerted"
            session.add(EscalationEvent(escalation_id=escalation_id, at=now, kind=kind, message_id=message_id))

    def note_relayed(self, escalation_id: int, message_id: int) -> None:
        """A message of the person was posted in the coordinators' group (kept so erasure reaches it)."""
        with self.db.session() as session:
            session.add(EscalationEvent(escalation_id=escalation_id, kind=RELAYED, message_id=message_id))

    def group_messages_of(self, user_key: str) -> GroupMessages:
        """What the coordinators' group shows of a person: their escalations' alerts (kept, to be
        shown again without their messages) and every other post that quoted them (to go)."""
        with self.db.session() as session:
            escalations = session.execute(
                select(Escalation.id, Escalation.alert_message_id).where(Escalation.user_key == user_key)
            ).all()
            current = {alert for _, alert in escalations if alert is not None}
            posts = session.execute(
                select(EscalationEvent.message_id, EscalationEvent.at).where(
                    EscalationEvent.escalation_id.in_([number for number, _ in escalations]),
                    EscalationEvent.message_id.is_not(None),
                )
            ).all()
        quoted = [(message_id, aware(at)) for message_id, at in posts if message_id not in current]
        return GroupMessages([number for number, _ in escalations], quoted)

    def audit(self, actor: str, action: str) -> None:
        with self.db.session() as session:
            session.add(AuditEntry(actor=actor, action=action[:64]))

    def last_audit(self, action: str) -> datetime | None:
        """When `action` was last written to the audit log (by anyone), or None."""
        with self.db.session() as session:
            at = session.scalar(select(func.max(AuditEntry.at)).where(AuditEntry.action == action))
        return aware(at) if at is not None else None

    # --- lists ---------------------------------------------------------------------------------
    def unalerted(self) -> list[EscalationView]:
        """Active escalations whose alert has not reached the group yet (Telegram failed, or a restart)."""
        return self._list(select(Escalation).where(Escalation.status.in_(ACTIVE), Escalation.alerted_at.is_(None)))

    def overdue(self, older_than: timedelta) -> list[EscalationView]:
        """Open escalations nobody claimed in time and that were not reminded about yet."""
        cutoff = utcnow() - older_than
        return self._list(
            select(Escalation).where(
                Escalation.status == OPEN,
                Escalation.alerted_at.is_not(None),
                Escalation.created_at <= cutoff,
                Escalation.reminded_at.is_(None),
            )
        )

    def stale(self, older_than: timedelta) -> list[EscalationView]:
        cutoff = utcnow() - older_than
        return self._list(select(Escalation).where(Escalation.status == OPEN, Escalation.updated_at <= cutoff))

    def list(
        self, since: datetime | None = None, status: str | None = None, level: str | None = None
    ) -> list[EscalationView]:
        query = select(Escalation)
        if since is not None:
            query = query.where(Escalation.created_at >= since)
        if status:
            query = query.where(Escalation.status == status)
        if level:
            query = query.where(Escalation.level == level)
        return self._list(query)

    def _list(self, query) -> list[EscalationView]:  # type: ignore[no-untyped-def]
        with self.db.session() as session:
            return [EscalationView.of(row) for row in session.scalars(query.order_by(Escalation.id))]

    # --- privacy -------------------------------------------------------------------------------
    def forget_person(self, user_key: str) -> int:
        """Erases the link between a person and their escalations, the coordinators' notes about
        them and any audit row naming their key; the pseudonymous record stays."""
        with self.db.session() as session:
            theirs = select(Escalation.id).where(Escalation.user_key == user_key)
            session.execute(
                delete(EscalationEvent)
                .where(EscalationEvent.escalation_id.in_(theirs), EscalationEvent.kind == "note")
                .execution_options(synchronize_session=False)
            )
            session.execute(delete(AuditEntry).where(AuditEntry.actor == user_key))
            return session.execute(
                update(Escalation)
                .where(Escalation.user_key == user_key)
                .values(user_key=None, chat_id=None, excerpt=None)
            ).rowcount

    def purge(self, older_than: timedelta) -> int:
        """Deletes closed escalations past the retention period; returns how many."""
        cutoff = utcnow() - older_than
        with self.db.session() as session:
            return session.execute(
                delete(Escalation).where(Escalation.status.not_in(ACTIVE), Escalation.updated_at < cutoff)
            ).rowcount


def _add_to_excerpt(excerpt: str | None, message: str) -> str:
    lines = [line for line in (excerpt or "").split("\n") if line]
    lines.append(" ".join(message.split())[:500])
    return "\n".join(lines[-EXCERPT_MESSAGES:])
