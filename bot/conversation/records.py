"""What the coordinators need stored, and what must outlive a database failure: escalations,
booking requests and people's crisis states.

Each is stored at once in its own transaction. When the database refuses, or records it refused
earlier still wait, it goes to the outbox (a journal file, bot/conversation/outbox.py) and
retry_unsaved() stores it later, oldest first. The listeners (the hand-off) hear of each record
once it is stored: an escalation with whether it is new, a booking request with whether it is late.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum

from bot.conversation.outbox import AlreadyStored, Entry, Outbox, unavailable
from bot.core.safety import Level
from bot.storage.bookings import BookingLog, BookingView
from bot.storage.db import DatabaseError, off_the_loop
from bot.storage.escalations import EscalationLog, EscalationView
from bot.storage.users import CrisisState, UserStore

log = logging.getLogger(__name__)

#: A crisis is kept in mind this long after the last risk message.
CRISIS_MEMORY = timedelta(hours=24)


#: What _store_or_keep returns for a record that waits in the outbox.
KEPT = object()


class RecordKind(str, Enum):
    """The kinds of record; the values are written into the outbox's journal."""

    ESCALATION = "escalation"
    BOOKING = "booking request"
    CRISIS_STATE = "crisis_state"


#: Someone needs a coordinator: the escalation as stored, and whether it is new.
EscalationListener = Callable[[EscalationView, bool], None]
#: A booking request was stored; `late` when the database refused it at first.
BookingListener = Callable[[BookingView, bool], None]


