"""Sending to Telegram: replies split under its limits, keyboards, retries, typing indicators,
and the coordinators' group as a Messenger for the hand-off.

Replies are plain text (nothing to escape, so no message fails on a stray < or *), split under
Telegram's 4,096-character limit. How fast they go out is CrisisFirstRateLimiter's concern;
network errors and 5xx are retried here with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import Bot, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ChatAction
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.conversation.ports import Keyboard, ReplyPrompt
from bot.conversation.replies import Reply
from bot.core.languages import is_rtl
from bot.core.protocol import Button
from bot.core.text_direction import mark_right_to_left
from bot.telegram_front import deliveries
from bot.telegram_front.rate_limit import IF_IDLE, URGENT
from bot.telegram_front.urgent_lane import UrgentLane

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4096
MAX_CAPTION_CHARS = 1024  # a photo's caption, in the Bot API
MAX_CALLBACK_BYTES = 64
SEND_ATTEMPTS = 4
#: Telegram lets a bot delete its own messages for 48 hours; we remember this many per chat, in memory.
DELETABLE_SECONDS = 47 * 3600
REMEMBERED_MESSAGES = 300
#: ...in this many chats at most (the least recently used chat is forgotten first).
REMEMBERED_CHATS = 10_000
TYPING_AFTER_SECONDS = 0.3  # a quick answer needs no typing indicator (and spends no Bot API call on one)
T = TypeVar("T")


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


def keyboard(buttons: list[Button]) -> InlineKeyboardMarkup | None:
    """A person's buttons: two short ones share a row, long titles get a row of their own."""
    fitting = [
        InlineKeyboardButton(button.title, callback_data=button.payload)
        for button in buttons
        if len(button.payload.encode()) <= MAX_CALLBACK_BYTES
    ]
    if not fitting:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for button in fitting:
        if rows and len(rows[-1]) == 1 and len(rows[-1][0].text) <= 18 and len(button.text) <= 18:
            rows[-1].append(button)
        else:
            rows.append([button])
    return InlineKeyboardMarkup(rows)


def markup(buttons: Keyboard, prompt: ReplyPrompt | None = None) -> InlineKeyboardMarkup | ForceReply | None:
    """The coordinators' rows of buttons as they are, or a reply field."""
    if prompt is not None:
        return ForceReply(selective=prompt.selective, input_field_placeholder=prompt.placeholder)
    rows = [[InlineKeyboardButton(b.title, callback_data=b.payload) for b in row] for row in buttons if row]
    return InlineKeyboardMarkup(rows) if rows else None


async def retrying(call: Callable[[], Awaitable[T]]) -> T:
    """Retries network errors and server errors with backoff; the rate limiter handles 429. A 400
    (BadRequest: too old to delete, message not found...) is Telegram's final word: not retried."""
    delay = 1.0
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as error:
            await asyncio.sleep(_seconds(error.retry_after))
        except BadRequest:
            raise
        except (NetworkError, TimedOut) as error:
            if attempt == SEND_ATTEMPTS:
                raise
            log.warning("Telegram call failed (%s); retrying in %.0f s", type(error).__name__, delay)
            await asyncio.sleep(delay)
            delay *= 2
    return await call()


def _seconds(value: Any) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


