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
            collector = WholeMessageCollector()
            message = UserMessage(
                self._extract_message(request),
                collector,
                sender_id,
                input_channel=CHANNEL_NAME,
                metadata=self.get_metadata(request),
            )
            try:
                await on_new_message(message)
            except CancelledError:
                log.error("Handling a message timed out")
                return response.json({"error": "timeout"}, status=503)
            except Exception as error:  # the message text stays out of the log
                log.error("Handling a message failed: %s", type(error).__name__)
                return response.json({"error": "failure"}, status=500)
            return response.json(collector.messages)

        return webhook
