"""Rasa's RedisLockStore, with tickets that live as long as their server does.

Rasa servers that share conversations take a ticket per message in Redis and handle a
conversation's messages in ticket order; a ticket lapses after TICKET_LOCK_LIFETIME, so a dead
server's ticket does not hold its conversation for ever. In Rasa 3.6 the waiting server's own
ticket lapses just as fast: when the dead server's ticket was issued a moment earlier, both lapse
within the same second, the waiting server (which looks once a second) finds no ticket of its own
at the head of the line, and waits until the front end gives up (seen in tests/end_to_end/
test_replicas.py: 30 s, then "I am having trouble"). Here a live server renews its own ticket,
while it waits and while it handles the message, so only a dead server's ticket lapses; and a long
message no longer loses its lock half-way.

endpoints.yml: `lock_store: {type: bot.rasa_plugins.lock_store.RenewingRedisLockStore, url: ..., port: ...}`
(bot/rasa_plugins/tracker_store.py writes it from REDIS_URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore

log = logging.getLogger(__name__)


class RenewingRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # built by Rasa from endpoints.yml
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs}
        super().__init__(**kwargs)

    @contextlib.asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncIterator[TicketLock]:
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        renewing = asyncio.create_task(self._keep_renewing(conversation_id, ticket, lock_lifetime))
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            renewing.cancel()
            self.cleanup(conversation_id, ticket)

    async def _keep_renewing(self, conversation_id: str, ticket: int, lifetime: float) -> None:
        while True:
            await asyncio.sleep(max(0.2, lifetime / 3))
            try:
                self.renew(conversation_id, ticket, lifetime)
            except Exception as error:  # Redis unreachable: the ticket may lapse, as in Rasa's own store
                log.warning("Could not renew a conversation lock (%s)", type(error).__name__)

    def renew(self, conversation_id: str, ticket: int, lifetime: float) -> None:
        lock = self.get_lock(conversation_id)
        if lock is None:
            return
        for held in lock.tickets:
            if held.number == ticket:
                held.expires = time.time() + lifetime
                self.save_lock(lock)
                return
