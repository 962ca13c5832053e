"""Crisis replies and urgent alerts leave from their own thread, with its own event loop and its
own connections to Telegram.

Sending one message takes the event loop many turns (PTB, httpx, the connection pool). With one
replica at its limit, every turn of the loop that serves all chats is slow: measured in
tests/end_to_end/test_replicas.py, a crisis reply took 2-6 s to leave after the screen had read it,
queued behind other people's replies. This lane's loop does nothing but urgent calls, so they
leave at once, whatever the main loop has in hand. Everything else (what was sent, retries, the
rate limits) stays with the caller on the main loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, Message
from telegram.error import RetryAfter
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

#: Connections to Telegram kept for urgent calls alone.
URGENT_CONNECTIONS = 8
#: How long stopping the lane waits for its thread.
STOP_SECONDS = 10.0


class UrgentLane:
    """The bot's urgent calls on a thread of their own. `on_push_back` (on the caller's loop) hears
    of a 429 from Telegram, so that the everyday replies slow down too (rate_limit.py). A lane that
    could not start is not `running`: the Sender then sends from the main loop, as before."""

    def __init__(self, token: str, api_url: str, on_push_back: Callable[[], Awaitable[None]] | None = None) -> None:
        api = api_url.rstrip("/")
        self.bot = Bot(
            token,
            base_url=f"{api}/bot",
            base_file_url=f"{api}/file/bot",
            request=HTTPXRequest(connection_pool_size=URGENT_CONNECTIONS),
        )
        self.on_push_back = on_push_back
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.running = False

    async def start(self) -> None:
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="telegram-urgent", daemon=True)
        self._thread.start()
        self._loop = loop
        try:
            await self._run(self.bot.initialize())
        except Exception as error:  # crisis replies must still go out: from the main loop
            log.error("The urgent lane could not start (%s); urgent messages go the usual way", type(error).__name__)
            await self.stop()
            return
        self.running = True

    async def stop(self) -> None:
        self.running = False
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            await self._run(self.bot.shutdown())
        except Exception as error:  # stopping anyway
            log.warning("The urgent lane did not shut down cleanly (%s)", type(error).__name__)
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, STOP_SECONDS)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None

    async def send_message(self, chat_id: int | str, text: str, **kwargs: Any) -> Message:
        try:
            return await self._run(self.bot.send_message(chat_id, text, **kwargs))
        except RetryAfter:
            if self.on_push_back is not None:
                await self.on_push_back()
            raise

    async def _run(self, work: Awaitable[Any]) -> Any:
        if self._loop is None:
            raise RuntimeError("the urgent lane is not started")
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))  # type: ignore[arg-type]
