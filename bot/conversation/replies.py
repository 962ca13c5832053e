"""What the conversation answers: messages for the person, whatever the front end."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.protocol import Button


@dataclass
class Reply:
    """One message for the person, in the language it was written in."""

    text: str
    language: str
    buttons: list[Button] = field(default_factory=list)
    urgent: bool = False  # a crisis reply: sent before anything else that waits
    clears_chat: bool = False  # the person's data was erased: delete the bot's earlier messages first
