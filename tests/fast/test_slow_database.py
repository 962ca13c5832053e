"""A locked database holds up neither the crisis reply nor other people's answers (issue 12),
measured by bench/slow_database.py in a short run: SQLite locked by another process while ten
people chat, one writes a crisis message and another sends a booking request."""

from __future__ import annotations

import asyncio

from bench.slow_database import measure


def test_a_locked_database_stalls_no_chat_and_loses_nothing():
    results = asyncio.run(measure(seconds=1.0, wait_seconds=1.5))
    locked = results["locked"]
    assert not locked["booking_request_saved_at_once"], "the lock was real: the request had to wait"
    # A database call on the event loop would stall it for the 1.5 s a write waits for the lock
    # here (5 s in production); the bounds leave a loaded machine room below that.
    assert locked["crisis_reply"]["max_ms"] < 500
    assert locked["longest_loop_stall_ms"] < 500
    assert locked["everyday_reply"]["max_ms"] < 1000
    assert locked["left_in_outbox_after"] == 0, "what waited was stored once the database was free"
    assert results["free"]["booking_request_saved_at_once"]
