"""The coordinators' group's commands reach the right part of the bot: /reload reloads the content
for a coordinator, and anyone else is told it is for coordinators (the hand-off audits it)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from telegram.ext import ApplicationHandlerStop

from bot.coordinators.group_handlers import GroupHandlers

SARA, STRANGER, BOT = 11, 99, 5


class FakeHandOff:
    def __init__(self) -> None:
        self.commands: list[tuple[str, int]] = []

    def is_coordinator(self, user_id: int) -> bool:
        return user_id == SARA

    async def on_command(self, command: str, arguments: list[str], member) -> None:
        self.commands.append((command, member.user_id))


class FakeReloader:
    def __init__(self) -> None:
        self.reloads = 0

    async def reload(self) -> None:
        self.reloads += 1


def written(text: str, by: int) -> SimpleNamespace:
    member = SimpleNamespace(id=by, first_name="Sara" if by == SARA else "Max")
    return SimpleNamespace(message=SimpleNamespace(text=text, from_user=member, reply_to_message=None))


def handle(handlers: GroupHandlers, update: SimpleNamespace) -> None:
    with pytest.raises(ApplicationHandlerStop):  # nothing from the group reaches a person's handlers
        asyncio.run(handlers.on_message(update, SimpleNamespace(bot=SimpleNamespace(id=BOT))))


@pytest.mark.parametrize("text", ["/reload", "/reload@our_bot", "/RELOAD please"])
def test_a_coordinators_reload_reloads_the_content(text: str):
    handoff, reloader = FakeHandOff(), FakeReloader()
    handle(GroupHandlers(handoff, reloader), written(text, SARA))  # type: ignore[arg-type]
    assert reloader.reloads == 1 and handoff.commands == []


def test_someone_else_is_told_it_is_for_coordinators_and_nothing_is_reloaded():
    handoff, reloader = FakeHandOff(), FakeReloader()
    handle(GroupHandlers(handoff, reloader), written("/reload", STRANGER))  # type: ignore[arg-type]
    assert reloader.reloads == 0 and handoff.commands == [("/reload", STRANGER)]
