"""The outbox: what a real database refused (a SQLite file held locked by another connection) waits
in a journal file in RUN_DIR, is stored exactly once when the database is back, by the outbox's own
retry task or by the next process, and the coordinators are told once."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.conversation.assistant import Assistant
from bot.conversation.outbox import FILE_NAME, Entry, Outbox, keep_replaying
from bot.conversation.rasa_client import RasaClient
from bot.core import language_id
from bot.core.i18n import default_catalogs
from bot.storage.bookings import BookingLog
from bot.storage.db import Database, migrate
from bot.storage.escalations import EscalationLog
from bot.storage.models import Booking, Escalation, EscalationEvent, StoredRecord
from bot.storage.users import SqlUserStore

PERSON = "telegram-locked"
CRISIS = "I want to end my life"


@dataclass
class Bot:
    """One front-end process: a real SqlUserStore, escalation log and booking log on one file."""

    assistant: Assistant
    database: Database
    alerts: list[tuple[int, bool]] = field(default_factory=list)
    bookings: list[tuple[int, bool]] = field(default_factory=list)

    def count(self, table) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).select_from(table))


def start_bot(db_file: Path, run_dir: Path) -> Bot:
    """As `python -m bot run` wires it: the outbox in RUN_DIR, the hand-off as a listener, and the
    language models loaded before the first message."""
    language_id.warm_up()
    database = Database(f"sqlite:///{db_file}", wait_seconds=0.2)
    assistant = Assistant(
        RasaClient("http://127.0.0.1:9"),
        SqlUserStore(database),
        default_catalogs(),
        escalations=EscalationLog(database),
        bookings=BookingLog(database),
        outbox=Outbox(run_dir / FILE_NAME),
    )
    bot = Bot(assistant, database)
    assistant.escalation_listeners.append(lambda view, created: bot.alerts.append((view.id, created)))
    assistant.booking_listeners.append(lambda view, late: bot.bookings.append((view.id, late)))
    return bot


def journal(run_dir: Path) -> list[dict]:
    path = run_dir / FILE_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "bot.db"
    migrate(f"sqlite:///{path}")
    return path


class Lock:
    """Another process's writer holding the SQLite file (after the bot opened it, in WAL mode)."""

    def __init__(self, db_file: Path) -> None:
        self.connection = sqlite3.connect(db_file)
        self.connection.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


async def crisis_while_locked(bot: Bot, db_file: Path) -> tuple[list, float, Lock]:
    bot.assistant.language(PERSON)  # the bot has the file open (WAL) before the other writer locks it
    lock = Lock(db_file)
    started = time.monotonic()
    replies = await bot.assistant.handle_text(PERSON, CRISIS)
    return replies, time.monotonic() - started, lock


def test_a_crisis_while_the_database_is_locked_is_answered_at_once_and_stored_once_by_the_retry_task(
    db_file: Path, tmp_path: Path
):
    run_dir = tmp_path / "run"
    bot = start_bot(db_file, run_dir)

    async def scenario() -> None:
        replies, elapsed, lock = await crisis_while_locked(bot, db_file)
        try:
            assert replies[0].urgent and "113" in "\n".join(reply.text for reply in replies)
            assert elapsed < 1.5, f"the crisis reply waited {elapsed:.2f} s (one 0.2 s driver timeout at most)"
            waiting = journal(run_dir)
            assert sorted(record["kind"] for record in waiting) == ["crisis_state", "escalation"]
            assert all(record["record"]["user_key"] == PERSON for record in waiting)
            assert len({record["id"] for record in waiting}) == 2, "each record has its own id"
            assert stat.S_IMODE((run_dir / FILE_NAME).stat().st_mode) == 0o600
            assert bot.alerts == [] and bot.count(Escalation) == 0
            assert bot.assistant.retry_unsaved() == 0 and len(journal(run_dir)) == 2, "kept while locked"
        finally:
            lock.release()
        task = asyncio.create_task(keep_replaying(bot.assistant.retry_unsaved, every=0.05))
        try:
            for _ in range(100):
                if bot.alerts:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # several more rounds of the retry task
        finally:
            task.cancel()

    asyncio.run(scenario())
    assert len(bot.alerts) == 1 and bot.alerts[0][1] is True, "the hand-off is told once, as a new escalation"
    assert bot.count(Escalation) == 1 and bot.count(EscalationEvent) == 1, "stored exactly once"
    assert bot.count(StoredRecord) == 1
    escalation = bot.assistant.escalations.get(bot.alerts[0][0])
    assert escalation.level == "acute" and escalation.excerpt == CRISIS
    state = bot.assistant.users.crisis(PERSON)
    assert state is not None and state.level == "acute", "the crisis state was replayed too"
    assert journal(run_dir) == [] and len(bot.assistant.outbox) == 0
    asyncio.run(bot.assistant.rasa.close())


