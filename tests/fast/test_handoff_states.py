"""The hand-off's state machine with a fake messenger on a real SQLite database: what the
coordinators see in their group and what the person reads, without Telegram."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.conversation.ports import ReplyPrompt
from bot.coordinators.handoff import Coordinator, CoordinatorGroup, HandOff
from bot.coordinators.texts import ERASED, ONLY_COORDINATORS
from bot.core.i18n import default_catalogs
from bot.storage.db import Database
from bot.storage.models import AuditEntry, EscalationEvent
from tests.fast.conftest import FakeMessenger, Parts, parts_on

PERSON, CHAT = "person-1", 501
SARA, TOM, STRANGER = Coordinator(11, "Sara"), Coordinator(12, "Tom"), Coordinator(99, "Max")
CRISIS = "I have decided to end my life tonight"


@pytest.fixture
def messenger() -> FakeMessenger:
    return FakeMessenger()


@pytest.fixture
def handoff(parts: Parts, messenger: FakeMessenger) -> HandOff:
    group = CoordinatorGroup(chat_id=-100, user_ids=frozenset({SARA.user_id, TOM.user_id}))
    return HandOff(
        messenger, parts.assistant, parts.escalations, parts.bookings, default_catalogs(), group, "secret",
        timedelta(minutes=10),
    )  # fmt: skip


async def settle(*parts_with_background_work) -> None:
    """Lets the background steps finish: stores after a reply, alerts, posts, the group's clean-up."""
    for _ in range(3):
        for part in parts_with_background_work:
            await part.settled()
        await asyncio.sleep(0)


async def crisis(parts: Parts, handoff: HandOff, text: str = CRISIS) -> list[str]:
    parts.assistant.remember_chat(PERSON, CHAT)
    replies = await parts.assistant.handle_text(PERSON, text)
    await settle(parts.assistant.records, handoff)
    return [reply.text for reply in replies]


def titles(rows: list) -> list[list[str]]:
    return [[button.title for button in row] for row in rows]


def test_a_crisis_posts_an_urgent_alert_with_claim_and_resolve(parts: Parts, handoff: HandOff, messenger):
    async def scenario() -> None:
        replies = await crisis(parts, handoff)
        assert any("113" in text for text in replies), "the person gets the crisis numbers"
        assert any("coordinator" in text for text in replies), "and hears that a coordinator was told"
        [alert] = messenger.posts
        assert alert.urgent and alert.text.startswith("#1 🚨 URGENT · acute risk")
        assert CRISIS in alert.text, "the coordinator sees what the person wrote"
        assert titles(alert.buttons) == [["✋ Claim", "✅ Resolve"], ["📝 Add note"]]
        assert parts.escalations.get(1).alert_message_id == alert.message_id

    asyncio.run(scenario())


def test_claiming_connects_the_coordinator_both_ways(parts: Parts, handoff: HandOff, messenger):
    async def scenario() -> None:
        await crisis(parts, handoff)
        answer = await handoff.on_button("esc:claim:1", SARA)
        assert answer == ("#1 is yours. Reply to its messages here to write to the person.", False)
        [joined] = [reply for chat, reply in messenger.sent if chat == CHAT]
        assert joined.urgent and "has joined this chat" in joined.text
        assert handoff.is_connected(PERSON)
        _, edited, buttons = messenger.edits[-1]
        assert edited.endswith("✋ Claimed by Sara.")
        assert titles(buttons) == [["↩️ Release", "✅ Resolve"], ["📝 Add note", "🤝 Take over"]]

        assert await handoff.relay_from_person(PERSON, "are you there?")
        relayed = messenger.posts[-1]
        assert relayed.text == "#1 ▸\nare you there?"
        assert relayed.reply_to == messenger.posts[0].message_id
        assert relayed.prompt == ReplyPrompt("Reply to the person")

        await handoff.on_reply(relayed.text, "Yes, I am here with you.", SARA)
        assert messenger.texts_to(CHAT)[-1] == "🙋 Yes, I am here with you."

    asyncio.run(scenario())


