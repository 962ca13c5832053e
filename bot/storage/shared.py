"""Short-lived state that replicas of the bot share: in memory for one process, in Redis for
replicas (REDIS_URL). What must survive longer lives in the database.

- `take(key, seconds)`: a claim, so only one replica does a thing (posting an alert);
- `hold(key, seconds)`: a role kept by renewing it (the replica that runs the hand-off's timer);
- `put`, `get`, `pop`: small values that lapse (the safety question a person was just asked).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any, Protocol


class SharedState(Protocol):
    async def take(self, key: str, seconds: float) -> bool:
        """True when nobody holds `key`; it is then this process's for `seconds` or until released."""

    async def release(self, key: str) -> None: ...

    async def hold(self, key: str, seconds: float) -> bool:
        """True when this process holds `key` (taken now, or renewed for `seconds` more)."""

    async def put(self, key: str, value: str, seconds: float) -> None: ...

    async def get(self, key: str) -> str | None: ...

    async def pop(self, key: str) -> str | None: ...


class MemoryState:
    """One process: everything in a dict, each entry with its deadline."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, float]] = {}

    def _live(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] < time.monotonic():
            del self._entries[key]
            return None
        return entry[0]

    async def take(self, key: str, seconds: float) -> bool:
        if self._live(key) is not None:
            return False
        self._entries[key] = ("taken", time.monotonic() + seconds)
        return True

    async def release(self, key: str) -> None:
        self._entries.pop(key, None)

    async def hold(self, key: str, seconds: float) -> bool:
        return True  # the only process

    async def put(self, key: str, value: str, seconds: float) -> None:
        if len(self._entries) > 100_000:  # lapsed entries go now and then
            now = time.monotonic()
            self._entries = {k: entry for k, entry in self._entries.items() if entry[1] >= now}
        self._entries[key] = (value, time.monotonic() + seconds)

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def pop(self, key: str) -> str | None:
        value = self._live(key)
        self._entries.pop(key, None)
        return value


class RedisState:
    """Replicas: the same in Redis, under `prefix`; this process is told apart by a random id."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis  # redis.asyncio.Redis
        self.prefix = prefix
        self.me = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    async def take(self, key: str, seconds: float) -> bool:
        return bool(await self.redis.set(self._key(key), self.me, nx=True, px=int(seconds * 1000)))

    async def release(self, key: str) -> None:
        await self.redis.delete(self._key(key))

    async def hold(self, key: str, seconds: float) -> bool:
        name = self._key(key)
        if await self.redis.set(name, self.me, nx=True, px=int(seconds * 1000)):
            return True
        holder = await self.redis.get(name)
        if holder in (self.me, self.me.encode()):
            await self.redis.pexpire(name, int(seconds * 1000))
            return True
        return False

    async def put(self, key: str, value: str, seconds: float) -> None:
        await self.redis.set(self._key(key), value, px=int(seconds * 1000))

    async def get(self, key: str) -> str | None:
        value = await self.redis.get(self._key(key))
        return value.decode() if isinstance(value, bytes) else value

    async def pop(self, key: str) -> str | None:
        value = await self.redis.getdel(self._key(key))
        return value.decode() if isinstance(value, bytes) else value
