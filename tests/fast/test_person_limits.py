"""One person cannot slow everyone: per-person budgets, and per-chat state that does not grow."""

from __future__ import annotations

import asyncio

from bot.core.person_limits import PerPersonLimit
from bot.telegram_front.person_handlers import ChatTurns
from bot.telegram_front.sending import REMEMBERED_CHATS, Sender


def test_a_person_gets_a_burst_then_waits_and_others_are_not_affected():
    async def scenario() -> None:
        limit = PerPersonLimit(burst=3, seconds=60)
        assert [await limit.allow("flooding") for _ in range(5)] == [True, True, True, False, False]
        assert await limit.allow("someone else"), "another person's budget is their own"

    asyncio.run(scenario())


def test_budgets_are_kept_for_the_most_recent_people_only():
    async def scenario() -> None:
        limit = PerPersonLimit(burst=1, seconds=60, remembered=100)
        for n in range(1000):
            await limit.allow(f"person-{n}")
        assert len(limit) == 100

    asyncio.run(scenario())


def test_a_chats_messages_take_turns_and_the_lock_goes_when_the_chat_is_quiet():
    turns = ChatTurns()
    order: list[str] = []

    async def message(chat: int, name: str, seconds: float) -> None:
        async with turns.turn(chat):
            order.append(f"{name} starts")
            await asyncio.sleep(seconds)
            order.append(f"{name} ends")

    async def scenario() -> None:
        await asyncio.gather(message(1, "a1", 0.05), message(1, "a2", 0.0), message(2, "b1", 0.01))

    asyncio.run(scenario())
    assert order.index("a1 ends") < order.index("a2 starts"), "one message of a chat at a time"
    assert order.index("b1 ends") < order.index("a1 ends"), "other chats do not wait"
    assert len(turns) == 0, "no lock is kept for a quiet chat"


def test_the_bots_messages_are_remembered_for_a_bounded_number_of_chats():
    sender = Sender(bot=None)  # type: ignore[arg-type]
    for chat in range(REMEMBERED_CHATS + 50):
        sender._remember(chat, 1)
    assert len(sender._sent) == REMEMBERED_CHATS and 0 not in sender._sent