def test_a_colleague_writes_to_the_person_only_after_taking_over(parts: Parts, handoff: HandOff, messenger):
    async def scenario() -> None:
        await crisis(parts, handoff)
        await handoff.on_button("esc:claim:1", SARA)
        await handoff.relay_from_person(PERSON, "hello?")
        relayed = messenger.posts[-1].text
        before = len(messenger.sent)
        await handoff.on_reply(relayed, "Tom here", TOM)
        assert len(messenger.sent) == before, "nothing reached the person"
        assert "claimed by a colleague" in messenger.posts[-1].text
        assert await handoff.on_button("esc:takeover:1", TOM) == (
            "#1 is yours now. Reply to its messages here to write to the person.",
            False,
        )
        await handoff.on_reply(relayed, "Tom here", TOM)
        assert messenger.texts_to(CHAT)[-1] == "🙋 Tom here"

    asyncio.run(scenario())


def test_someone_not_listed_cannot_claim_and_is_audited(parts: Parts, handoff: HandOff, database):
    async def scenario() -> None:
        await crisis(parts, handoff)
        assert await handoff.on_button("esc:claim:1", STRANGER) == (ONLY_COORDINATORS, True)
        assert parts.escalations.get(1).status == "open"
        assert not handoff.is_connected(PERSON)

    asyncio.run(scenario())
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_releasing_gives_the_person_back_to_the_self_help_bot(parts: Parts, handoff: HandOff, messenger):
    parts.rasa.answers("/show_menu", *[])

    async def scenario() -> None:
        await crisis(parts, handoff)
        await handoff.on_button("esc:claim:1", SARA)
        assert await handoff.on_button("esc:release:1", SARA) == ("#1 is open again.", False)
        assert not handoff.is_connected(PERSON)
        assert "left the chat" in messenger.texts_to(CHAT)[-1]
        assert parts.escalations.get(1).status == "open"
        assert not await handoff.relay_from_person(PERSON, "hi"), "the bot answers the person again"

    asyncio.run(scenario())


def test_resolving_twice_is_refused_kindly(parts: Parts, handoff: HandOff):
    async def scenario() -> None:
        await crisis(parts, handoff)
        assert await handoff.on_button("esc:resolve:1", SARA) == ("#1 is resolved.", False)
        assert await handoff.on_button("esc:resolve:1", TOM) == ("⚠️ #1 is already closed.", True)

    asyncio.run(scenario())


def test_an_alert_telegram_refused_is_posted_by_the_timer(parts: Parts, handoff: HandOff, messenger):
    async def scenario() -> None:
        messenger.refuse_posts = True
        await crisis(parts, handoff)
        assert messenger.posts == [] and parts.escalations.get(1).alert_message_id is None
        messenger.refuse_posts = False
        await handoff.check_due()
        assert messenger.posts[0].text.startswith("#1 🚨 URGENT")
        assert parts.escalations.get(1).alert_message_id == messenger.posts[0].message_id

    asyncio.run(scenario())


def test_a_reminder_while_the_database_is_locked_is_posted_once_and_the_person_told_once(
    migrated_template: Path, tmp_path: Path, messenger: FakeMessenger
):
    """Another process holds the SQLite file while nobody has claimed an alert in time: the group can
    still be read, so the reminder goes out, but it cannot be recorded. It must not be posted again
    on every round of the timer, and the person hears "as soon as possible" once, after it is recorded."""
    path = tmp_path / "bot.db"
    shutil.copy(migrated_template, path)
    database = Database(f"sqlite:///{path}", wait_seconds=0.2)
    parts = parts_on(database)
    group = CoordinatorGroup(chat_id=-100, user_ids=frozenset({SARA.user_id}))
    handoff = HandOff(
        messenger, parts.assistant, parts.escalations, parts.bookings, default_catalogs(), group, "secret",
        timedelta(0),  # every alert is overdue at once
    )  # fmt: skip

    def waiting() -> list[str]:
        return [text for text in messenger.texts_to(CHAT) if "as soon as possible" in text]

    async def scenario() -> None:
        await crisis(parts, handoff)
        assert len(messenger.posts) == 1
        lock = sqlite3.connect(path)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            for _ in range(3):
                await handoff.check_due()
            [reminder] = messenger.posts[1:]
            assert reminder.text.startswith("#1 🚨 URGENT") and "OVERDUE" in reminder.text
            assert waiting() == [], "the person is told once the reminder is recorded"
        finally:
            lock.rollback()
            lock.close()
        for _ in range(3):
            await handoff.check_due()
        assert len(messenger.posts) == 2, "the reminder was not posted again"
        assert len(waiting()) == 1
        with database.session() as session:
            kinds = session.scalars(select(EscalationEvent.kind).where(EscalationEvent.escalation_id == 1)).all()
        assert kinds.count("reminded") == 1

    try:
        asyncio.run(scenario())
    finally:
        database.dispose()


