"""What happens to each update from a person's private chat: the safety screen first, a
coordinator if one is connected, otherwise the assistant.

Messages of one chat are handled in order, different chats concurrently. Crisis replies go out
at once, not behind this chat's earlier messages nor behind anyone else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.conversation.assistant import ERASE_CANCELLED, ERASE_CONFIRMED, Assistant, command_word
from bot.conversation.ports import PersonRelay
from bot.conversation.replies import Reply
from bot.core import languages
from bot.core.i18n import Catalogs
from bot.core.identity import pseudonym
from bot.core.person_limits import PerPersonLimit
from bot.telegram_front.sending import Sender, retrying

log = logging.getLogger(__name__)

#: What the person sends to the bot itself even while a coordinator talks with them.
FOR_THE_BOT = ("/delete", "/privacy", ERASE_CONFIRMED, ERASE_CANCELLED)
#: One person's messages that reach Rasa and the database: this many at once, then
#: MESSAGES_PER_MINUTE (30 unless configured). Risk is screened and answered whatever the budget.
BURST = 10
#: One person's messages read by the safety screen's model net: this many at once, then one a
#: second. Beyond it (someone flooding the bot) the word lists screen the rest, and whatever they
#: flag still goes to the model: the flood does not take the model's time from everyone else.
MODEL_BURST, MODEL_SECONDS = 20, 20.0
#: Someone over their budget hears it at most once in this many seconds.
SLOW_DOWN_NOTICE_SECONDS = 30.0


class ChatTurns:
    """One message of a chat at a time, different chats at once. A chat's lock exists only while
    that chat has messages in hand, so memory does not grow with the number of people."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        lock, holders = self._locks.get(chat_id, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[chat_id] = (lock, holders + 1)
        try:
            async with lock:
                yield
        finally:
            lock, holders = self._locks[chat_id]
            if holders == 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, holders - 1)

    def __len__(self) -> int:
        return len(self._locks)


class SharedChatTurns:
    """ChatTurns across replicas: one message of a chat at a time on any of them, by a lock in
    Redis per chat (redis-py's Lock: it lapses if its holder dies, so a chat never stays stuck)."""

    #: A turn longer than this (Rasa's timeout and a few Telegram retries) lets the next one go.
    HOLD_SECONDS = 60.0

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis  # redis.asyncio.Redis
        self.prefix = prefix
        self._here = ChatTurns()  # while Redis cannot be reached: this process's turns

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        lock = self.redis.lock(f"{self.prefix}:chat:{chat_id}", timeout=self.HOLD_SECONDS, sleep=0.02)
        try:
            await lock.acquire()
        except Exception as error:  # Redis unreachable: the person is still answered
            log.error("A chat's turn could not be taken in Redis (%s); taken here", type(error).__name__)
            async with self._here.turn(chat_id):
                yield
            return
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # lapsed already: nothing to release
                await lock.release()


def button_title(message: Any, data: str | None) -> str:
    """The title of the pressed button, as the person saw it; the payload when it is not known."""
    markup = getattr(message, "reply_markup", None)
    rows = markup.inline_keyboard if markup else ()
    return next((button.text for row in rows for button in row if button.callback_data == data), data or "")


