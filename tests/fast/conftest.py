"""The fast tier's parts: a real SQLite database (migrated once, copied per test), a fake Rasa
that answers from a script, and a fake messenger that records what the hand-off sends."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.conversation.assistant import Assistant
from bot.conversation.ports import Keyboard, ReplyPrompt
from bot.conversation.rasa_client import BotMessage, RasaUnavailable
from bot.conversation.replies import Reply
from bot.core.i18n import default_catalogs
from bot.core.protocol import Button
from bot.storage.bookings import BookingLog
from bot.storage.db import Database, migrate
from bot.storage.escalations import EscalationLog
from bot.storage.privacy import Privacy
from bot.storage.users import SqlUserStore


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "bot.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def database(migrated_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A fresh, fully migrated SQLite database for one test."""
    path = tmp_path / "bot.db"
    shutil.copy(migrated_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


class FakeRasa:
    """Stands in for RasaClient: answers each message from `script` (text or payload → messages),
    and records what it was sent. `down` makes it fail as an unreachable server does."""

    def __init__(self) -> None:
        self.script: dict[str, list[BotMessage]] = {}
        self.sent: list[tuple[str, str, str]] = []
        self.events: list[tuple[str, dict]] = []
        self.intents: list[tuple[str, float] | None] = []  # the intent net's reading sent with each message
        self.down = False

    def answers(self, message: str, *replies: BotMessage) -> None:
        self.script[message] = list(replies)

    async def send(
        self,
        sender_id: str,
        text: str,
        language: str,
        intent: tuple[str, float] | None = None,
        entities: dict[str, str | int] | None = None,
    ) -> list[BotMessage]:
        if self.down:
            raise RasaUnavailable("ConnectError")
        self.sent.append((sender_id, text, language))
        self.intents.append(intent)
        return self.script.get(text, [BotMessage(text=f"[rasa answers {text}]")])

    async def parse(self, text: str, timeout: float = 2.0) -> dict[str, Any] | None:
        return None  # Rasa's reading is not needed: the screen's verdict stands

    async def add_event(self, sender_id: str, event: dict[str, Any]) -> bool:
        self.events.append((sender_id, event))
        return not self.down

    async def close(self) -> None:
        pass


@dataclass
class Post:
    message_id: int
    text: str
    buttons: list[list[Button]]
    prompt: ReplyPrompt | None
    urgent: bool
    reply_to: int | None


@dataclass
class FakeMessenger:
    """Records what the hand-off sends to people and posts in the coordinators' group."""

    sent: list[tuple[int, Reply]] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    edits: list[tuple[int, str, list[list[Button]]]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    pictures: list[tuple[bytes, str]] = field(default_factory=list)
    refuse_posts: bool = False
    refuse_deletes: bool = False
    refuse_pictures: bool = False
    _ids: Any = field(default_factory=lambda: itertools.count(1000))

    async def send(self, chat_id: int, replies: list[Reply]) -> None:
        self.sent.extend((chat_id, reply) for reply in replies)

    async def post(
        self,
        text: str,
        buttons: Keyboard = (),
        prompt: ReplyPrompt | None = None,
        urgent: bool = False,
        reply_to: int | None = None,
    ) -> int | None:
        if self.refuse_posts:
            return None
        post = Post(next(self._ids), text, [list(row) for row in buttons], prompt, urgent, reply_to)
        self.posts.append(post)
        return post.message_id

    async def post_picture(self, png: bytes, caption: str) -> int | None:
        if self.refuse_posts or self.refuse_pictures:
            return None
        self.pictures.append((png, caption))
        return next(self._ids)

    async def edit(self, message_id: int, text: str, buttons: Keyboard = ()) -> None:
        self.edits.append((message_id, text, [list(row) for row in buttons]))

    async def delete(self, message_id: int) -> bool:
        if self.refuse_deletes:
            return False
        self.deleted.append(message_id)
        return True

    def texts_to(self, chat_id: int) -> list[str]:
        return [reply.text for chat, reply in self.sent if chat == chat_id]


@dataclass
class Parts:
    assistant: Assistant
    rasa: FakeRasa
    users: SqlUserStore
    escalations: EscalationLog
    bookings: BookingLog


@pytest.fixture
def parts(database: Database) -> Parts:
    """The conversation on a real SQLite database, with a fake Rasa."""
    return parts_on(database)


def parts_on(database: Database) -> Parts:
    rasa = FakeRasa()
    users, escalations, bookings = SqlUserStore(database), EscalationLog(database), BookingLog(database)
    privacy = Privacy(database, users, escalations, bookings)
    assistant = Assistant(
        rasa,  # type: ignore[arg-type]
        users,
        default_catalogs(),
        escalations=escalations,
        eraser=privacy.erase,
        bookings=bookings,
    )
    return Parts(assistant, rasa, users, escalations, bookings)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
