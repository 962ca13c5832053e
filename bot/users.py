"""What the front end remembers about a person: their language, where they live (for the GP
route), and whether they were recently in crisis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass
class CrisisState:
    """A person's most recent crisis: it stays until it expires, whatever they write meanwhile."""

    level: str  # "acute" or "distress"
    since: datetime  # the last risk message
    messages_since: int = 0
    checked_in: bool = False


class UserStore(Protocol):
    def language(self, user_key: str) -> str | None: ...

    def set_language(self, user_key: str, language: str) -> None: ...

    def residence(self, user_key: str) -> str | None: ...

    def set_residence(self, user_key: str, residence: str) -> None: ...

    def crisis(self, user_key: str) -> CrisisState | None: ...

    def set_crisis(self, user_key: str, state: CrisisState | None) -> None: ...


class MemoryUserStore:
    """Keeps preferences for the life of the process (the terminal chat)."""

    def __init__(self) -> None:
        self._languages: dict[str, str] = {}
        self._residences: dict[str, str] = {}
        self._crises: dict[str, CrisisState] = {}

    def language(self, user_key: str) -> str | None:
        return self._languages.get(user_key)

    def set_language(self, user_key: str, language: str) -> None:
        self._languages[user_key] = language

    def residence(self, user_key: str) -> str | None:
        return self._residences.get(user_key)

    def set_residence(self, user_key: str, residence: str) -> None:
        self._residences[user_key] = residence

    def crisis(self, user_key: str) -> CrisisState | None:
        return self._crises.get(user_key)

    def set_crisis(self, user_key: str, state: CrisisState | None) -> None:
        if state is None:
            self._crises.pop(user_key, None)
        else:
            self._crises[user_key] = state
