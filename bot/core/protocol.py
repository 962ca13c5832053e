"""The contract between the actions and the front end: what an action asks of the front end.

Rasa cannot reach the database's records or the Telegram chat, so an action that needs the front
end sends a JSON payload in its reply (`dispatcher.utter_message(json_message=...)`); it reaches the
front end as the `custom` field of a REST-channel message. Both sides build and read those payloads
only through this module, so a key cannot drift between them.

- `set_language`: the person chose a language (`ActionChangeLanguage`); the front end stores it.
- `safety_level`: Rasa's risk intents heard risk (`ActionFlagRisk`); the front end answers.
- `front_end`: a request (Request) the front end carries out; `store_booking` comes with `booking`.
- `not_understood`: the model did not understand the message (`ActionHandleFallback`); after a
  crisis the front end answers warmly instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, TypedDict

SET_LANGUAGE = "set_language"
SAFETY_LEVEL = "safety_level"
FRONT_END = "front_end"
BOOKING = "booking"
NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True)
class Button:
    """A button under a message: its title, and the payload sent back when it is pressed."""

    title: str
    payload: str


class Request(str, Enum):
    """What an action can ask the front end to do; each has an action named `action_<value>`."""

    REQUEST_HUMAN = "request_human"  # open an escalation: the person asked for a person
    REQUEST_ERASURE = "request_erasure"  # ask whether to erase the person's data
    STORE_BOOKING = "store_booking"  # store a completed request for a talk (with `booking`)


class BookingAnswers(TypedDict):
    """A completed booking form, as the coordinators will read it."""

    session_language: str
    times: str
    contact: Literal["chat", "other"]


def language_chosen(language: str) -> dict[str, Any]:
    return {SET_LANGUAGE: language}


def risk_heard(level: str) -> dict[str, Any]:
    return {SAFETY_LEVEL: level}


def request(what: Request) -> dict[str, Any]:
    return {FRONT_END: what.value}


def not_understood() -> dict[str, Any]:
    return {NOT_UNDERSTOOD: True}


def store_booking(answers: BookingAnswers) -> dict[str, Any]:
    return {FRONT_END: Request.STORE_BOOKING.value, BOOKING: dict(answers)}


@dataclass(frozen=True)
class FrontEndPayloads:
    """What one answer of Rasa asks of the front end (the first of each kind counts)."""

    language: str | None = None
    safety_level: str | None = None
    request: Request | None = None
    booking: BookingAnswers | None = None
    not_understood: bool = False


def read(customs: Iterable[Mapping[str, Any]]) -> FrontEndPayloads:
    """Reads the `custom` payloads of one answer; unknown keys and malformed values are ignored."""
    language = safety_level = None
    wanted: Request | None = None
    booking: BookingAnswers | None = None
    missed = False
    for custom in customs:
        missed = missed or custom.get(NOT_UNDERSTOOD) is True
        if language is None and isinstance(custom.get(SET_LANGUAGE), str):
            language = custom[SET_LANGUAGE]
        if safety_level is None and isinstance(custom.get(SAFETY_LEVEL), str):
            safety_level = custom[SAFETY_LEVEL]
        if wanted is None and custom.get(FRONT_END) in {r.value for r in Request}:
            wanted = Request(custom[FRONT_END])
            if wanted is Request.STORE_BOOKING:
                booking = _booking(custom.get(BOOKING))
    return FrontEndPayloads(language, safety_level, wanted, booking, missed)


def _booking(data: object) -> BookingAnswers:
    data = data if isinstance(data, Mapping) else {}
    return BookingAnswers(
        session_language=str(data.get("session_language") or "?"),
        times=str(data.get("times") or "?"),
        contact="other" if data.get("contact") == "other" else "chat",
    )
