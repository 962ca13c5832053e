"""How fast the bot calls Telegram: crisis replies first, everything else at Telegram's pace."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, BaseRateLimiter

log = logging.getLogger(__name__)

#: rate_limit_args values: a crisis reply, and a typing indicator.
URGENT = "urgent"
IF_IDLE = "if_idle"
#: After Telegram answers 429, the bot keeps under its documented 30 messages a second this long.
SLOW_DOWN_SECONDS = 60.0


class SharedPace:
    """Telegram's limits are per bot, not per process: replicas keep them together in Redis. A
    429 seen by one replica slows them all down, and the budgets are counted in shared windows."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis  # redis.asyncio.Redis
        self.prefix = prefix

    async def push_back(self) -> None:
        await self.redis.set(f"{self.prefix}:slowed", 1, ex=int(SLOW_DOWN_SECONDS))

    async def slowed_down(self) -> bool:
        return bool(await self.redis.exists(f"{self.prefix}:slowed"))

    async def take(self, budget: str, limit: int, window: float) -> None:
        """Waits until one of `limit` calls in a `window` of seconds is free, counted across replicas."""
        while True:
            slot = int(time.time() // window)
            key = f"{self.prefix}:{budget}:{slot}"
            async with self.redis.pipeline(transaction=True) as pipe:
                count, _ = await pipe.incr(key).expire(key, int(window) + 1).execute()
            if count <= limit:
                return
            await asyncio.sleep(max(0.0, (slot + 1) * window - time.time()) + 0.005)


class CrisisFirstRateLimiter(BaseRateLimiter[str | None]):
    """How fast the bot calls Telegram.

    - Crisis replies (URGENT) never wait, neither behind other people's messages nor for a budget.
    - Replies go at Telegram's pace. Its Bots FAQ gives about 30 messages a second for bulk
      notifications; a bot answering the people who write to it is not broadcasting, so replies
      are not held to that in advance. When Telegram answers 429 all the same, every call waits
      the retry_after it names (PTB's AIORateLimiter does this), and for SLOW_DOWN_SECONDS the bot
      keeps under 30 a second. Groups always keep PTB's 20 messages a minute.
    - Typing indicators (IF_IDLE) are skipped while less than half of that budget is free.

    Built on PTB's public extension point: it wraps an AIORateLimiter without an overall budget
    (for the groups' limit and the retries after 429) and adds its own budget while slowed down.
    With `shared` (replicas), the slow-down, its budget and the groups' limit are kept in Redis.
    """

    def __init__(self, max_retries: int, shared: SharedPace | None = None) -> None:
        group_rate = 0 if shared else FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP  # shared: counted in Redis instead
        self._ptb = AIORateLimiter(overall_max_rate=0, group_max_rate=group_rate, max_retries=max_retries)
        self._budget = AsyncLimiter(FloodLimit.MESSAGES_PER_SECOND, 1)
        self._pushed_back_at = -math.inf
        self.shared = shared
        self._redis_down_at = -math.inf

    async def initialize(self) -> None:
        await self._ptb.initialize()

    async def shutdown(self) -> None:
        await self._ptb.shutdown()

    async def note_push_back(self) -> None:
        """Telegram answered 429: everything but crisis replies slows down for SLOW_DOWN_SECONDS."""
        self._pushed_back_at = time.monotonic()
        if self.shared:
            with contextlib.suppress(Exception):  # Redis unreachable: this process slows down
                await self.shared.push_back()

    def slowed_down(self) -> bool:
        return time.monotonic() - self._pushed_back_at < SLOW_DOWN_SECONDS

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> Any:
        async def noting_push_back(*call_args: Any, **call_kwargs: Any) -> Any:
            try:
                return await callback(*call_args, **call_kwargs)
            except RetryAfter:
                await self.note_push_back()
                raise

        if rate_limit_args == URGENT:
            return await noting_push_back(*args, **kwargs)  # a 429 here is retried by the sender
        chat_id = data.get("chat_id")
        if chat_id is not None and self.shared and self._redis_answers:
            try:
                if not await self._shared_budgets(chat_id, rate_limit_args):
                    return True  # a typing indicator while slowed down: skipped
            except Exception as error:  # Redis unreachable: this process keeps its own budget a while
                log.error("Telegram's shared budget could not be read (%s)", type(error).__name__)
                self._redis_down_at = time.monotonic()
            else:
                return await self._ptb.process_request(noting_push_back, args, kwargs, endpoint, data, None)
        if chat_id is not None and self.slowed_down():
            if rate_limit_args == IF_IDLE and not self._budget.has_capacity(self._budget.max_rate / 2):
                return True  # skipped: half the budget stays free for replies
            await self._budget.acquire()
        return await self._ptb.process_request(noting_push_back, args, kwargs, endpoint, data, None)

    @property
    def _redis_answers(self) -> bool:
        """False for a while after Redis failed (then each process keeps its own budget)."""
        return time.monotonic() - self._redis_down_at > SLOW_DOWN_SECONDS

    async def _shared_budgets(self, chat_id: int | str, rate_limit_args: str | None) -> bool:
        """Waits for the shared budgets; False for a typing indicator that is better skipped."""
        assert self.shared is not None
        slowed = self.slowed_down() or await self.shared.slowed_down()
        if slowed and rate_limit_args == IF_IDLE:
            return False
        if str(chat_id).startswith("-"):  # a group: 20 a minute, whichever replica posts
            await self.shared.take(f"group:{chat_id}", FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP, 60)
        if slowed:
            await self.shared.take("sent", FloodLimit.MESSAGES_PER_SECOND, 1)
        return True
