"""The Telegram front end: updates in, the Assistant's replies out as messages and keyboards.

Long polling against TELEGRAM_API_URL (a stand-in server in the tests). Messages of one chat are
handled in order, different chats concurrently. Replies are plain text (nothing to escape, so no
message fails on a stray < or *), split under Telegram's 4,096-character limit. How fast replies
go out is CrisisFirstRateLimiter's concern; network errors and 5xx are retried with backoff. Bot
API calls go over aiohttp (bot/telegram_front/http_transport.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from aiolimiter import AsyncLimiter
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter, Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.conversation.assistant import ERASE_CANCELLED, ERASE_CONFIRMED, Assistant, Reply
from bot.core import languages
from bot.core.i18n import Catalogs
from bot.core.identity import pseudonym
from bot.storage.db import DatabaseError
from bot.telegram_front.http_transport import AiohttpRequest

if TYPE_CHECKING:
    from bot.coordinators.handoff import HandOff

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4096
MAX_CALLBACK_BYTES = 64
SEND_ATTEMPTS = 4
MAX_CONCURRENT_UPDATES = 4096
#: Telegram lets a bot delete its own messages for 48 hours; we remember this many per chat, in memory.
DELETABLE_SECONDS = 47 * 3600
REMEMBERED_MESSAGES = 300
TYPING_AFTER_SECONDS = 0.3  # a quick answer needs no typing indicator (and spends no Bot API call on one)
T = TypeVar("T")

#: Commands shown in Telegram's menu, with their descriptions (translated per language).
COMMANDS = ("start", "help", "topics", "language", "book", "privacy", "delete")
#: What the person sends to the bot itself even while a coordinator talks with them.
FOR_THE_BOT = ("/delete", "/privacy", ERASE_CONFIRMED, ERASE_CANCELLED)


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str
    listen: str
    port: int

    @property
    def path(self) -> str:
        return urlsplit(self.url).path.lstrip("/")


#: rate_limit_args values (see CrisisFirstRateLimiter): a crisis reply, and a typing indicator.
URGENT = "urgent"
IF_IDLE = "if_idle"
#: After Telegram answers 429, the bot keeps under its documented 30 messages a second this long.
SLOW_DOWN_SECONDS = 60.0


class CrisisFirstRateLimiter(AIORateLimiter):
    """How fast the bot calls Telegram.

    - Crisis replies never wait, neither behind other people's messages nor for a budget.
    - Replies go at Telegram's pace. Its Bots FAQ gives about 30 messages a second for bulk
      notifications; a bot answering the people who write to it is not broadcasting, so replies
      are not held to that in advance. When Telegram answers 429 all the same, every call waits
      the retry_after it names (PTB does this), and for SLOW_DOWN_SECONDS the bot keeps under 30
      a second. Groups always keep PTB's 20 messages a minute.
    - Typing indicators are skipped while less than half of that budget is free.
    """

    def __init__(self, max_retries: int) -> None:
        self._pushed_back_at = -math.inf
        super().__init__(max_retries=max_retries)

    # PTB applies `_base_limiter` (30 a second) to every call to a chat; here only after a 429.
    @property  # type: ignore[override]
    def _base_limiter(self) -> AsyncLimiter | None:
        return self._budget if self.slowed_down() else None

    @_base_limiter.setter
    def _base_limiter(self, limiter: AsyncLimiter | None) -> None:
        self._budget = limiter

    def slowed_down(self) -> bool:
        return time.monotonic() - self._pushed_back_at < SLOW_DOWN_SECONDS

    async def process_request(
        self,
        callback: Callable[..., Awaitable[Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> Any:
        async def noting_push_back(*call_args: Any, **call_kwargs: Any) -> Any:
            try:
                return await callback(*call_args, **call_kwargs)
            except RetryAfter:
                self._pushed_back_at = time.monotonic()
                raise

        if rate_limit_args == URGENT:
            return await noting_push_back(*args, **kwargs)  # a 429 here is retried by the front end
        if rate_limit_args == IF_IDLE:
            budget = self._base_limiter
            if budget is not None and not budget.has_capacity(budget.max_rate / 2):
                return True  # skipped: half the budget stays free for replies
            rate_limit_args = None  # PTB reads a number here: the retries for this call
        return await super().process_request(noting_push_back, args, kwargs, endpoint, data, rate_limit_args)


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


def split_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Splits at paragraph, then sentence, then word boundaries so every piece fits Telegram."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for unit in _units(text, limit):
        joiner = "" if not current else ("\n\n" if unit.startswith("\x00") else " ")
        unit = unit.lstrip("\x00")
        if len(current) + len(joiner) + len(unit) <= limit:
            current += joiner + unit
        else:
            if current:
                pieces.append(current)
            current = unit
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, limit: int) -> list[str]:
    """Paragraphs (marked with a leading NUL), broken into sentences and words only when too long."""
    units: list[str] = []
    for paragraph in (p for p in text.split("\n\n") if p.strip()):
        marker = "\x00"
        parts = [paragraph] if len(paragraph) <= limit else re.split(r"(?<=[.!?؟。])\s+", paragraph)
        for part in parts:
            while len(part) > limit:
                cut = part.rfind(" ", 0, limit)
                cut = cut if cut > 0 else limit
                units.append(marker + part[:cut])
                marker, part = "", part[cut:].lstrip()
            units.append(marker + part)
            marker = ""
    return units


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    buttons = [
        InlineKeyboardButton(button.title, callback_data=button.payload)
        for button in reply.buttons
        if len(button.payload.encode()) <= MAX_CALLBACK_BYTES
    ]
    if not buttons:
        return None
    # Two short buttons share a row; long titles get a row of their own, for small screens.
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        if rows and len(rows[-1]) == 1 and len(rows[-1][0].text) <= 18 and len(button.text) <= 18:
            rows[-1].append(button)
        else:
            rows.append([button])
    return InlineKeyboardMarkup(rows)


def button_title(message: Any, data: str | None) -> str:
    """The title of the pressed button, as the person saw it; the payload when it is not known."""
    markup = getattr(message, "reply_markup", None)
    rows = markup.inline_keyboard if markup else ()
    return next((button.text for row in rows for button in row if button.callback_data == data), data or "")


class TelegramFrontEnd:
    def __init__(
        self,
        token: str,
        api_url: str,
        assistant: Assistant,
        catalogs: Catalogs,
        pseudonym_secret: str,
        coordinator_chat_id: int | None = None,
    ) -> None:
        self.assistant = assistant
        self.coordinator_chat_id = coordinator_chat_id
        self.catalogs = catalogs
        self.secret = pseudonym_secret
        self._chat_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        #: The bot's recent messages per chat (id, when), so /delete can remove them. Memory only.
        self._sent: defaultdict[int, deque[tuple[int, float]]] = defaultdict(lambda: deque(maxlen=REMEMBERED_MESSAGES))
        self.handoff: HandOff | None = None
        api = api_url.rstrip("/")
        self.app = (
            Application.builder()
            .token(token)
            .base_url(f"{api}/bot")
            .base_file_url(f"{api}/file/bot")
            # Updates waiting for their chat's turn are cheap; a low bound would let a few busy chats
            # hold every slot and keep everyone else waiting.
            .concurrent_updates(MAX_CONCURRENT_UPDATES)
            .rate_limiter(CrisisFirstRateLimiter(max_retries=5))
            .request(AiohttpRequest())
            .get_updates_request(AiohttpRequest(pool_size=1))
            .build()
        )
        if coordinator_chat_id is not None:
            # The coordinators' group first: alerts' buttons, commands and replies to the person.
            self.app.add_handler(CallbackQueryHandler(self.on_coordinator_button, pattern=r"^(esc|book):"))
            self.app.add_handler(
                MessageHandler(filters.Chat(coordinator_chat_id) & filters.TEXT, self.on_coordinator_message)
            )
        self.app.add_handler(CallbackQueryHandler(self.on_button))
        self.app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, self.on_edited))
        self.app.add_handler(MessageHandler(filters.TEXT, self.on_text))
        self.app.add_handler(MessageHandler(filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE, self.on_voice))
        self.app.add_handler(MessageHandler(filters.ALL, self.on_other))
        self.app.add_error_handler(self.on_error)

    async def start(self, webhook: WebhookConfig | None = None) -> None:
        """Registers the commands, then long polling, or a webhook when one is configured."""
        await self.app.initialize()
        for language in languages.SUPPORTED:
            code = None if language == languages.DEFAULT else language
            await self.retrying(lambda code=code, language=language: self.app.bot.set_my_commands(
                command_descriptions(self.catalogs, language), language_code=code))  # fmt: skip
        await self.app.start()
        if webhook is None:
            await self.app.updater.start_polling(timeout=10, allowed_updates=Update.ALL_TYPES)
            return
        # Telegram sends the secret in X-Telegram-Bot-Api-Secret-Token; PTB refuses requests without it.
        await self.app.updater.start_webhook(
            listen=webhook.listen,
            port=webhook.port,
            url_path=webhook.path,
            webhook_url=webhook.url,
            secret_token=webhook.secret,
            allowed_updates=Update.ALL_TYPES,
        )

    async def stop(self) -> None:
        if self.handoff:
            await self.handoff.stop()
        if self.app.updater and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    # --- handlers ------------------------------------------------------------------------------
    def _user_key(self, update: Update) -> str:
        user = update.effective_user
        assert user is not None
        key = pseudonym("telegram", user.id, self.secret)
        try:
            self.assistant.remember_client_language(key, user.language_code)
            self.assistant.users.seen(key)
        except DatabaseError as error:  # never in the way of an answer, least of all a crisis answer
            log.error("Could not read or store the person's language (%s)", type(error).__name__)
        if update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
            self.assistant.contacts[key] = update.effective_chat.id
        return key

    async def on_coordinator_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self.handoff:
            await self.handoff.on_button(update, context)

    async def on_coordinator_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self.handoff:
            await self.handoff.on_group_message(update, context)

    async def _private_only(self, update: Update) -> bool:
        chat = update.effective_chat
        if chat is None or chat.type == ChatType.PRIVATE:
            return True
        if chat.id == self.coordinator_chat_id:
            return False  # the coordinators' own group: the hand-off handles it, never the assistant
        if update.message and update.message.text and update.message.text.startswith("/"):
            t = self.catalogs.for_language(
                languages.resolve(update.effective_user and update.effective_user.language_code)
            )
            text = t.pgettext("bot", "I only talk in private chats. Please write to me directly.")
            await self.retrying(lambda: self.app.bot.send_message(chat.id, text))
        return False

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await self._private_only(update) or update.message is None:
            return
        chat_id, text = update.message.chat_id, update.message.text or ""
        user_key = self._user_key(update)
        assessment = await self.assistant.screen_message(user_key, text)
        log.debug("A message of %d characters: screen says %s", len(text), assessment.level.value)
        if assessment.is_risk:
            # At once: not behind this chat's earlier messages, nor behind anyone else's.
            await self.send(chat_id, self.assistant.crisis_replies(user_key, assessment, text))
            if self.handoff:
                await self.handoff.relay_from_person(user_key, text, assessment.level.value)
            return
        command = text.split(maxsplit=1)[0].split("@")[0] if text.strip() else ""
        if command not in FOR_THE_BOT and self.handoff and await self.handoff.relay_from_person(user_key, text):
            return  # a coordinator is talking with this person
        async with self._chat_locks[chat_id]:
            if command == "/start":
                language_code = update.effective_user.language_code if update.effective_user else None
                replies = await self._while_typing(chat_id, self.assistant.start(user_key, language_code))
            else:
                replies = await self._while_typing(chat_id, self.assistant.handle_text(user_key, text, assessment))
            await self.send(chat_id, replies)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.message is None:
            return
        chat_id, user_key = query.message.chat.id, self._user_key(update)
        await self.retrying(query.answer)
        async with self._chat_locks[chat_id]:
            # The keyboard goes, so the same button cannot be pressed twice.
            await self.retrying(lambda: query.edit_message_reply_markup(reply_markup=None))
            if self.handoff and user_key in self.handoff.connected and query.data not in FOR_THE_BOT:
                # A coordinator is talking with this person: they see which button was pressed.
                await self.handoff.relay_from_person(user_key, f"[{button_title(query.message, query.data)}]")
                return
            replies = await self._while_typing(chat_id, self.assistant.handle_text(user_key, query.data or ""))
            await self.send(chat_id, replies)

    async def on_voice(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._not_text(update, with_menu=True)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._not_text(update, with_menu=False)

    async def _not_text(self, update: Update, with_menu: bool) -> None:
        if not await self._private_only(update) or update.message is None:
            return
        chat_id, user_key = update.message.chat_id, self._user_key(update)
        async with self._chat_locks[chat_id]:
            language = self.assistant.language(user_key)
            t = self.catalogs.for_language(language)
            text = t.pgettext("bot", "I can only read text messages. Please write to me in words.")
            replies = [Reply(text, language)]
            if with_menu:
                replies += await self.assistant.handle_text(user_key, "/topics")
            await self.send(chat_id, replies)

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message is read again by the safety screen only: risk must never be missed."""
        message = update.edited_message
        if message is None or not message.text or not await self._private_only(update):
            return
        user_key = self._user_key(update)
        assessment = await self.assistant.screen_message(user_key, message.text)
        if assessment.is_risk:
            async with self._chat_locks[message.chat_id]:
                await self.send(message.chat_id, self.assistant.crisis_replies(user_key, assessment, message.text))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # With its traceback: database errors hide their parameters (bot.storage.db), and the log's
        # formatter removes tokens and ids (bot.core.log_privacy).
        error = context.error
        log.error("Handling an update failed: %s", type(error).__name__, exc_info=error)

    # --- sending -------------------------------------------------------------------------------
    async def _while_typing(self, chat_id: int, work: Awaitable[T]) -> T:
        """Awaits `work`; if it takes a moment, shows "typing..." meanwhile."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=TYPING_AFTER_SECONDS)
        if not done:
            try:
                await self.app.bot.send_chat_action(chat_id, ChatAction.TYPING, rate_limit_args=IF_IDLE)
            except Exception as error:  # a missing typing indicator is not worth a retry
                log.info("Typing indicator failed: %s", type(error).__name__)
        return await task

    async def send(self, chat_id: int, replies: list[Reply]) -> None:
        for reply in replies:
            if reply.clears_chat:
                await self.delete_recent_messages(chat_id)
            pieces = split_message(reply.text) if reply.text else []
            markup = keyboard(reply)
            for index, piece in enumerate(pieces):
                markup_here = markup if index == len(pieces) - 1 else None
                sent = await self.retrying(
                    lambda piece=piece, markup=markup_here, urgent=reply.urgent: self.app.bot.send_message(
                        chat_id, piece, reply_markup=markup, rate_limit_args=URGENT if urgent else None
                    )
                )
                self._sent[chat_id].append((sent.message_id, time.monotonic()))

    async def delete_recent_messages(self, chat_id: int) -> int:
        """Deletes the bot's messages in a chat that Telegram still lets it delete; returns how many."""
        recent = self._sent.pop(chat_id, deque())
        deleted = 0
        for message_id, sent_at in recent:
            if time.monotonic() - sent_at > DELETABLE_SECONDS:
                continue
            try:
                await self.retrying(lambda message_id=message_id: self.app.bot.delete_message(chat_id, message_id))
                deleted += 1
            except Exception as error:  # already deleted by the person, or too old
                log.info("Could not delete a message (%s)", type(error).__name__)
        return deleted

    async def retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """Retries network errors and server errors with backoff; the rate limiter handles 429."""
        delay = 1.0
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await call()
            except RetryAfter as error:
                await asyncio.sleep(_seconds(error.retry_after))
            except (NetworkError, TimedOut) as error:
                if attempt == SEND_ATTEMPTS:
                    raise
                log.warning("Telegram call failed (%s); retrying in %.0f s", type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay *= 2
        return await call()


def _seconds(value: Any) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)
