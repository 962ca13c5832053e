"""A chat in the terminal that takes the same way as a Telegram message: bot → Rasa → NLG → actions.

Buttons are listed with numbers; type the number to press one. Commands work as on Telegram
(/start, /topics, /language ar, /book, /privacy, /delete). End with Ctrl-D or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.conversation.assistant import Assistant
from bot.conversation.replies import Reply
from bot.core.languages import is_rtl
from bot.core.protocol import Button

PROMPT = "you> "
RLM = "\u200f"  # keeps right-to-left lines in order on terminals that honour it


def render(reply: Reply, first_number: int, rtl: bool) -> str:
    mark = RLM if rtl else ""
    lines = [
        f"{mark}bot> {line}" if index == 0 else f"{mark}     {line}"
        for index, line in enumerate(reply.text.splitlines() or [""])
    ]
    for offset, button in enumerate(reply.buttons):
        lines.append(f"{mark}     [{first_number + offset}] {button.title}")
    return "\n".join(lines)


class TerminalChat:
    def __init__(self, assistant: Assistant, user_key: str, out: TextIO = sys.stdout) -> None:
        self.assistant = assistant
        self.user_key = user_key
        self.out = out
        self.buttons: list[Button] = []

    def show(self, replies: list[Reply]) -> None:
        self.buttons = []
        for reply in replies:
            print(render(reply, len(self.buttons) + 1, is_rtl(reply.language)), file=self.out)
            self.buttons.extend(reply.buttons)
        print(PROMPT, end="", file=self.out, flush=True)

    def resolve_input(self, line: str) -> str:
        """A button number becomes that button's payload; anything else is sent as typed."""
        choice = line.strip()
        if choice.isdigit() and 1 <= int(choice) <= len(self.buttons):
            return self.buttons[int(choice) - 1].payload
        return line

    async def run(self, stdin: asyncio.StreamReader, client_language: str | None = None) -> None:
        self.show(await self.assistant.start(self.user_key, client_language))
        while True:
            raw = await stdin.readline()
            if not raw:
                print(file=self.out)
                return
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.show(await self.assistant.handle_text(self.user_key, self.resolve_input(line)))


async def stdin_reader() -> asyncio.StreamReader:
    """Reads standard input without a thread, so Ctrl-C and EOF end the chat at once."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader
