"""The database, on SQLite and on a throwaway PostgreSQL: migrations, what survives a restart,
the escalation log's states, erasure and retention."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect, select, text, update

from bot.rasa_plugins.tracker_store import tracker_store_config
from bot.storage.bookings import BookingLog
from bot.storage.db import Database, migrate
from bot.storage.escalations import EscalationLog
from bot.storage.models import AuditEntry, Escalation, EscalationEvent, User
from bot.storage.privacy import Privacy
from bot.storage.users import CrisisState, SqlUserStore


def test_migrations_create_every_table_and_running_them_twice_changes_nothing(database_url):
    migrate(database_url)
    database = Database(database_url)
    tables = set(inspect(database.engine).get_table_names())
    assert {"users", "escalations", "escalation_events", "audit", "alembic_version"} <= tables
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_language_residence_and_crisis_survive_a_restart(database_url):
    store = SqlUserStore(Database(database_url))
    since = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
    store.set_language("telegram-a", "fa")
    store.set_residence("telegram-a", "azc")
    store.set_crisis("telegram-a", CrisisState("acute", since, messages_since=2, checked_in=False))

    restarted = SqlUserStore(Database(database_url))
    assert restarted.language("telegram-a") == "fa"
    assert restarted.residence("telegram-a") == "azc"
    assert restarted.crisis("telegram-a") == CrisisState("acute", since, 2, False)
    assert restarted.language("telegram-nobody") is None
    restarted.set_crisis("telegram-a", None)
    assert restarted.crisis("telegram-a") is None


def test_an_escalation_goes_open_claimed_resolved_with_who_and_when(database_url):
    log = EscalationLog(Database(database_url))
    first, created = log.record("telegram-a", "distress", ("panic",), "ar", None, 5001, "I cannot stop shaking")
    assert created and first.status == "open" and first.chat_id == 5001
    again, created = log.record("telegram-a", "acute", ("suicidal_thoughts",), "ar", "azc", 5001, "I want to die")
    assert not created and again.id == first.id
    assert again.level == "acute", "a more urgent message raises the level"
    assert again.categories == ("panic", "suicidal_thoughts")
    assert again.excerpt.split("\n") == ["I cannot stop shaking", "I want to die"]

    assert log.claim(first.id, "coordinator-1")
    assert not log.claim(first.id, "coordinator-2"), "a claimed escalation cannot be claimed again"
    assert log.add_note(first.id, "coordinator-1", "Called 113 together")
    assert log.resolve(first.id, "coordinator-1")
    closed = log.get(first.id)
    assert closed.status == "resolved" and closed.claimed_by == "coordinator-1"
    assert closed.chat_id is None and closed.excerpt == "", "contact and messages go when it closes"
    history = log.history(first.id)
    assert [event.kind for event in history] == ["created", "acute", "claimed", "note", "resolved"]
    assert history[2].actor == "coordinator-1" and history[3].note == "Called 113 together"
    assert all(event.at.tzinfo is not None for event in history)


def test_two_coordinators_claiming_at_once_exactly_one_wins(database_url):
    log = EscalationLog(Database(database_url))

    def claim(escalation_id: int, who: str, barrier: threading.Barrier, results: list[bool]) -> None:
        other = EscalationLog(Database(database_url))  # each coordinator's press on its own connection
        barrier.wait()
        results.append(other.claim(escalation_id, who))

    for person in range(5):
        view, _ = log.record(f"telegram-{person}", "acute", ("plan",), "en", None, 1, None)
        results: list[bool] = []
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=claim, args=(view.id, who, barrier, results))
            for who in ("coordinator-a", "coordinator-b")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [False, True]
        assert len([e for e in log.history(view.id) if e.kind == "claimed"]) == 1


def save_rasa_conversation(
    database_url: str, sender: str, age: timedelta = timedelta(0), last_age: timedelta | None = None
) -> None:
    """A conversation stored by Rasa's own SQL tracker store, as the Rasa server does: a message
    `age` ago and the bot's answer `last_age` ago (the same moment unless given)."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    config = tracker_store_config(database_url)
    config.pop("type")
    store = SQLTrackerStore(Domain.empty(), host=config.pop("url", None), **config)
    when = (datetime.now(timezone.utc) - age).timestamp()
    last = (datetime.now(timezone.utc) - last_age).timestamp() if last_age is not None else when
    tracker = DialogueStateTracker.from_events(
        sender, [UserUttered("I cannot sleep", timestamp=when), BotUttered("Here are some ideas", timestamp=last)]
    )
    asyncio.run(store.save(tracker))
    store.engine.dispose()


def rasa_event_count(database: Database, sender: str) -> int:
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar()


def test_erasing_a_person_deletes_profile_conversation_and_their_link_to_escalations(database_url):
    database = Database(database_url)
    users, log = SqlUserStore(database), EscalationLog(database)
    users.set_language("telegram-erase", "uk")
    users.set_crisis("telegram-erase", CrisisState("distress", datetime.now(timezone.utc)))
    view, _ = log.record("telegram-erase", "distress", ("panic",), "uk", None, 77, "help")
    save_rasa_conversation(database_url, "telegram-erase")
    save_rasa_conversation(database_url, "telegram-other")

    privacy = Privacy(database, users, log, BookingLog(database))
    deleted = privacy.erase("telegram-erase")

    assert set(deleted) == {"profile", "crisis", "conversation", "escalations"}
    assert users.language("telegram-erase") is None and users.crisis("telegram-erase") is None
    assert rasa_event_count(database, "telegram-erase") == 0
    assert rasa_event_count(database, "telegram-other") > 0, "nobody else's conversation is touched"
    kept = log.get(view.id)
    assert kept.user_key is None and kept.chat_id is None and kept.excerpt == ""
    assert kept.level == "distress", "the programme's pseudonymous record stays"
    assert Privacy(database, users, log, BookingLog(database)).erase("telegram-erase") == [], (
        "a second erasure finds nothing"
    )


def test_the_purge_deletes_only_what_is_past_its_retention(database_url):
    database = Database(database_url)
    users, log = SqlUserStore(database), EscalationLog(database)
    save_rasa_conversation(database_url, "telegram-old", age=timedelta(days=40))
    save_rasa_conversation(database_url, "telegram-new", age=timedelta(days=1))
    users.set_language("telegram-old", "nl")
    users.set_language("telegram-new", "nl")
    old, _ = log.record("telegram-old", "acute", (), "nl", None, 1, None)
    log.resolve(old.id, "coordinator")
    still_open, _ = log.record("telegram-older", "acute", (), "nl", None, 2, None)
    long_ago = datetime.now(timezone.utc) - timedelta(days=400)
    with database.session() as session:
        session.execute(update(User).where(User.key == "telegram-old").values(last_seen=long_ago))
        session.execute(update(Escalation).values(updated_at=long_ago, created_at=long_ago))

    report = Privacy(database, users, log, BookingLog(database)).purge(timedelta(days=30), timedelta(days=365))

    assert rasa_event_count(database, "telegram-old") == 0 and rasa_event_count(database, "telegram-new") > 0
    assert users.language("telegram-old") is None and users.language("telegram-new") == "nl"
    assert log.get(old.id) is None, "closed escalations go after their own retention period"
    assert log.get(still_open.id) is not None, "an open escalation is never purged"
    assert (report.users, report.escalations) == (1, 1) and report.conversation_events >= 2


def test_a_person_who_keeps_writing_keeps_their_conversation_and_settings(database_url):
    """Retention counts from the person's last message: a conversation that began 40 days ago and
    goes on today stays whole, and reading settings (not only changing them) keeps them."""
    database = Database(database_url)
    users, log = SqlUserStore(database, keep_seconds=0), EscalationLog(database)
    save_rasa_conversation(database_url, "telegram-active", age=timedelta(days=40), last_age=timedelta(hours=1))
    users.set_language("telegram-active", "fa")
    long_ago = datetime.now(timezone.utc) - timedelta(days=40)
    with database.session() as session:
        session.execute(update(User).where(User.key == "telegram-active").values(last_seen=long_ago))

    users.seen("telegram-active")  # they wrote today; nothing about them changed
    Privacy(database, users, log, BookingLog(database)).purge(timedelta(days=30), timedelta(days=365))

    assert rasa_event_count(database, "telegram-active") == 2, "the whole conversation stays"
    assert users.language("telegram-active") == "fa"


def test_erasure_also_removes_coordinators_notes_about_the_person_and_audit_rows_naming_them(database_url):
    database = Database(database_url)
    users, log = SqlUserStore(database), EscalationLog(database)
    view, _ = log.record("telegram-noted", "acute", ("plan",), "ar", None, 78, "help")
    other, _ = log.record("telegram-someone-else", "acute", ("plan",), "ar", None, 79, "help")
    assert log.add_note(view.id, "coordinator-a", "Lives in azc Ter Apel, room 12")
    assert log.add_note(other.id, "coordinator-a", "Called back at 14:00")
    with database.session() as session:
        session.add(AuditEntry(actor="telegram-noted", action="pressed claim"))

    Privacy(database, users, log, BookingLog(database)).erase("telegram-noted")

    with database.session() as session:
        notes = session.scalars(select(EscalationEvent.note).where(EscalationEvent.kind == "note")).all()
        audit = session.scalars(select(AuditEntry.actor)).all()
    assert notes == ["Called back at 14:00"], "only the erased person's notes go"
    assert "telegram-noted" not in audit


def test_a_locked_database_does_not_block_the_crisis_reply_and_the_escalation_is_stored_later(tmp_path):
    from bot.conversation.assistant import Assistant
    from bot.conversation.rasa_client import RasaClient
    from bot.core.i18n import default_catalogs
    from bot.storage.users import SqlUserStore

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    migrate(url)
    database = Database(url, wait_seconds=0.1)
    log = EscalationLog(database)
    assistant = Assistant(RasaClient("http://127.0.0.1:9"), SqlUserStore(database), default_catalogs(), escalations=log)
    stored = []
    assistant.escalation_listeners.append(lambda view, created: stored.append(view.id))
    lock = sqlite3.connect(tmp_path / "bot.db")
    lock.execute("BEGIN EXCLUSIVE")  # another writer holds the file

    replies = asyncio.run(assistant.handle_text("telegram-locked", "I want to end my life"))

    assert replies[0].urgent and "113" in " ".join(reply.text for reply in replies)
    waiting = sorted(entry.kind for entry in assistant.outbox.entries())
    assert stored == [] and waiting == ["crisis_state", "escalation"], "both wait while the file is locked"
    lock.rollback()
    lock.close()
    assistant.retry_unsaved()
    assert len(stored) == 1 and len(assistant.outbox) == 0
    assert log.get(stored[0]).level == "acute"
