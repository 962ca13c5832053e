"""What the front end remembers about a person: their language and where they live (for the GP route)."""

from __future__ import annotations

from typing import Protocol


class UserStore(Protocol):
    def language(self, user_key: str) -> str | None: ...

    def set_language(self, user_key: str, language: str) -> None: ...

    def residence(self, user_key: str) -> str | None: ...

    def set_residence(self, user_key: str, residence: str) -> None: ...


class MemoryUserStore:
    """Keeps preferences for the life of the process (the terminal chat)."""

    def __init__(self) -> None:
        self._languages: dict[str, str] = {}
        self._residences: dict[str, str] = {}

    def language(self, user_key: str) -> str | None:
        return self._languages.get(user_key)

    def set_language(self, user_key: str, language: str) -> None:
        self._languages[user_key] = language

    def residence(self, user_key: str) -> str | None:
        return self._residences.get(user_key)

    def set_residence(self, user_key: str, residence: str) -> None:
        self._residences[user_key] = residence