class PersonHandlers:
    def __init__(
        self,
        assistant: Assistant,
        sender: Sender,
        catalogs: Catalogs,
        pseudonym_secret: str,
        relay: PersonRelay | None = None,
        coordinator_chat_id: int | None = None,
        messages_per_minute: float = 30,
        turns: ChatTurns | SharedChatTurns | None = None,
    ) -> None:
        self.assistant = assistant
        self.sender = sender
        self.catalogs = catalogs
        self.secret = pseudonym_secret
        self.relay = relay
        self.coordinator_chat_id = coordinator_chat_id
        self.turns = turns or ChatTurns()
        # aiolimiter's bucket: BURST at once, refilled at messages_per_minute.
        self.budget = PerPersonLimit(BURST, BURST * 60 / messages_per_minute)
        self._slow_down_notices = PerPersonLimit(1, SLOW_DOWN_NOTICE_SECONDS)
        self._model_budget = PerPersonLimit(MODEL_BURST, MODEL_SECONDS)

    def register(self, app: Application) -> None:
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, self.on_edited))
        app.add_handler(MessageHandler(filters.TEXT, self.on_text))
        app.add_handler(MessageHandler(filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE, self.on_voice))
        app.add_handler(MessageHandler(filters.ALL, self.on_other))

    def _person(self, update: Update) -> str:
        """The person's pseudonymous key; where their chat is, while this process runs (memory only)."""
        user = update.effective_user
        assert user is not None
        key = pseudonym("telegram", user.id, self.secret)
        if update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
            self.assistant.remember_chat(key, update.effective_chat.id)
        return key

    async def _note(self, update: Update, user_key: str) -> None:
        """That the person wrote, and their app's language on first contact (the database, in a
        worker thread; a crisis reply does not wait for it)."""
        user = update.effective_user
        await self.assistant.note_person(user_key, user.language_code if user else None)

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
            await retrying(lambda: self.sender.bot.send_message(chat.id, text))
        return False

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await self._private_only(update) or update.message is None:
            return
        chat_id, text = update.message.chat_id, update.message.text or ""
        user_key = self._person(update)
        model = await self._model_budget.allow(user_key)
        assessment = await self.assistant.screen_message(user_key, text, model)
        log.debug("A message of %d characters: screen says %s", len(text), assessment.level.value)
        if assessment.is_risk:
            # At once: not behind this chat's earlier messages, nor behind anyone else's, nor the database.
            await self.sender.send(chat_id, await self.assistant.crisis_replies(user_key, assessment, text))
            await self._note(update, user_key)
            if self.relay:
                await self.relay.relay_from_person(user_key, text, assessment.level.value)
            return
        await self._note(update, user_key)
        command = command_word(text)
        if command not in FOR_THE_BOT and self.relay and await self.relay.relay_from_person(user_key, text):
            return  # a coordinator is talking with this person
        if not await self._within_budget(chat_id, user_key):
            return
        async with self.turns.turn(chat_id):
            if command == "/start":
                language_code = update.effective_user.language_code if update.effective_user else None
                work = self.assistant.start(user_key, language_code)
            else:
                work = self.assistant.handle_text(user_key, text, assessment)
            await self.sender.send(chat_id, await self.sender.while_typing(chat_id, work))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.message is None:
            return
        chat_id, user_key = query.message.chat.id, self._person(update)
        await self._note(update, user_key)
        await retrying(query.answer)
        if not await self._within_budget(chat_id, user_key):
            return
        async with self.turns.turn(chat_id):
            # The keyboard goes, so the same button cannot be pressed twice.
            await retrying(lambda: query.edit_message_reply_markup(reply_markup=None))
            if self.relay and self.relay.is_connected(user_key) and query.data not in FOR_THE_BOT:
                # A coordinator is talking with this person: they see which button was pressed.
                await self.relay.relay_from_person(user_key, f"[{button_title(query.message, query.data)}]")
                return
            work = self.assistant.handle_text(user_key, query.data or "")
            await self.sender.send(chat_id, await self.sender.while_typing(chat_id, work))

    async def _within_budget(self, chat_id: int, user_key: str) -> bool:
        """Whether this message may go on to Rasa; someone over their budget is told, now and then."""
        if await self.budget.allow(user_key):
            return True
        log.info("A person is over their message budget; a message was not passed on")
        if await self._slow_down_notices.allow(user_key):
            language = await self.assistant.language_of(user_key)
            t = self.catalogs.for_language(language)
            text = t.pgettext(
                "bot",
                "You are writing faster than I can read. Please wait a moment, then send your message again.",
            )
            await self.sender.send(chat_id, [Reply(text, language)])
        return False

    async def on_voice(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._not_text(update, with_menu=True)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._not_text(update, with_menu=False)

    async def _not_text(self, update: Update, with_menu: bool) -> None:
        if not await self._private_only(update) or update.message is None:
            return
        chat_id, user_key = update.message.chat_id, self._person(update)
        await self._note(update, user_key)
        async with self.turns.turn(chat_id):
            language = await self.assistant.language_of(user_key)
            t = self.catalogs.for_language(language)
            text = t.pgettext("bot", "I can only read text messages. Please write to me in words.")
            replies = [Reply(text, language)]
            if with_menu:
                replies += await self.assistant.handle_text(user_key, "/topics")
            await self.sender.send(chat_id, replies)

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message is read again by the safety screen only: risk must never be missed."""
        message = update.edited_message
        if message is None or not message.text or not await self._private_only(update):
            return
        user_key = self._person(update)
        assessment = await self.assistant.screen_message(user_key, message.text)
        if assessment.is_risk:
            async with self.turns.turn(message.chat_id):
                replies = await self.assistant.crisis_replies(user_key, assessment, message.text)
                await self.sender.send(message.chat_id, replies)