def test_a_new_process_on_the_same_run_dir_replays_what_the_last_one_left(db_file: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    first = start_bot(db_file, run_dir)
    _, _, lock = asyncio.run(crisis_while_locked(first, db_file))
    lock.release()
    assert len(journal(run_dir)) == 2  # the process ends here (as after kill -9): nothing else is written
    asyncio.run(first.assistant.rasa.close())

    second = start_bot(db_file, run_dir)
    assert len(second.assistant.outbox) == 2, "read back at start"

    async def first_round() -> None:
        task = asyncio.create_task(keep_replaying(second.assistant.retry_unsaved, every=60))
        await asyncio.sleep(0.2)  # the task replays at once, not only after its interval
        task.cancel()

    asyncio.run(first_round())
    assert len(second.alerts) == 1 and second.count(Escalation) == 1
    assert second.assistant.users.crisis(PERSON).level == "acute"
    assert journal(run_dir) == []

    third = start_bot(db_file, run_dir)
    assert third.assistant.retry_unsaved() == 0 and third.alerts == [] and third.count(Escalation) == 1
    for bot in (second, third):
        asyncio.run(bot.assistant.rasa.close())


def test_a_record_stored_just_before_a_crash_is_not_stored_again(db_file: Path, tmp_path: Path):
    """Killed after the database took a replayed record but before the journal was rewritten."""
    run_dir = tmp_path / "run"
    first = start_bot(db_file, run_dir)
    record = {
        "user_key": PERSON,
        "language": "en",
        "session_language": "English",
        "times": "weekends",
        "contact": "chat",
        "chat_id": 42,
    }
    escalation = {
        "user_key": PERSON,
        "level": "acute",
        "categories": ["suicidal_thoughts"],
        "language": "en",
        "residence": None,
        "chat_id": 42,
        "message": CRISIS,
    }
    for entry in (Entry.new("booking request", record), Entry.new("escalation", escalation)):
        first.assistant.outbox.add(entry)
        first.assistant.records._store(entry)  # stored, then the process dies: the journal still holds it
    assert len(journal(run_dir)) == 2

    second = start_bot(db_file, run_dir)
    assert second.assistant.retry_unsaved() == 0
    assert second.count(Booking) == 1 and second.count(Escalation) == 1 and second.count(EscalationEvent) == 1
    assert second.bookings == [] and second.alerts == [], "nothing new was stored, so nobody is told again"
    assert journal(run_dir) == []


def test_a_booking_request_refused_by_a_locked_database_is_stored_later_and_the_person_told(
    db_file: Path, tmp_path: Path
):
    run_dir = tmp_path / "run"
    bot = start_bot(db_file, run_dir)
    bot.assistant.language(PERSON)
    lock = Lock(db_file)
    try:
        answers = {"session_language": "English (en)", "times": "weekends", "contact": "chat"}
        [reply] = asyncio.run(bot.assistant.store_booking(PERSON, answers))
        assert reply.text.startswith("I could not save your request yet")
        assert [record["kind"] for record in journal(run_dir)] == ["booking request"]
    finally:
        lock.release()
    assert bot.assistant.retry_unsaved() == 1 and bot.assistant.retry_unsaved() == 0
    assert len(bot.bookings) == 1 and bot.bookings[0][1] is True, "late: the hand-off tells the person"
    assert bot.count(Booking) == 1 and journal(run_dir) == []
    asyncio.run(bot.assistant.rasa.close())


def test_a_line_cut_short_by_a_crash_is_dropped_and_the_journal_stays_usable(tmp_path: Path):
    path = tmp_path / "run" / FILE_NAME
    outbox = Outbox(path)
    outbox.add(Entry.new("escalation", {"user_key": "a"}))
    outbox.add(Entry.new("crisis_state", {"user_key": "b", "level": "acute", "since": "2026-11-01T12:00:00+00:00"}))
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "c", "kind": "escal')  # killed in the middle of a write

    reopened = Outbox(path)
    assert [entry.record["user_key"] for entry in reopened.entries()] == ["a", "b"]
    assert path.read_text(encoding="utf-8").endswith("\n")
    reopened.add(Entry.new("booking request", {"user_key": "d"}))
    reopened.remove([reopened.entries()[0].id])
    assert [entry.record["user_key"] for entry in Outbox(path).entries()] == ["b", "d"]
    assert not path.with_name(FILE_NAME + ".tmp").exists()


def test_erasing_ones_data_also_drops_what_waits_in_the_outbox(db_file: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    bot = start_bot(db_file, run_dir)
    bot.assistant.eraser = lambda user_key: ["profile"]  # the database part is tested in test_privacy

    async def scenario() -> None:
        _, _, lock = await crisis_while_locked(bot, db_file)
        try:
            await bot.assistant.records.settled()  # the store right after the reply: refused
            assert len(journal(run_dir)) == 2
            await bot.assistant.handle_text(PERSON, "/erase_confirmed")
        finally:
            lock.release()

    asyncio.run(scenario())
    assert journal(run_dir) == [], "nothing of the person is stored later from the outbox"
    assert bot.assistant.retry_unsaved() == 0 and bot.count(Escalation) == 0


PERSIAN_CRISIS = "میخوام بمیرم"
PERSIAN_HELLO = "سلام"


def trouble_in(language: str) -> str:
    return default_catalogs().pgettext(language, "bot", "I am having trouble right now. Please try again in a moment.")


def test_after_a_crisis_while_the_database_is_locked_the_next_answer_stays_in_the_persons_language(
    db_file: Path, tmp_path: Path
):
    bot = start_bot(db_file, tmp_path / "run")

    async def scenario() -> list:
        bot.assistant.language(PERSON)
        lock = Lock(db_file)
        try:
            crisis = await bot.assistant.handle_text(PERSON, PERSIAN_CRISIS)
            assert crisis[0].urgent and crisis[0].language == "fa"
            return await bot.assistant.handle_text(PERSON, PERSIAN_HELLO)  # Rasa is down too
        finally:
            lock.release()
            await bot.assistant.rasa.close()

    replies = asyncio.run(scenario())
    assert [reply.text for reply in replies] == [trouble_in("fa")]


def test_a_crisis_reply_teaches_the_bot_the_persons_language_before_the_database_has_it(db_file: Path, tmp_path: Path):
    """A greeting that could be Arabic or Persian, after a Persian crisis message: answered in Persian
    (Rasa is down, so the answer is the apology), and Persian is stored as the person's language."""
    bot = start_bot(db_file, tmp_path / "run")

    async def scenario() -> list:
        try:
            await bot.assistant.handle_text(PERSON, PERSIAN_CRISIS)
            await bot.assistant.records.settled()  # the escalation stored: it does not hold the language
            assert bot.assistant.users.language(PERSON) is None
            return await bot.assistant.handle_text(PERSON, PERSIAN_HELLO)
        finally:
            await bot.assistant.rasa.close()

    replies = asyncio.run(scenario())
    assert replies[0].text == trouble_in("fa")
    assert bot.assistant.users.language(PERSON) == "fa"
