"""Each Telegram update handled once, also when Telegram delivers it twice or to another replica,
and none lost when a replica dies with it in hand.

The webhook (webhook.py) claims each update, keeps it (its JSON) until it is handled, and only
then answers Telegram 200; then it handles it. Claims:

- NEW: nobody has it; this replica keeps and handles it, renewing the claim while it works;
- BUSY: a live replica has it; Telegram is answered 200 once the update is kept, 503 before;
- DONE: handled already; 200, and nothing is sent again.

A claim not renewed (its replica died) lapses after CLAIM_SECONDS; every replica looks for kept
updates whose claim lapsed and takes them over. The replies already sent for an update are
counted, so a replica that takes over a half-answered update sends only the rest.

In one process the claims live in memory (MemoryDeliveries); replicas share them in Redis
(RedisDeliveries), with REDIS_URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

#: A claim not renewed lapses after this long, so a dead replica's updates are taken over quickly.
CLAIM_SECONDS = 4.0
#: How long an update is remembered as handled (Telegram stops delivering it again long before).
DONE_SECONDS = 24 * 3600
#: Updates remembered in memory by one process.
REMEMBERED_UPDATES = 100_000


class Claim(enum.Enum):
    NEW = "new"
    BUSY = "busy"
    DONE = "done"


@dataclass
class Handling:
    """The update this task is handling: how many messages were sent for it before (by a replica
    that died) and in this handling."""

    update_id: int
    sent_before: int
    deliveries: Deliveries
    attempt: int = 1  # 2 and more: the update was in hand before (a replica died with it)
    sent_now: int = field(default=0)

    async def should_send(self) -> bool:
        """Called before each message the bot sends: False for those a replica sent before it died."""
        self.sent_now += 1
        return self.sent_now > self.sent_before

    async def note_sent(self) -> None:
        await self.deliveries.note_sent(self.update_id, self.sent_now)


#: The update the current task is handling, for the Sender (None outside a webhook update).
current: contextvars.ContextVar[Handling | None] = contextvars.ContextVar("current_update", default=None)


class Deliveries(Protocol):
    async def claim(self, update_id: int) -> Claim: ...

    async def renew(self, update_id: int) -> None: ...

    async def finish(self, update_id: int) -> None: ...

    async def release(self, update_id: int) -> None:
        """Handling failed: the next delivery may try again."""

    async def sent(self, update_id: int) -> int:
        """How many messages were sent for this update so far."""

    async def note_sent(self, update_id: int, count: int) -> None: ...

    async def attempt(self, update_id: int) -> int:
        """Counts the times this update was taken in hand; returns this time's number."""

    async def keep(self, update_id: int, update: str) -> None:
        """Keeps the update (its JSON) until it is finished, for another replica to take over."""

    async def waiting(self) -> list[int]:
        """The updates kept and not finished."""

    async def lapsed(self) -> list[int]:
        """The updates kept and not finished whose claim lapsed (their replica died): in one look,
        without touching the claims of the updates live replicas have in hand."""

    async def kept(self, update_id: int) -> str | None: ...


@contextlib.asynccontextmanager
async def handling(deliveries: Deliveries, update_id: int) -> AsyncIterator[Handling]:
    """Holds a NEW claim while the update is handled, renewing it; finished when the block ends
    normally, released when it raises."""
    state = Handling(update_id, await deliveries.sent(update_id), deliveries, await deliveries.attempt(update_id))

    async def keep_renewing() -> None:
        while True:
            await asyncio.sleep(CLAIM_SECONDS / 3)
            try:
                await deliveries.renew(update_id)
            except Exception as error:  # Redis unreachable: the claim may lapse and the update be taken twice
                log.error("Could not renew the claim on an update (%s)", type(error).__name__)

    renewer = asyncio.create_task(keep_renewing())
    token = current.set(state)
    try:
        yield state
    except BaseException:
        renewer.cancel()
        await deliveries.release(update_id)
        raise
    else:
        renewer.cancel()
        await deliveries.finish(update_id)
    finally:
        current.reset(token)


