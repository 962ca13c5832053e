"""The Rasa input channel the front end talks to (credentials.yml): Rasa's REST channel, except
that a reply is kept whole (the stock collector splits text at every blank line, which would turn
one article part into many messages), a failure answers 500 so the front end can tell the person,
and the message text is never logged."""

from __future__ import annotations

import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

CHANNEL_NAME = "bot"


class WholeMessageCollector(CollectingOutputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message(self._message(recipient_id, text=text.strip()))


async def answered_before(agent: Any, sender_id: str, message_id: str) -> list[dict[str, Any]] | None:
    """The answer Rasa gave to this message before, from the conversation; None if it never had it.
    (The front end that sent it died before it could pass the answer on, and another one sends it
    again: the person gets the same answer, and the conversation does not hear the message twice.)"""
    tracker = await agent.tracker_store.retrieve(sender_id) if agent and agent.tracker_store else None
    if tracker is None:
        return None
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, UserUttered) and event.message_id == message_id:
            answer = []
            for later in events[index + 1 :]:
                if isinstance(later, UserUttered):
                    break
                if isinstance(later, BotUttered):
                    answer.append(as_rest_message(sender_id, later))
            return answer
    return None


def as_rest_message(sender_id: str, event: BotUttered) -> dict[str, Any]:
    """A stored bot message as the REST channel sends it (CollectingOutputChannel._message)."""
    data = event.data or {}
    message = {
        "recipient_id": sender_id,
        "text": event.text.strip() if event.text else None,
        "buttons": data.get("buttons"),
        "image": data.get("image"),
        "attachment": data.get("attachment"),
        "custom": data.get("custom"),
    }
    return {key: value for key, value in message.items() if value is not None}


class BotInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("bot_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            sender_id = await self._extract_sender(request)
            body = request.json or {}
            message_id = body.get("message_id") if isinstance(body.get("message_id"), str) else None
            collector = WholeMessageCollector()
            message = UserMessage(
                self._extract_message(request),
                collector,
                sender_id,
                input_channel=CHANNEL_NAME,
                metadata=self.get_metadata(request),
                message_id=message_id,
            )
            try:
                if message_id and body.get("redelivered"):
                    earlier = await self._once(request.app.ctx.agent, message)
                    if earlier is not None:
                        return response.json(earlier)
                else:
                    await on_new_message(message)
            except CancelledError:
                log.error("Handling a message timed out")
                return response.json({"error": "timeout"}, status=503)
            except Exception as error:  # the message text stays out of the log
                log.error("Handling a message failed: %s", type(error).__name__)
                return response.json({"error": "failure"}, status=500)
            return response.json(collector.messages)

        return webhook

    @staticmethod
    async def _once(agent: Any, message: UserMessage) -> list[dict[str, Any]] | None:
        """A redelivered message: under the conversation's lock (another server may still be
        handling the first delivery), the answer it got before, or None once it is handled now."""
        async with agent.lock_store.lock(message.sender_id):
            earlier = await answered_before(agent, message.sender_id, message.message_id)
            if earlier is not None:
                return earlier
            await agent.processor.handle_message(message)
        return None
