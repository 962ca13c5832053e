"""Weeks of realistic escalations and booking requests written straight into a database, for the
programme's picture (bot/coordinators/picture.py): levels and languages in the proportions the
programme expects, alerts at every hour of the day, most claimed within minutes, some reminded and
some never claimed, and booking requests with their outcomes. `History` keeps what was written, so
a test can work out every figure on its own."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.storage.db import Database
from bot.storage.models import Booking, Escalation, EscalationEvent

LEVEL_WEIGHTS = {"acute": 25, "distress": 45, "third_party": 15, "violence": 5, "request": 10}
LANGUAGE_WEIGHTS = {"ar": 30, "fa": 20, "en": 14, "uk": 12, "nl": 8, "es": 5, "ti": 6, "so": 5}
BOOKING_WEIGHTS = {"requested": 15, "scheduled": 30, "done": 45, "cancelled": 10}


@dataclass
class Written:
    created_at: datetime
    level: str
    language: str
    status: str
    claim_minutes: float | None  # from the alert to the claim; None: never claimed
    reminders: int


@dataclass
class History:
    escalations: list[Written] = field(default_factory=list)
    bookings: list[tuple[datetime, str]] = field(default_factory=list)


def fill(db: Database, end: datetime, weeks: int = 8, seed: int = 4) -> History:
    """Writes `weeks` weeks of history ending at `end` (UTC) and returns what it wrote."""
    rng = random.Random(seed)
    history = History()
    start = end - timedelta(weeks=weeks)
    with db.session() as session:
        for week in range(weeks):
            busy = 1.0 + 0.15 * week  # the programme grows
            for _ in range(round(rng.gauss(9 * busy, 2))):
                created = start + timedelta(weeks=week, seconds=rng.uniform(0, 7 * 24 * 3600))
                if created > end:
                    continue
                level = rng.choices(list(LEVEL_WEIGHTS), weights=list(LEVEL_WEIGHTS.values()))[0]
                language = rng.choices(list(LANGUAGE_WEIGHTS), weights=list(LANGUAGE_WEIGHTS.values()))[0]
                alerted = created + timedelta(seconds=rng.uniform(0.5, 4))
                night = not 8 <= created.hour < 20
                claimed = rng.random() > (0.25 if night else 0.05)
                delay = rng.lognormvariate(2.0 + (1.2 if night else 0.0), 0.8) if claimed else None
                reminders = int(delay // 5) if delay is not None else 4
                reminders = min(reminders, 6)
                status = rng.choice(["claimed", "resolved", "resolved"]) if claimed else "expired"
                row = Escalation(
                    user_key=f"person-{rng.getrandbits(40):x}",
                    level=level,
                    categories="generated",
                    language=language,
                    status=status,
                    created_at=created,
                    updated_at=created,
                    alerted_at=alerted,
                )
                session.add(row)
                session.flush()
                events = [("created", created), ("alerted", alerted)]
                events += [("reminded", alerted + timedelta(minutes=5 * (i + 1))) for i in range(reminders)]
                if delay is not None:
                    events.append(("claimed", alerted + timedelta(minutes=delay)))
                else:
                    events.append(("expired", created + timedelta(hours=24)))
                for kind, at in events:
                    session.add(EscalationEvent(escalation_id=row.id, kind=kind, at=at))
                history.escalations.append(Written(created, level, language, status, delay, reminders))
            for _ in range(round(rng.gauss(4 * busy, 1.5))):
                created = start + timedelta(weeks=week, seconds=rng.uniform(0, 7 * 24 * 3600))
                if created > end:
                    continue
                status = rng.choices(list(BOOKING_WEIGHTS), weights=list(BOOKING_WEIGHTS.values()))[0]
                session.add(
                    Booking(
                        user_key=f"person-{rng.getrandbits(40):x}",
                        language=rng.choice(list(LANGUAGE_WEIGHTS)),
                        session_language="Arabic",
                        times="weekday evenings",
                        contact="chat",
                        status=status,
                        created_at=created,
                        updated_at=created,
                    )
                )
                history.bookings.append((created, status))
    return history