class MemoryDeliveries:
    """One process: the updates it claimed, in memory."""

    def __init__(self) -> None:
        self._claims: OrderedDict[int, tuple[Claim, float]] = OrderedDict()
        self._sent: dict[int, int] = {}
        self._attempts: dict[int, int] = {}
        self._kept: dict[int, str] = {}

    async def claim(self, update_id: int) -> Claim:
        state = self._claims.get(update_id)
        if state is not None and (state[0] is Claim.DONE or state[1] > time.monotonic()):
            return state[0]
        self._claims[update_id] = (Claim.BUSY, time.monotonic() + CLAIM_SECONDS)
        while len(self._claims) > REMEMBERED_UPDATES:
            old, _ = self._claims.popitem(last=False)
            self._sent.pop(old, None)
            self._attempts.pop(old, None)
        return Claim.NEW

    async def renew(self, update_id: int) -> None:
        if self._claims.get(update_id, (Claim.DONE, 0))[0] is Claim.BUSY:
            self._claims[update_id] = (Claim.BUSY, time.monotonic() + CLAIM_SECONDS)

    async def finish(self, update_id: int) -> None:
        self._claims[update_id] = (Claim.DONE, 0.0)
        self._sent.pop(update_id, None)
        self._attempts.pop(update_id, None)
        self._kept.pop(update_id, None)

    async def release(self, update_id: int) -> None:
        self._claims.pop(update_id, None)

    async def sent(self, update_id: int) -> int:
        return self._sent.get(update_id, 0)

    async def note_sent(self, update_id: int, count: int) -> None:
        self._sent[update_id] = count

    async def attempt(self, update_id: int) -> int:
        self._attempts[update_id] = self._attempts.get(update_id, 0) + 1
        return self._attempts[update_id]

    async def keep(self, update_id: int, update: str) -> None:
        self._kept[update_id] = update

    async def waiting(self) -> list[int]:
        return list(self._kept)

    async def lapsed(self) -> list[int]:
        now = time.monotonic()
        return [
            update_id
            for update_id in self._kept
            if (state := self._claims.get(update_id)) is None or (state[0] is Claim.BUSY and state[1] <= now)
        ]

    async def kept(self, update_id: int) -> str | None:
        return self._kept.get(update_id)


class RedisDeliveries:
    """Replicas: the claims in Redis, under `prefix` (the bot's id, so two bots can share a server)."""

    def __init__(self, redis: object, prefix: str) -> None:
        self.redis = redis  # redis.asyncio.Redis
        self.prefix = prefix

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}:update:{update_id}"

    def _sent_key(self, update_id: int) -> str:
        return f"{self.prefix}:update:{update_id}:sent"

    async def _take(self, key: str) -> bool:
        return bool(await self.redis.set(key, Claim.BUSY.value, nx=True, px=int(CLAIM_SECONDS * 1000)))

    async def claim(self, update_id: int) -> Claim:
        key = self._key(update_id)
        if await self._take(key):
            return Claim.NEW
        value = await self.redis.get(key)
        if value is None:  # lapsed just now: try once more
            return Claim.NEW if await self._take(key) else Claim.BUSY
        return Claim.DONE if value in (b"done", "done") else Claim.BUSY

    async def renew(self, update_id: int) -> None:
        await self.redis.set(self._key(update_id), Claim.BUSY.value, xx=True, px=int(CLAIM_SECONDS * 1000))

    async def finish(self, update_id: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(update_id), Claim.DONE.value, ex=DONE_SECONDS)
            pipe.delete(self._sent_key(update_id), f"{self._key(update_id)}:attempts")
            pipe.hdel(self._kept_key, str(update_id))
            await pipe.execute()

    async def release(self, update_id: int) -> None:
        await self.redis.delete(self._key(update_id))

    async def sent(self, update_id: int) -> int:
        value = await self.redis.get(self._sent_key(update_id))
        return int(value) if value is not None else 0

    async def note_sent(self, update_id: int, count: int) -> None:
        await self.redis.set(self._sent_key(update_id), count, ex=DONE_SECONDS)

    async def attempt(self, update_id: int) -> int:
        key = f"{self._key(update_id)}:attempts"
        async with self.redis.pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(key).expire(key, DONE_SECONDS).execute()
        return int(count)

    @property
    def _kept_key(self) -> str:
        return f"{self.prefix}:kept"

    async def keep(self, update_id: int, update: str) -> None:
        await self.redis.hset(self._kept_key, str(update_id), update)

    async def waiting(self) -> list[int]:
        return [int(key) for key in await self.redis.hkeys(self._kept_key)]

    async def lapsed(self) -> list[int]:
        kept = await self.waiting()
        if not kept:
            return []
        claims = await self.redis.mget([self._key(update_id) for update_id in kept])
        return [update_id for update_id, claim in zip(kept, claims, strict=True) if claim is None]

    async def kept(self, update_id: int) -> str | None:
        value = await self.redis.hget(self._kept_key, str(update_id))
        return value.decode() if isinstance(value, bytes) else value
