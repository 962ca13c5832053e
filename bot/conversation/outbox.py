"""The front end's outbox: what the database refused (an escalation, a booking request, a person's
crisis state) waits in a journal file in RUN_DIR until it is stored.

One JSON object per line, each with its own id; every append is flushed and fsynced before the
caller goes on, so a record survives a crash or `kill -9`. A record leaves the journal only once
it is stored: the remaining lines are written to a temporary file, fsynced, and moved over the
journal. The database notes each record's id in the same transaction as the record (table
`stored_records`), so a record replayed after a crash between the two steps is not stored twice.
The journal can hold message excerpts: it is readable by this user only.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.storage.models import utcnow
from bot.storage.stored_records import AlreadyStored, unavailable

__all__ = ["FILE_NAME", "AlreadyStored", "Entry", "Outbox", "keep_replaying", "unavailable"]

log = logging.getLogger(__name__)

#: The journal's name in RUN_DIR.
FILE_NAME = "outbox.jsonl"
#: How often the retry task replays the outbox.
RETRY_SECONDS = 3.0


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str
    record: dict
    at: str  # when it was first refused, ISO 8601 UTC

    @classmethod
    def new(cls, kind: str, record: dict) -> Entry:
        return cls(str(uuid.uuid4()), kind, record, utcnow().isoformat())

    def to_line(self) -> str:
        data = {"id": self.id, "kind": self.kind, "at": self.at, "record": self.record}
        return json.dumps(data, ensure_ascii=False, default=_jsonable, separators=(",", ":")) + "\n"

    @classmethod
    def from_line(cls, line: str) -> Entry:
        data = json.loads(line)
        if not isinstance(data, dict) or not isinstance(data.get("record"), dict):
            raise ValueError("not an outbox record")
        return cls(str(data["id"]), str(data["kind"]), data["record"], str(data.get("at", "")))


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"cannot store a {type(value).__name__} in the outbox")


class Outbox:
    """The journal. Without a path (tests, tools) records are kept in memory only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        #: The file lacks records that only memory holds (the disk refused a write).
        self._unwritten = False
        #: The event loop adds records while a worker thread stores and removes them.
        self._lock = threading.RLock()
        self._entries: list[Entry] = self._load()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def _load(self) -> list[Entry]:
        if self.path is None or not self.path.exists():
            return []
        raw = self.path.read_text(encoding="utf-8", errors="replace")
        entries, bad = [], 0
        for line in raw.splitlines():
            if not line.strip():
                continue
            try:
                entries.append(Entry.from_line(line))
            except (ValueError, KeyError):
                bad += 1  # a line cut short by a crash while it was written: nothing was promised for it
        if bad or (raw and not raw.endswith("\n")):
            log.warning("The outbox had %d unreadable line(s); keeping the %d readable", bad, len(entries))
            try:
                self._rewrite(entries)
            except OSError as error:
                self._unwritten = True
                log.error("Could not rewrite the outbox file (%s)", type(error).__name__)
        if entries:
            log.warning("The outbox holds %d record(s) the database refused earlier; storing them", len(entries))
        return entries

    def add(self, entry: Entry) -> None:
        """Appends a record and waits until it is on disk. If the disk refuses too, the record is
        kept in memory and written with the next change that succeeds."""
        line = entry.to_line()  # fails before anything is kept if the record cannot be written
        with self._lock:
            self._append(entry, line)

    def _append(self, entry: Entry, line: str) -> None:
        self._entries.append(entry)
        if self.path is None:
            return
        try:
            if self._unwritten:
                self._rewrite(self._entries)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            if created:
                _fsync_dir(self.path.parent)
        except OSError as error:
            self._unwritten = True
            log.error("Could not write the outbox file (%s); the record waits in memory", type(error).__name__)

    def remove(self, ids: Iterable[str]) -> None:
        """Drops stored records: the rest is written to a new file that replaces the journal."""
        gone = set(ids)
        if not gone:
            return
        with self._lock:
            remaining = [entry for entry in self._entries if entry.id not in gone]
            self._rewrite(remaining)
            self._entries = remaining

    def _rewrite(self, entries: list[Entry]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(entry.to_line() for entry in entries)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        _fsync_dir(self.path.parent)
        self._unwritten = False


def _fsync_dir(directory: Path) -> None:
    """Makes a new or replaced file's name durable too."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


async def keep_replaying(replay: Callable[[], object], every: float = RETRY_SECONDS) -> None:
    """The outbox's own retry task: replays at once (what a previous run left), then every few
    seconds. `replay` is Records.replay (a coroutine), or a plain function in tests and tools."""
    while True:
        try:
            result = replay()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("Replaying the outbox failed; trying again")
        await asyncio.sleep(every)
