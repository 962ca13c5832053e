"""The composition root of the front-end process: builds every part once, wires them, runs them.

Reading order for one message: telegram_front/person_handlers.py (the update) →
conversation/assistant.py (safety screen, commands, Rasa) → telegram_front/sending.py (the reply).
For one crisis: conversation/assistant.py (crisis_replies) → conversation/records.py (the outbox, then
storage/escalations.py) →
coordinators/handoff.py (the alert) → telegram_front/sending.py (GroupMessenger).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.conversation.assistant import Assistant
from bot.conversation.outbox import FILE_NAME, Outbox, keep_replaying
from bot.conversation.rasa_client import RasaClient
from bot.coordinators.content_reload import ContentReloader
from bot.coordinators.group_handlers import GroupHandlers
from bot.coordinators.handoff import CoordinatorGroup, HandOff
from bot.core import language_id, languages
from bot.core.i18n import default_catalogs
from bot.core.identity import pseudonym
from bot.settings import Settings
from bot.storage.bookings import BookingLog
from bot.storage.db import Database, DatabaseError, migrate
from bot.storage.escalations import EscalationLog
from bot.storage.privacy import Privacy
from bot.storage.shared import RedisState, SharedState
from bot.storage.users import CACHE_SECONDS, SqlUserStore
from bot.supervisor import Supervisor
from bot.telegram_front.application import TelegramFrontEnd, WebhookConfig, build_application
from bot.telegram_front.deliveries import Deliveries, RedisDeliveries
from bot.telegram_front.person_handlers import PersonHandlers, SharedChatTurns
from bot.telegram_front.rate_limit import CrisisFirstRateLimiter, SharedPace
from bot.telegram_front.sending import GroupMessenger, Sender
from bot.telegram_front.urgent_lane import UrgentLane
from bot.terminal import TerminalChat, stdin_reader

#: The retention purge runs this often inside the bot (and on demand: `python -m bot purge`).
PURGE_EVERY = timedelta(days=1)


def progress(message: str) -> None:
    print(f"[bot] {message}", file=sys.stderr, flush=True)


def open_database(settings: Settings) -> Database:
    """Migrates the schema (a no-op when it is current) and opens the database."""
    migrate(settings.database_url)
    return Database(settings.database_url)


async def purge_daily(privacy: Privacy, settings: Settings) -> None:
    while True:
        try:
            privacy.purge(timedelta(days=settings.retention_days), timedelta(days=settings.escalation_retention_days))
        except DatabaseError as error:
            logging.getLogger(__name__).error("Purge failed (%s); trying again tomorrow", type(error).__name__)
        await asyncio.sleep(PURGE_EVERY.total_seconds())


@dataclass(frozen=True)
class Shared:
    """What replicas share in Redis (REDIS_URL); all None for one process, which keeps them in memory."""

    deliveries: Deliveries | None = None
    turns: SharedChatTurns | None = None
    pace: SharedPace | None = None
    state: SharedState | None = None  # the hand-off's timer and posts, the open safety question
    client: Any = None  # the Redis connection pool, closed at the end

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()


def shared_parts(settings: Settings) -> Shared:
    """Which updates were handled, whose turn each chat is, and Telegram's limits."""
    if not settings.redis_url:
        return Shared()
    import redis.asyncio  # only replicas need it

    client = redis.asyncio.from_url(settings.redis_url)
    prefix = "bot:" + (settings.telegram_token.partition(":")[0] or "terminal")  # the bot's id, never its token
    return Shared(
        RedisDeliveries(client, prefix),
        SharedChatTurns(client, prefix),
        SharedPace(client, prefix),
        RedisState(client, prefix),
        client,
    )


def telegram_parts(
    settings: Settings, assistant: Assistant, escalations: EscalationLog, bookings: BookingLog, shared: Shared
) -> tuple[TelegramFrontEnd, HandOff | None, ContentReloader]:
    """The Telegram front end and, when a coordinators' group is configured, the hand-off; the
    content reloader tells that group about editors' changes."""
    assert settings.telegram_token
    catalogs = default_catalogs()
    app = build_application(settings.telegram_token, settings.telegram_api_url, shared.pace)
    limiter = app.bot.rate_limiter
    assert isinstance(limiter, CrisisFirstRateLimiter)
    sender = Sender(app.bot, UrgentLane(settings.telegram_token, settings.telegram_api_url, limiter.note_push_back))
    handoff = None
    reloader = ContentReloader(None)
    if settings.coordinator_chat_id is not None:
        handoff = HandOff(
            GroupMessenger(sender, settings.coordinator_chat_id),
            assistant,
            escalations,
            bookings,
            catalogs,
            CoordinatorGroup(settings.coordinator_chat_id, settings.coordinator_user_ids),
            settings.pseudonym_secret,
            timedelta(seconds=settings.escalation_remind_after),
            settings.coordinator_hours,
            settings.report_weekly,
            shared.state,
        )
        reloader = ContentReloader(handoff.messenger)
        GroupHandlers(handoff, reloader).register(app)
    handlers = PersonHandlers(
        assistant,
        sender,
        catalogs,
        settings.pseudonym_secret,
        handoff,
        settings.coordinator_chat_id,
        settings.messages_per_minute,
        shared.turns,
    )
    front = TelegramFrontEnd(app, catalogs, handlers, shared.deliveries)
    return front, handoff, reloader


