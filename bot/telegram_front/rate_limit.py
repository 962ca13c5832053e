"""How fast the bot calls Telegram: crisis replies first, everything else at Telegram's pace."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, BaseRateLimiter

#: rate_limit_args values: a crisis reply, and a typing indicator.
URGENT = "urgent"
IF_IDLE = "if_idle"
#: After Telegram answers 429, the bot keeps under its documented 30 messages a second this long.
SLOW_DOWN_SECONDS = 60.0


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
    """

    def __init__(self, max_retries: int) -> None:
        self._ptb = AIORateLimiter(overall_max_rate=0, max_retries=max_retries)
        self._budget = AsyncLimiter(FloodLimit.MESSAGES_PER_SECOND, 1)
        self._pushed_back_at = -math.inf

    async def initialize(self) -> None:
        await self._ptb.initialize()

    async def shutdown(self) -> None:
        await self._ptb.shutdown()

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
                self._pushed_back_at = time.monotonic()
                raise

        if rate_limit_args == URGENT:
            return await noting_push_back(*args, **kwargs)  # a 429 here is retried by the sender
        to_a_chat = data.get("chat_id") is not None
        if to_a_chat and self.slowed_down():
            if rate_limit_args == IF_IDLE and not self._budget.has_capacity(self._budget.max_rate / 2):
                return True  # skipped: half the budget stays free for replies
            await self._budget.acquire()
        return await self._ptb.process_request(noting_push_back, args, kwargs, endpoint, data, None)
