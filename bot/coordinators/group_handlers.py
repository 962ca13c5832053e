"""The coordinators' group on Telegram: button presses under alerts and booking requests, the
log's commands, and replies to the bot's posts, passed to the hand-off as plain values.

Registered before a person's handlers (in a lower handler group), and stopping there, so that
nothing from the coordinators' group ever reaches the self-help conversation.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.conversation.assistant import command_word
from bot.coordinators.content_reload import RELOAD_COMMAND, ContentReloader
from bot.coordinators.handoff import LIST_COMMAND, REPORT_COMMAND, SHOW_COMMAND, Coordinator, HandOff
from bot.telegram_front.sending import retrying

#: PTB runs handler groups in ascending order; a person's handlers are in group 0.
HANDLER_GROUP = -1


class GroupHandlers:
    def __init__(self, handoff: HandOff, reloader: ContentReloader | None = None) -> None:
        self.handoff = handoff
        self.reloader = reloader

    def register(self, app: Application) -> None:
        app.add_handler(CallbackQueryHandler(self.on_button, pattern=r"^(esc|book):"), group=HANDLER_GROUP)
        group_texts = filters.Chat(self.handoff.group.chat_id) & filters.TEXT
        app.add_handler(MessageHandler(group_texts, self.on_message), group=HANDLER_GROUP)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        answer = await self.handoff.on_button(
            query.data or "", Coordinator(query.from_user.id, query.from_user.first_name)
        )
        if answer is not None:
            text, pop_up = answer
            await retrying(lambda: query.answer(text, show_alert=pop_up))
        raise ApplicationHandlerStop

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Commands and replies to the bot's posts; everything else in the group is conversation."""
        message = update.message
        if message is None or not message.text or message.from_user is None:
            raise ApplicationHandlerStop
        member = Coordinator(message.from_user.id, message.from_user.first_name)
        replied = message.reply_to_message
        about_us = replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id
        command = command_word(message.text)
        if command in (LIST_COMMAND, SHOW_COMMAND, REPORT_COMMAND):
            await self.handoff.on_command(command, message.text.split()[1:], member)
        elif command == RELOAD_COMMAND and self.reloader is not None:
            if self.handoff.is_coordinator(member.user_id):
                await self.reloader.reload()
            else:
                await self.handoff.on_command(command, [], member)  # audited, and told who may
        elif about_us and replied is not None:
            await self.handoff.on_reply(replied.text or "", message.text, member)
        raise ApplicationHandlerStop
