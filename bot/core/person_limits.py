"""How often one person may do something: a budget per person, so that one person cannot slow
everyone else. Built on aiolimiter's leaky bucket (python-telegram-bot's rate limiter uses it too).
Budgets are kept for the most recently active people only, so memory stays bounded."""

from __future__ import annotations

from collections import OrderedDict

from aiolimiter import AsyncLimiter

#: Budgets kept at most; the least recently active person's is dropped first (and starts full again).
REMEMBERED_PEOPLE = 10_000


class PerPersonLimit:
    """`burst` actions at once, then `burst` per `seconds` (one every seconds/burst on average)."""

    def __init__(self, burst: int, seconds: float, remembered: int = REMEMBERED_PEOPLE) -> None:
        self.burst = burst
        self.seconds = seconds
        self.remembered = remembered
        self._limits: OrderedDict[str, AsyncLimiter] = OrderedDict()

    def _limit(self, person: str) -> AsyncLimiter:
        limit = self._limits.get(person)
        if limit is None:
            limit = self._limits[person] = AsyncLimiter(self.burst, self.seconds)
            while len(self._limits) > self.remembered:
                self._limits.popitem(last=False)
        self._limits.move_to_end(person)
        return limit

    async def allow(self, person: str) -> bool:
        """Takes one from the person's budget if there is one (without waiting); False when spent."""
        limit = self._limit(person)
        if not limit.has_capacity():
            return False
        await limit.acquire()  # there is capacity: this does not wait
        return True

    async def wait(self, person: str) -> None:
        """Waits until the person's budget allows one more, then takes it."""
        await self._limit(person).acquire()

    def __len__(self) -> int:
        return len(self._limits)
