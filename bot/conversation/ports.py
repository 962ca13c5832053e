"""The interfaces between the conversation, the front end and the coordinators' side.

The composition root (bot/app.py) wires them; neither side imports the other:
- the coordinators' hand-off reaches people and the coordinators' group through a Messenger
  (implemented over Telegram in bot/telegram_front/sending.py, and by a fake in the fast tests);
- the front end asks the hand-off, as a PersonRelay, whether a coordinator talks with a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.conversation.replies import Reply
from bot.core.protocol import Button

#: Rows of buttons under a post in the coordinators' group.
Keyboard = Sequence[Sequence[Button]]


@dataclass(frozen=True)
class ReplyPrompt:
    """Opens the reply field under a post (Telegram's ForceReply)."""

    placeholder: str
    #: Only for the coordinator the post names (Telegram's `selective`), not for the whole group.
    selective: bool = False


class Messenger(Protocol):
    async def send(self, chat_id: int, replies: list[Reply]) -> None:
        """Sends replies to a person's chat (retrying; raises when Telegram keeps refusing)."""

    async def post(
        self,
        text: str,
        buttons: Keyboard = (),
        prompt: ReplyPrompt | None = None,
        urgent: bool = False,
        reply_to: int | None = None,
    ) -> int | None:
        """Posts to the coordinators' group; the new message's id, or None when it was not taken."""

    async def post_picture(self, png: bytes, caption: str) -> int | None:
        """Posts an image with a caption to the coordinators' group; None when it was not taken."""

    async def edit(self, message_id: int, text: str, buttons: Keyboard = ()) -> None:
        """Changes one of the bot's posts in the group; best effort."""

    async def delete(self, message_id: int) -> bool:
        """Deletes one of the bot's posts in the group; False when Telegram refused."""


class PersonRelay(Protocol):
    def is_connected(self, user_key: str) -> bool:
        """Whether a coordinator is talking with this person now."""

    async def relay_from_person(self, user_key: str, text: str, level: str | None = None) -> bool:
        """Passes the person's message to their coordinator; False when none is connected."""
