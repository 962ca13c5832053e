"""Benchmark: a locked database holds up neither the crisis reply nor anyone else's answer.

    .venv/bin/python -m bench.slow_database [--seconds 4]

The real conversation layer (Assistant, records, outbox journal) on a real SQLite file, with a
stand-in for Rasa that answers after 20 ms. Ten people who chatted before write everyday
messages, one every half second each (20 a second in all, within what the safety screen's model
keeps up with), while one person writes a crisis message and another sends a booking request.
Measured twice: with the database free, and while another process holds the SQLite file locked
(a write waits up to 5 s for it, as in production). Reported:

- each reply's time (p50, p95, max) for the everyday messages, and for the crisis reply;
- the event loop's longest stall: how late a 10 ms timer fired at worst. A blocking database
  call on the loop would show here as seconds.

Goals: the crisis reply under 300 ms and the others' p95 within 20% (or 10 ms) of the free
database's, while it is locked; no stall over 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bot.conversation.assistant import Assistant
from bot.conversation.outbox import FILE_NAME, Outbox
from bot.conversation.rasa_client import BotMessage
from bot.core import language_id
from bot.core.i18n import default_catalogs
from bot.storage.bookings import BookingLog
from bot.storage.db import Database, migrate
from bot.storage.escalations import EscalationLog
from bot.storage.users import SqlUserStore

OUT = Path(__file__).resolve().parent / "out" / "slow_database.json"
PEOPLE = [f"bench-person-{n}" for n in range(10)]
EVERYDAY = "where can I find Dutch lessons near the azc"
CRISIS = "I have decided to end my life tonight"
RASA_SECONDS = 0.02
PAUSE_SECONDS = 0.5


class SlowRasa:
    """Answers every message after RASA_SECONDS, as a busy Rasa server would."""

    async def send(
        self, sender_id: str, text: str, language: str, intent: object = None, entities: object = None
    ) -> list[BotMessage]:
        await asyncio.sleep(RASA_SECONDS)
        return [BotMessage(text="An answer")]

    async def parse(self, text: str, timeout: float = 2.0) -> None:
        return None

    async def add_event(self, sender_id: str, event: dict) -> bool:
        return True

    async def close(self) -> None:
        pass


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


async def scenario(directory: Path, locked: bool, seconds: float, wait_seconds: float) -> dict:
    url = f"sqlite:///{directory / 'bot.db'}"
    database = Database(url, wait_seconds=wait_seconds)
    users = SqlUserStore(database)
    assistant = Assistant(
        SlowRasa(),  # type: ignore[arg-type]
        users,
        default_catalogs(),
        escalations=EscalationLog(database),
        bookings=BookingLog(database),
        outbox=Outbox(directory / "run" / FILE_NAME),
    )
    assistant.escalation_listeners.append(lambda view, created: None)  # coordinators are configured
    assistant.booking_listeners.append(lambda view, late: None)
    for person in PEOPLE:  # people who chatted before: nothing about them needs writing now
        await assistant.handle_text(person, EVERYDAY)
    lock = sqlite3.connect(directory / "bot.db") if locked else None
    if lock is not None:
        lock.execute("BEGIN EXCLUSIVE")

    stalls: list[float] = []
    everyday: list[float] = []
    crisis: list[float] = []
    booking_saved: list[bool] = []
    done = asyncio.Event()

    async def watch_the_loop() -> None:
        while not done.is_set():
            started = time.monotonic()
            await asyncio.sleep(0.01)
            stalls.append(time.monotonic() - started - 0.01)

    async def chat(person: str) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.monotonic()
            replies = await assistant.handle_text(person, EVERYDAY)
            assert replies, "every message gets a reply"
            everyday.append(time.monotonic() - started)
            await asyncio.sleep(PAUSE_SECONDS)

    async def in_crisis() -> None:
        await asyncio.sleep(seconds / 3)
        started = time.monotonic()
        replies = await assistant.handle_text("bench-crisis", CRISIS)
        crisis.append(time.monotonic() - started)
        assert replies[0].urgent, "the crisis reply"
        answers = {"session_language": "English (en)", "times": "mornings", "contact": "chat"}
        [reply] = await assistant.store_booking("bench-booking", answers)  # type: ignore[arg-type]
        booking_saved.append(not reply.text.startswith("I could not save your request yet"))

    watcher = asyncio.create_task(watch_the_loop())
    await asyncio.gather(in_crisis(), *(chat(person) for person in PEOPLE))
    done.set()
    await watcher
    if lock is not None:
        lock.rollback()
        lock.close()
    await assistant.records.replay()  # what waited is stored once the database is free
    waiting = len(assistant.outbox)
    database.dispose()
    return {
        "everyday_reply": summary(everyday),
        "crisis_reply": summary(crisis),
        "longest_loop_stall_ms": round(max(stalls) * 1000, 1),
        "booking_request_saved_at_once": booking_saved[0],
        "left_in_outbox_after": waiting,
    }


async def measure(seconds: float, wait_seconds: float = 5.0) -> dict:
    """`wait_seconds`: how long a write waits for the locked file (5 s in production)."""
    language_id.warm_up()
    with tempfile.TemporaryDirectory(prefix="slow-db-") as tmp:
        template = Path(tmp) / "template.db"
        migrate(f"sqlite:///{template}")
        results = {}
        for name, locked in (("free", False), ("locked", True)):
            directory = Path(tmp) / name
            directory.mkdir()
            shutil.copy(template, directory / "bot.db")
            results[name] = await scenario(directory, locked, seconds, wait_seconds)
    return results


def verdict(results: dict) -> dict[str, bool]:
    free, locked = results["free"]["everyday_reply"], results["locked"]["everyday_reply"]
    return {
        "crisis reply under 300 ms while locked": results["locked"]["crisis_reply"]["max_ms"] < 300,
        "others' p95 within 20% (or 10 ms) while locked": locked["p95_ms"]
        <= max(free["p95_ms"] * 1.2, free["p95_ms"] + 10),
        "no loop stall over 50 ms": max(r["longest_loop_stall_ms"] for r in results.values()) < 50,
        "nothing left waiting once free": results["locked"]["left_in_outbox_after"] == 0,
        "the lock was real (the booking request had to wait)": not results["locked"]["booking_request_saved_at_once"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    results = asyncio.run(measure(args.seconds))
    results["goals"] = verdict(results)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
