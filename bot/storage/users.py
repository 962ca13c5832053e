"""What the front end remembers about a person: their language, where they live (for the GP
route), and whether they were recently in crisis."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, update

from bot.storage.db import Database
from bot.storage.models import User, aware, utcnow

#: How long SqlUserStore keeps a row it read or wrote, and how many rows at most.
CACHE_SECONDS = 60.0
CACHE_SIZE = 10_000
#: How often a person's last_seen is moved on while they write.
SEEN_EVERY = 3600.0


@dataclass
class CrisisState:
    """A person's most recent crisis: it stays until it expires, whatever they write meanwhile."""

    level: str  # "acute" or "distress"
    since: datetime  # the last risk message
    messages_since: int = 0
    checked_in: bool = False


@dataclass(frozen=True)
class LanguageState:
    """The language in use; whether the person chose it (then it stays until they choose another);
    and the language the bot last offered to switch to (it offers each one once)."""

    language: str | None = None
    chosen: bool = False
    offered: str | None = None


class UserStore(Protocol):
    def language(self, user_key: str) -> str | None: ...

    def set_language(self, user_key: str, language: str, chosen: bool = False) -> None:
        """`chosen`: the person chose it; otherwise it was read from their messages or their app."""

    def language_state(self, user_key: str) -> LanguageState: ...

    def set_offered_language(self, user_key: str, language: str) -> None: ...

    def residence(self, user_key: str) -> str | None: ...

    def set_residence(self, user_key: str, residence: str) -> None: ...

    def crisis(self, user_key: str) -> CrisisState | None: ...

    def set_crisis(self, user_key: str, state: CrisisState | None) -> None: ...

    def seen(self, user_key: str) -> None:
        """The person wrote: what is kept about them is kept RETENTION_DAYS from now."""


class MemoryUserStore:
    """Keeps preferences for the life of the process, in memory: for tests and tools (the bot itself
    always uses SqlUserStore)."""

    def __init__(self) -> None:
        self._languages: dict[str, LanguageState] = {}
        self._residences: dict[str, str] = {}
        self._crises: dict[str, CrisisState] = {}

    def language(self, user_key: str) -> str | None:
        return self.language_state(user_key).language

    def set_language(self, user_key: str, language: str, chosen: bool = False) -> None:
        self._languages[user_key] = replace(self.language_state(user_key), language=language, chosen=chosen)

    def language_state(self, user_key: str) -> LanguageState:
        return self._languages.get(user_key) or LanguageState()

    def set_offered_language(self, user_key: str, language: str) -> None:
        self._languages[user_key] = replace(self.language_state(user_key), offered=language)

    def residence(self, user_key: str) -> str | None:
        return self._residences.get(user_key)

    def set_residence(self, user_key: str, residence: str) -> None:
        self._residences[user_key] = residence

    def crisis(self, user_key: str) -> CrisisState | None:
        return self._crises.get(user_key)

    def seen(self, user_key: str) -> None:
        pass  # kept for the life of the process only

    def set_crisis(self, user_key: str, state: CrisisState | None) -> None:
        if state is None:
            self._crises.pop(user_key, None)
        else:
            self._crises[user_key] = state


class SqlUserStore:
    """Keeps preferences and crisis state in the database, so they survive a restart.

    A message reads the person several times (language, crisis, language again after Rasa), so
    rows are kept for a minute after they were read or written, when this process is the table's
    only writer (deletes go through erase() and purge(), which drop the kept rows too). Replicas
    write it too: they keep nothing (keep_seconds=0), or one would answer in a language another
    replica has just changed."""

    def __init__(self, db: Database, keep_seconds: float = CACHE_SECONDS) -> None:
        self.db = db
        self.keep_seconds = keep_seconds
        self._recent: dict[str, tuple[float, User | None]] = {}
        self._seen: dict[str, float] = {}

    def _get(self, user_key: str) -> User | None:
        kept = self._recent.get(user_key)
        if kept is not None and time.monotonic() - kept[0] < self.keep_seconds:
            return kept[1]
        with self.db.session() as session:
            user = session.get(User, user_key)
        self._keep(user_key, user)
        return user

    def _keep(self, user_key: str, user: User | None) -> None:
        if len(self._recent) >= CACHE_SIZE:
            self._recent.clear()
        self._recent[user_key] = (time.monotonic(), user)

    def erase(self, user_key: str) -> User | None:
        """Deletes the person's row; returns what it held."""
        with self.db.session() as session:
            user = session.get(User, user_key)
            if user is not None:
                session.delete(user)
        self._recent.pop(user_key, None)
        return user

    def purge(self, last_seen_before: datetime) -> int:
        """Deletes everyone not seen since then; returns how many."""
        with self.db.session() as session:
            deleted = session.execute(delete(User).where(User.last_seen < last_seen_before)).rowcount
        self._recent.clear()
        return deleted

    def _update(self, user_key: str, **values: object) -> None:
        with self.db.session() as session:
            user = session.get(User, user_key)
            if user is None:
                user = User(key=user_key, crisis_messages_since=0, crisis_checked_in=False, language_chosen=False)
                session.add(user)
            for name, value in values.items():
                setattr(user, name, value)
            user.last_seen = utcnow()
        self._keep(user_key, user)

    def seen(self, user_key: str) -> None:
        """Moves last_seen on, at most once per SEEN_EVERY per person (a write per message would
        cost more than the retention needs)."""
        now = time.monotonic()
        if now - self._seen.get(user_key, -SEEN_EVERY) < SEEN_EVERY:
            return
        if len(self._seen) >= CACHE_SIZE:
            self._seen.clear()
        self._seen[user_key] = now
        with self.db.session() as session:
            session.execute(update(User).where(User.key == user_key).values(last_seen=utcnow()))

    def language(self, user_key: str) -> str | None:
        user = self._get(user_key)
        return user.language if user else None

    def set_language(self, user_key: str, language: str, chosen: bool = False) -> None:
        self._update(user_key, language=language, language_chosen=chosen)

    def language_state(self, user_key: str) -> LanguageState:
        user = self._get(user_key)
        if user is None:
            return LanguageState()
        return LanguageState(user.language, bool(user.language_chosen), user.language_offered)

    def set_offered_language(self, user_key: str, language: str) -> None:
        self._update(user_key, language_offered=language)

    def residence(self, user_key: str) -> str | None:
        user = self._get(user_key)
        return user.residence if user else None

    def set_residence(self, user_key: str, residence: str) -> None:
        self._update(user_key, residence=residence)

    def crisis(self, user_key: str) -> CrisisState | None:
        user = self._get(user_key)
        if user is None or user.crisis_level is None or user.crisis_since is None:
            return None
        return CrisisState(
            user.crisis_level, aware(user.crisis_since), user.crisis_messages_since, user.crisis_checked_in
        )

    def set_crisis(self, user_key: str, state: CrisisState | None) -> None:
        if state is None:
            self._update(
                user_key, crisis_level=None, crisis_since=None, crisis_messages_since=0, crisis_checked_in=False
            )
        else:
            self._update(
                user_key,
                crisis_level=state.level,
                crisis_since=state.since,
                crisis_messages_since=state.messages_since,
                crisis_checked_in=state.checked_in,
            )
