"""The webhook keeps each update before Telegram hears 200, handles an update delivered twice once,
and a replica takes over what one that died had in hand, sending only what it had not sent: the
real webhook server and Sender, in this process, against the Telegram stand-in."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.conversation.replies import Reply
from bot.telegram_front import deliveries
from bot.telegram_front.application import build_application
from bot.telegram_front.deliveries import Claim, MemoryDeliveries
from bot.telegram_front.sending import Sender
from bot.telegram_front.webhook import SECRET_HEADER, WebhookServer
from tests.helpers import TOKEN, free_port
from tests.telegram_standin import TelegramStandIn

SECRET = "webhook-secret-for-tests"


class Bot:
    """A webhook server whose one handler answers every text with two messages, after a pause."""

    def __init__(self, standin: TelegramStandIn, shared: MemoryDeliveries, pause: float) -> None:
        self.app = build_application(TOKEN, standin.url)
        self.sender = Sender(self.app.bot)
        self.pause = pause
        self.handled = 0
        self.app.add_handler(MessageHandler(filters.TEXT, self.answer))
        self.port = free_port()
        self.server = WebhookServer(self.app, "telegram", SECRET, shared)

    async def answer(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.handled += 1
        await asyncio.sleep(self.pause)
        chat = update.effective_chat.id
        await self.sender.send(chat, [Reply(f"first: {update.message.text}", "en"), Reply("second", "en")])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"


@contextlib.asynccontextmanager
async def running(bot: Bot) -> AsyncIterator[Bot]:
    await bot.app.initialize()
    await bot.server.start("127.0.0.1", bot.port)
    try:
        yield bot
    finally:
        await bot.server.stop()
        await bot.app.shutdown()


def deliver(http: httpx.AsyncClient, bot: Bot, update: dict, secret: str = SECRET):
    return http.post(bot.url, json=update, headers={SECRET_HEADER: secret}, timeout=10)


async def until(condition, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time")


def test_telegram_hears_200_at_once_and_an_update_delivered_twice_is_answered_once(standin):
    shared = MemoryDeliveries()

    async def scenario() -> None:
        bot = Bot(standin, shared, pause=0.5)
        update = standin.text_update(11, "hello")
        async with running(bot), httpx.AsyncClient() as http:
            first = await deliver(http, bot, update)
            assert first.status_code == 200 and standin.texts_to(11) == [], "answered before the replies"
            assert await shared.kept(update["update_id"]) is not None, "kept while in hand"
            again = await deliver(http, bot, update)  # Telegram did not hear the first 200 in time
            assert again.status_code == 200
            await until(lambda: len(standin.texts_to(11)) == 2)
            await asyncio.sleep(0.3)
            after = await deliver(http, bot, update)
            assert after.status_code == 200
            wrong = await deliver(http, bot, standin.text_update(12, "hi"), secret="not-the-secret-token")
            assert wrong.status_code == 403
        assert standin.texts_to(11) == ["first: hello", "second"] and bot.handled == 1
        assert standin.texts_to(12) == [] and await shared.waiting() == []

    asyncio.run(scenario())


def test_a_replica_takes_over_what_a_dead_one_half_answered_without_repeating_what_was_sent(standin, monkeypatch):
    monkeypatch.setattr(deliveries, "CLAIM_SECONDS", 0.3)
    shared = MemoryDeliveries()

    async def scenario() -> None:
        update = standin.text_update(21, "hello")
        # A replica claimed and kept the update, sent the first message and died: no more renewals.
        assert await shared.claim(update["update_id"]) is Claim.NEW
        await shared.keep(update["update_id"], Update.de_json(update, None).to_json())
        await shared.attempt(update["update_id"])
        await shared.note_sent(update["update_id"], 1)
        bot = Bot(standin, shared, pause=0)
        async with running(bot):
            assert await bot.server.sweep() == 0, "the dead replica's claim has not lapsed yet"
            await asyncio.sleep(0.4)
            assert await bot.server.sweep() == 1
            await until(lambda: standin.texts_to(21) == ["second"])
        assert standin.texts_to(21) == ["second"], "only what the dead replica had not sent"
        assert await shared.claim(update["update_id"]) is Claim.DONE and await shared.waiting() == []

    asyncio.run(scenario())


def test_a_request_that_is_not_an_update_is_refused_and_the_next_update_is_handled(standin):
    async def scenario() -> None:
        bot = Bot(standin, MemoryDeliveries(), pause=0)
        update = standin.text_update(31, "hello")
        async with running(bot), httpx.AsyncClient() as http:
            broken = await http.post(bot.url, content=b"{not json", headers={SECRET_HEADER: SECRET})
            assert broken.status_code == 400
            assert (await deliver(http, bot, update)).status_code == 200
            await until(lambda: len(standin.texts_to(31)) == 2)
        assert standin.texts_to(31) == ["first: hello", "second"]

    asyncio.run(scenario())


class SlowStore(MemoryDeliveries):
    """Claims in a store 0.1 s away (Redis on a busy network, or behind a busy event loop)."""

    async def claim(self, update_id: int) -> Claim:
        await asyncio.sleep(0.1)
        return await super().claim(update_id)

    async def kept(self, update_id: int) -> str | None:
        await asyncio.sleep(0.1)
        return await super().kept(update_id)


def test_a_dead_replicas_updates_are_taken_over_all_at_once_so_a_crisis_among_them_does_not_wait(standin, monkeypatch):
    monkeypatch.setattr(deliveries, "CLAIM_SECONDS", 0.3)
    shared = SlowStore()

    async def scenario() -> None:
        updates = [standin.text_update(chat, "hello") for chat in range(40, 70)]
        for update in updates:  # a replica kept 30 updates and died before answering any
            assert await MemoryDeliveries.claim(shared, update["update_id"]) is Claim.NEW
            await shared.keep(update["update_id"], Update.de_json(update, None).to_json())
        await asyncio.sleep(0.4)
        bot = Bot(standin, shared, pause=0)
        async with running(bot):
            started = asyncio.get_running_loop().time()
            assert await bot.server.sweep() == 30
            took = asyncio.get_running_loop().time() - started
            await until(lambda: all(len(standin.texts_to(chat)) == 2 for chat in range(40, 70)), timeout=15)
        # One after the other, 30 claims and reads 0.1 s away each would take 6 s.
        assert took < 1.0, f"taking over 30 updates took {took:.1f} s"

    asyncio.run(scenario())