@pytest.mark.parametrize("telegram_deletes", [True, False])
def test_erasure_clears_the_persons_words_from_the_group(parts: Parts, handoff: HandOff, messenger, telegram_deletes):
    async def scenario() -> None:
        await crisis(parts, handoff)
        await handoff.on_button("esc:claim:1", SARA)
        await handoff.relay_from_person(PERSON, "my words")
        relayed = messenger.posts[-1].message_id
        messenger.refuse_deletes = not telegram_deletes
        await parts.assistant.handle_text(PERSON, "/erase_confirmed")
        await settle(parts.assistant.records, handoff)
        if telegram_deletes:
            assert relayed in messenger.deleted
        else:
            assert (relayed, ERASED, []) in messenger.edits, "what cannot be deleted is overwritten"
        alert_now = messenger.edits[-1][1]
        assert CRISIS not in alert_now and "my words" not in alert_now
        assert not handoff.is_connected(PERSON)

    asyncio.run(scenario())


def test_a_booking_request_is_posted_and_its_status_reaches_the_person(parts: Parts, handoff: HandOff, messenger):
    async def scenario() -> None:
        parts.assistant.remember_chat(PERSON, CHAT)
        answers = {"session_language": "العربية (ar)", "times": "mornings", "contact": "chat"}
        [reply] = await parts.assistant.store_booking(PERSON, answers)  # type: ignore[arg-type]
        assert "saved and sent to the coordinators" in reply.text
        await settle(parts.assistant.records, handoff)
        [request] = messenger.posts
        assert (
            request.text.startswith("B1 📅 Request for a talk · requested")
            and "Days and times: mornings" in request.text
        )
        assert titles(request.buttons) == [["🗓️ Scheduled", "✅ Done", "✖️ Cancelled"]]
        assert await handoff.on_button("book:scheduled:1", SARA) == ("B1 is scheduled.", False)
        assert "being planned" in messenger.texts_to(CHAT)[-1]

    asyncio.run(scenario())


def test_coordinators_read_the_log_in_the_group(parts: Parts, handoff: HandOff, messenger):
    async def scenario() -> None:
        await crisis(parts, handoff)
        await handoff.on_command("/escalations", [], SARA)
        assert messenger.posts[-1].text.startswith("Escalations (open):\n#1 · open · acute risk · en")
        await handoff.on_command("/escalation", ["#1"], SARA)
        assert "created" in messenger.posts[-1].text
        await handoff.on_command("/escalations", [], STRANGER)
        assert messenger.posts[-1].text == ONLY_COORDINATORS

    asyncio.run(scenario())


def test_the_coordinators_are_told_once_at_start_when_crisis_texts_would_show_in_english(
    parts: Parts, messenger: FakeMessenger, tmp_path
):
    """A crisis text changed in English but not yet in Persian: Persian readers see the English
    text with the right numbers, and the coordinators hear of it."""
    import shutil

    from bot.core.i18n import Catalogs
    from tests.helpers import ROOT

    locales = tmp_path / "locales"
    shutil.copytree(ROOT / "locales", locales)
    (locales / "fa" / "LC_MESSAGES" / "messages.mo").unlink()
    group = CoordinatorGroup(chat_id=-100, user_ids=frozenset({SARA.user_id}))

    async def start(catalogs: Catalogs) -> list[str]:
        messenger.posts.clear()
        handoff = HandOff(
            messenger, parts.assistant, parts.escalations, parts.bookings, catalogs, group, "s", timedelta(minutes=10)
        )
        handoff.start()
        await settle(handoff)
        await handoff.stop()
        return [post.text for post in messenger.posts]

    assert not any("not translated" in text for text in asyncio.run(start(default_catalogs())))
    [notice] = [text for text in asyncio.run(start(Catalogs(locales))) if "not translated" in text]
    assert "fa (" in notice and "uk" not in notice