async def run(settings: Settings, language: str | None) -> int:
    """Starts the servers (unless RASA_URL is set), then Telegram or, without a token, the terminal chat."""
    started = time.monotonic()
    supervisor = Supervisor(settings, progress) if settings.start_servers else None
    rasa = RasaClient(settings.rasa_url, settings.rasa_auth_token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    front: TelegramFrontEnd | None = None
    handoff: HandOff | None = None
    assistant: Assistant | None = None
    database = open_database(settings)
    # Replicas (REDIS_URL) share the database with other writers: no rows kept in memory.
    users = SqlUserStore(database, keep_seconds=0 if settings.redis_url else CACHE_SECONDS)
    escalations, bookings = EscalationLog(database), BookingLog(database)
    privacy = Privacy(database, users, escalations, bookings)
    shared = shared_parts(settings)
    purge_task = asyncio.create_task(purge_daily(privacy, settings))
    outbox_task: asyncio.Task[None] | None = None
    content_task: asyncio.Task[None] | None = None  # editors' changes, compiled and checked
    # The language models load while Rasa starts, so that no message (least of all a crisis) waits.
    language_models = asyncio.create_task(asyncio.to_thread(language_id.warm_up))
    try:
        if supervisor:
            await supervisor.start()
        await language_models
        assistant = Assistant(
            rasa,
            users,
            default_catalogs(),
            escalations=escalations,
            hours=settings.coordinator_hours,
            eraser=privacy.erase,
            bookings=bookings,
            outbox=Outbox(settings.run_dir / FILE_NAME),
            shared=shared.state,
        )
        if untranslated := assistant.catalogs.untranslated(list(languages.SUPPORTED), "safety"):
            logging.getLogger(__name__).warning("Crisis texts shown in English (no translation): %s", untranslated)
        stop_task = asyncio.create_task(stop.wait())
        if settings.telegram_token:
            front, handoff, reloader = telegram_parts(settings, assistant, escalations, bookings, shared)
            content_task = asyncio.create_task(reloader.watch())
            webhook = None
            if settings.webhook_url:
                webhook = WebhookConfig(
                    settings.webhook_url, settings.webhook_secret, settings.webhook_listen, settings.webhook_port
                )
            await front.start(webhook)
            if handoff:
                handoff.start()
            # What the database refused, here or in an earlier run: stored now and every few seconds.
            outbox_task = asyncio.create_task(keep_replaying(assistant.records.replay))
            mode = "by webhook" if webhook else "by long polling"
            progress(f"Ready after {time.monotonic() - started:.1f} s. Answering on Telegram {mode}; Ctrl-C stops.")
            await stop_task
            return 0
        outbox_task = asyncio.create_task(keep_replaying(assistant.records.replay))
        content_task = asyncio.create_task(ContentReloader(None).watch())
        progress(f"Ready after {time.monotonic() - started:.1f} s. Type a message; numbers press buttons; Ctrl-D ends.")
        chat = TerminalChat(assistant, pseudonym("terminal", os.getpid(), settings.pseudonym_secret))
        chat_task = asyncio.create_task(chat.run(await stdin_reader(), language))
        await asyncio.wait({chat_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        for task in (chat_task, stop_task):
            task.cancel()
        return 0
    finally:
        progress("Stopping...")
        purge_task.cancel()
        if content_task:
            content_task.cancel()
        if outbox_task:
            outbox_task.cancel()
        if assistant is not None:
            await assistant.records.settled()  # what a crisis reply put in the outbox, stored before leaving
        if handoff:
            await handoff.stop()
        if front:
            await front.stop()
        await rasa.close()
        await shared.close()
        if supervisor:
            await supervisor.stop()
        database.dispose()
        progress("Stopped.")
