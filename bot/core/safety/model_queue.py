"""The model net's own worker thread, with a fast lane.

One thread runs the encoder (its engine is not shared between threads), so messages wait their
turn. A message a word list already flagged goes to the front: a crisis reply never waits behind
everyday messages. When the backlog is long, everyday messages are screened by the word lists
alone rather than waiting (the log says so), so a flood of messages cannot slow every chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
#: Everyday messages waiting beyond this many are screened by the word lists alone (about half a
#: second of the model's work on this machine).
MAX_BACKLOG = 30
URGENT, EVERYDAY = 0, 1


class ModelQueue:
    def __init__(self, max_backlog: int = MAX_BACKLOG) -> None:
        self.max_backlog = max_backlog
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], Any], Any, Any]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._shed_logged = 0.0
        self._thread = threading.Thread(target=self._work, name="safety-model", daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def full(self) -> bool:
        """True when an everyday message should not wait for the model; logged once a minute."""
        if self.backlog < self.max_backlog:
            return False
        if time.monotonic() - self._shed_logged > 60:
            self._shed_logged = time.monotonic()
            log.warning("Safety screen: %d messages wait for the model net; word lists alone meanwhile", self.backlog)
        return True

    async def run(self, work: Callable[[], T], urgent: bool) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((URGENT if urgent else EVERYDAY, next(self._order), work, loop, future))
        return await future

    def _work(self) -> None:
        while True:
            _, _, work, loop, future = self._queue.get()
            try:
                result, error = work(), None
            except Exception as exception:  # handed to the waiting coroutine
                result, error = None, exception
            with contextlib.suppress(RuntimeError):  # that event loop is closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future, result: object, error: Exception | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