class Sender:
    """Sends replies to people's chats and remembers the bot's recent messages there (memory
    only), so that /delete can remove them. Crisis replies and urgent alerts go through the
    urgent lane when there is one (urgent_lane.py)."""

    def __init__(self, bot: Bot, urgent: UrgentLane | None = None) -> None:
        self.bot = bot
        self.urgent = urgent
        self._sent: OrderedDict[int, deque[tuple[int, float]]] = OrderedDict()

    async def start(self) -> None:
        if self.urgent is not None:
            await self.urgent.start()

    async def stop(self) -> None:
        if self.urgent is not None:
            await self.urgent.stop()

    async def send_message(self, chat_id: int | str, text: str, urgent: bool = False, **kwargs: Any) -> Message:
        """One message; an urgent one skips the queues (the rate limiter's and, with the urgent
        lane, the main event loop's)."""
        if urgent and self.urgent is not None and self.urgent.running:
            return await self.urgent.send_message(chat_id, text, **kwargs)
        return await self.bot.send_message(chat_id, text, rate_limit_args=URGENT if urgent else None, **kwargs)

    def _remember(self, chat_id: int, message_id: int) -> None:
        sent = self._sent.setdefault(chat_id, deque(maxlen=REMEMBERED_MESSAGES))
        sent.append((message_id, time.monotonic()))
        self._sent.move_to_end(chat_id)
        while len(self._sent) > REMEMBERED_CHATS:
            self._sent.popitem(last=False)

    async def send(self, chat_id: int, replies: list[Reply]) -> None:
        for reply in replies:
            if reply.clears_chat:
                await self.delete_recent_messages(chat_id)
            text = mark_right_to_left(reply.text) if is_rtl(reply.language) else reply.text
            pieces = split_message(text) if text else []
            buttons = keyboard(reply.buttons)
            for index, piece in enumerate(pieces):
                buttons_here = buttons if index == len(pieces) - 1 else None
                update = deliveries.current.get()
                if update is not None and not await update.should_send():
                    continue  # sent by a replica that died while handling this update
                sent = await retrying(
                    lambda piece=piece, buttons=buttons_here, urgent=reply.urgent: self.send_message(
                        chat_id, piece, urgent, reply_markup=buttons
                    )
                )
                self._remember(chat_id, sent.message_id)
                if update is not None:
                    await update.note_sent()

    async def delete_recent_messages(self, chat_id: int) -> int:
        """Deletes the bot's messages in a chat that Telegram still lets it delete; returns how many."""
        recent = self._sent.pop(chat_id, deque())
        deleted = 0
        for message_id, sent_at in recent:
            if time.monotonic() - sent_at > DELETABLE_SECONDS:
                continue
            try:
                await retrying(lambda message_id=message_id: self.bot.delete_message(chat_id, message_id))
                deleted += 1
            except Exception as error:  # already deleted by the person, or too old
                log.info("Could not delete a message (%s)", type(error).__name__)
        return deleted

    async def while_typing(self, chat_id: int, work: Awaitable[T]) -> T:
        """Awaits `work`; if it takes a moment, shows "typing..." meanwhile."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=TYPING_AFTER_SECONDS)
        if not done:
            try:
                await self.bot.send_chat_action(chat_id, ChatAction.TYPING, rate_limit_args=IF_IDLE)
            except Exception as error:  # a missing typing indicator is not worth a retry
                log.info("Typing indicator failed: %s", type(error).__name__)
        return await task


class GroupMessenger:
    """The hand-off's Messenger over Telegram: people's chats through the Sender, and posts in the
    coordinators' group."""

    def __init__(self, sender: Sender, group_chat_id: int) -> None:
        self.sender = sender
        self.chat_id = group_chat_id

    async def send(self, chat_id: int, replies: list[Reply]) -> None:
        await self.sender.send(chat_id, replies)

    async def post(
        self,
        text: str,
        buttons: Keyboard = (),
        prompt: ReplyPrompt | None = None,
        urgent: bool = False,
        reply_to: int | None = None,
    ) -> int | None:
        try:
            message = await retrying(
                lambda: self.sender.send_message(
                    self.chat_id,
                    text[:MAX_MESSAGE_CHARS],
                    urgent,
                    reply_markup=markup(buttons, prompt),
                    reply_to_message_id=reply_to,
                    allow_sending_without_reply=True,
                )
            )
        except Exception as error:  # the hand-off's timer tries again from the database
            log.warning("Posting to the coordinators' group failed (%s)", type(error).__name__)
            return None
        return message.message_id

    async def post_picture(self, png: bytes, caption: str) -> int | None:
        try:
            message = await retrying(
                lambda: self.sender.bot.send_photo(self.chat_id, png, caption=caption[:MAX_CAPTION_CHARS])
            )
        except Exception as error:
            log.warning("Posting a picture to the coordinators' group failed (%s)", type(error).__name__)
            return None
        return message.message_id

    async def edit(self, message_id: int, text: str, buttons: Keyboard = ()) -> None:
        try:
            await retrying(
                lambda: self.sender.bot.edit_message_text(
                    text[:MAX_MESSAGE_CHARS], chat_id=self.chat_id, message_id=message_id, reply_markup=markup(buttons)
                )
            )
        except Exception as error:
            log.info("Updating a post in the group failed (%s)", type(error).__name__)

    async def delete(self, message_id: int) -> bool:
        try:
            return bool(await retrying(lambda: self.sender.bot.delete_message(self.chat_id, message_id)))
        except Exception as error:
            log.info("Deleting a post in the group failed (%s)", type(error).__name__)
            return False