class Records:
    def __init__(
        self,
        users: UserStore,
        escalations: EscalationLog | None = None,
        bookings: BookingLog | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.users = users
        self.escalations = escalations
        self.bookings = bookings
        #: Without a journal file (tests, tools) waiting records are kept in memory.
        self.outbox = outbox if outbox is not None else Outbox()
        self.escalation_listeners: list[EscalationListener] = []
        self.booking_listeners: list[BookingListener] = []
        self._replay_lock = threading.Lock()
        #: The database refused as a whole at the last try: new records queue up behind the waiting ones.
        self._refusing = False
        self._tasks: set[asyncio.Task] = set()

    def keep(self, kind: RecordKind, record: dict) -> None:
        """Puts a record in the outbox's journal (on disk before this returns); replay() stores it.
        The crisis path uses this, so that its reply never waits for the database."""
        try:
            self.outbox.add(Entry.new(kind.value, record))
        except (TypeError, ValueError) as error:  # not JSON: a programming error, never silent
            log.error("A %s could not be put in the outbox (%s)", kind.value, error)

    async def save(self, kind: RecordKind, record: dict) -> bool:
        """Stores a record in a worker thread, then tells the listeners here; True once stored. When
        the database refuses, or refused at the last try (it is not waited for again), the record
        goes to the outbox and replay() stores it later."""
        entry = Entry.new(kind.value, record)
        stored = await off_the_loop(self._store_or_keep, entry)
        if stored is KEPT:
            return False
        self._tell(entry, stored, late=False)
        return True

    def _store_or_keep(self, entry: Entry) -> object:
        """What the database stored for the entry, or KEPT when it waits in the outbox instead. A
        database that just refused as a whole is not waited for again: the record joins the queue."""
        if not self._refusing:
            try:
                return self._store(entry)
            except (DatabaseError, AlreadyStored) as error:
                self._refusing = isinstance(error, DatabaseError) and unavailable(error)
                log.error("Could not store a %s (%s); it waits in the outbox", entry.kind, type(error).__name__)
        try:
            self.outbox.add(entry)
        except (TypeError, ValueError) as error:  # not JSON: a programming error, never silent
            log.error("A %s could not be put in the outbox (%s)", entry.kind, error)
        return KEPT

    def _store(self, entry: Entry) -> object:
        """Stores one record in its own transaction with its id; raises DatabaseError or AlreadyStored."""
        record = entry.record
        if entry.kind == RecordKind.ESCALATION:
            assert self.escalations is not None
            return self.escalations.record(**record, record_id=entry.id)
        if entry.kind == RecordKind.BOOKING:
            assert self.bookings is not None
            return self.bookings.add(**record, record_id=entry.id)
        if entry.kind == RecordKind.CRISIS_STATE:
            return self._store_crisis_state(record)
        raise ValueError(f"unknown outbox record kind {entry.kind!r}")

    def _store_crisis_state(self, record: dict) -> None:
        """Stores a crisis state unless the database holds this one or a newer one already; keeps
        an acute level that is still remembered."""
        user_key, since = record["user_key"], datetime.fromisoformat(record["since"])
        current = self.users.crisis(user_key)
        if current is not None and current.since >= since:
            raise AlreadyStored(user_key)
        acute = record["level"] == Level.ACUTE.value or (
            current is not None and current.level == Level.ACUTE.value and since - current.since <= CRISIS_MEMORY
        )
        level = Level.ACUTE.value if acute else record["level"]
        self.users.set_crisis(user_key, CrisisState(level=level, since=since))

    def _tell(self, entry: Entry, stored: object, late: bool) -> None:
        """Tells the listeners about a record just stored (the hand-off alerts the coordinators)."""
        try:
            if entry.kind == RecordKind.ESCALATION:
                view, created = stored  # type: ignore[misc]
                for listener in self.escalation_listeners:
                    listener(view, created)
            elif entry.kind == RecordKind.BOOKING:
                for booking_listener in self.booking_listeners:
                    booking_listener(stored, late)  # type: ignore[arg-type]
        except Exception:
            log.exception("A listener failed on a stored %s", entry.kind)

    def retry_unsaved(self) -> int:
        """Stores what waits in the outbox, in the caller's thread (tools and tests; the bot itself
        uses replay()); returns how many records were stored."""
        stored = self._store_waiting()
        self._tell_late(stored)
        return len(stored)

    async def replay(self) -> int:
        """Stores what waits in the outbox in a worker thread, then tells the listeners here; returns
        how many records were stored. Run by the outbox's retry task (at start and every few
        seconds), by the hand-off's timer, and right after a crisis reply (replay_soon)."""
        stored = await off_the_loop(self._store_waiting)
        self._tell_late(stored)
        return len(stored)

    def replay_soon(self) -> None:
        """Stores what waits in the background, while the caller goes on (sends the crisis reply)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.replay())
        self._tasks.add(task)
        task.add_done_callback(self._replayed)

    def _replayed(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Storing what waits in the outbox failed", exc_info=task.exception())

    async def settled(self) -> None:
        """Waits for the background stores replay_soon started (tests, and a clean stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _store_waiting(self) -> list[tuple[Entry, object]]:
        """Stores the waiting records, oldest first, and drops each from the journal once stored.
        Stops when the database refuses as a whole; a record refused on its own holds back only the
        same person's later records. One replay at a time, whichever thread asks."""
        with self._replay_lock:
            stored: list[tuple[Entry, object]] = []
            done: list[str] = []
            held: set[object] = set()
            for entry in self.outbox.entries():
                person = entry.record.get("user_key")
                if person in held:
                    continue
                try:
                    result = self._store(entry)
                except AlreadyStored:
                    done.append(entry.id)  # stored before a crash, or a newer crisis state is there
                    continue
                except DatabaseError as error:
                    if unavailable(error):
                        self._refusing = True
                        break
                    log.error("Could not store a waiting %s (%s); will retry", entry.kind, type(error).__name__)
                    held.add(person)
                    continue
                except (KeyError, TypeError, ValueError) as error:
                    log.error("A waiting %s cannot be stored (%s); it stays in the outbox", entry.kind, error)
                    held.add(person)
                    continue
                stored.append((entry, result))
                done.append(entry.id)
            else:
                self._refusing = False
            try:
                self.outbox.remove(done)
            except OSError as error:  # the stored ones are found stored next time
                log.error("Could not rewrite the outbox file (%s)", type(error).__name__)
            return stored

    def _tell_late(self, stored: list[tuple[Entry, object]]) -> None:
        for entry, result in stored:
            self._tell(entry, result, late=True)

    def forget(self, user_key: str) -> None:
        """Erasure reaches the records that wait in the outbox too."""
        waiting = [entry.id for entry in self.outbox.entries() if entry.record.get("user_key") == user_key]
        if waiting:
            try:
                self.outbox.remove(waiting)
            except OSError as error:
                log.error("Could not drop an erased person's records from the outbox (%s)", type(error).__name__)
