"""The Telegram application: built once, with the crisis-first rate limiter and PTB's own HTTP
transport (httpx); started by long polling against TELEGRAM_API_URL (a stand-in server in the
tests), or by webhook when TELEGRAM_WEBHOOK_URL is set (webhook.py).

Handlers: the coordinators' group's (bot/coordinators/group_handlers.py, registered by the
composition root when a group is configured) come first; then a person's (person_handlers.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.ext import Application, ContextTypes

from bot.core import languages
from bot.core.i18n import Catalogs
from bot.telegram_front.deliveries import Deliveries, MemoryDeliveries
from bot.telegram_front.person_handlers import PersonHandlers
from bot.telegram_front.rate_limit import CrisisFirstRateLimiter, SharedPace
from bot.telegram_front.sending import retrying
from bot.telegram_front.webhook import WebhookServer

log = logging.getLogger(__name__)

#: Updates waiting for their chat's turn are cheap; a low bound would let a few busy chats hold
#: every slot and keep everyone else waiting.
MAX_CONCURRENT_UPDATES = 4096
#: Commands shown in Telegram's menu, with their descriptions (translated per language).
COMMANDS = ("start", "help", "topics", "language", "book", "privacy", "delete")
#: The updates the bot handles: messages, their edits, and button presses.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str
    listen: str
    port: int

    @property
    def path(self) -> str:
        return urlsplit(self.url).path.lstrip("/")


def build_application(token: str, api_url: str, shared: SharedPace | None = None) -> Application:
    """`shared`: replicas keep Telegram's limits together (rate_limit.SharedPace)."""
    api = api_url.rstrip("/")
    return (
        Application.builder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(MAX_CONCURRENT_UPDATES)
        .rate_limiter(CrisisFirstRateLimiter(max_retries=5, shared=shared))
        .build()
    )


def command_descriptions(catalogs: Catalogs, language: str) -> list[BotCommand]:
    t = catalogs.for_language(language)
    texts = {
        "start": t.pgettext("command", "Start and choose a topic"),
        "help": t.pgettext("command", "What I can help with"),
        "topics": t.pgettext("command", "Self-care topics"),
        "language": t.pgettext("command", "Change the language"),
        "book": t.pgettext("command", "Talk to a volunteer"),
        "privacy": t.pgettext("command", "What we keep about you"),
        "delete": t.pgettext("command", "Delete your data"),
    }
    return [BotCommand(command, texts[command]) for command in COMMANDS]


class TelegramFrontEnd:
    """People's private chats on Telegram, and the application's life cycle."""

    def __init__(
        self, app: Application, catalogs: Catalogs, handlers: PersonHandlers, deliveries: Deliveries | None = None
    ) -> None:
        self.app = app
        self.catalogs = catalogs
        #: Which updates were handled (shared by the replicas in Redis); for the webhook.
        self.deliveries = deliveries or MemoryDeliveries()
        self.sender = handlers.sender
        self._webhook: WebhookServer | None = None
        handlers.register(app)
        app.add_error_handler(self.on_error)

    async def start(self, webhook: WebhookConfig | None = None) -> None:
        """Registers the commands, then long polling, or a webhook when one is configured."""
        await self.app.initialize()
        await self.sender.start()
        for language in languages.SUPPORTED:
            code = None if language == languages.DEFAULT else language
            await retrying(lambda code=code, language=language: self.app.bot.set_my_commands(
                command_descriptions(self.catalogs, language), language_code=code))  # fmt: skip
        await self.app.start()
        if webhook is None:
            await self.app.updater.start_polling(timeout=10, allowed_updates=ALLOWED_UPDATES)
            return
        # Our own server, which keeps each update before answering Telegram (webhook.py).
        self._webhook = WebhookServer(self.app, webhook.path, webhook.secret, self.deliveries)
        await self._webhook.start(webhook.listen, webhook.port)
        # Telegram sends the secret in X-Telegram-Bot-Api-Secret-Token; the server refuses requests without it.
        await retrying(lambda: self.app.bot.set_webhook(
            webhook.url, secret_token=webhook.secret, allowed_updates=ALLOWED_UPDATES))  # fmt: skip

    async def stop(self) -> None:
        if self._webhook is not None:
            await self._webhook.stop()
        if self.app.updater and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        await self.sender.stop()

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # With its traceback: database errors hide their parameters (bot.storage.db), and the log's
        # formatter removes tokens and ids (bot.core.log_privacy).
        error = context.error
        log.error("Handling an update failed: %s", type(error).__name__, exc_info=error)
