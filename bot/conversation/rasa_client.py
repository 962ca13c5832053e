"""Talks to the Rasa server over its REST channel and HTTP API."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.core.protocol import Button

log = logging.getLogger(__name__)


@dataclass
class MessageIds:
    """Ids for the messages one Telegram update sends to Rasa, the same on every delivery of the
    update: a message Rasa handled before (the replica that sent it died before answering the
    person) is answered from the conversation, not handled twice. `redelivered`: Telegram
    delivered this update before, so Rasa looks for it (only then: it costs a tracker read)."""

    update_id: int
    redelivered: bool = False
    count: int = 0

    def next(self) -> str:
        self.count += 1
        return f"tg-{self.update_id}-{self.count}"


#: Set by the webhook for the update being handled (bot/telegram_front/webhook.py).
message_ids: contextvars.ContextVar[MessageIds | None] = contextvars.ContextVar("rasa_message_ids", default=None)


class RasaUnavailable(Exception):
    """Rasa could not be reached or did not answer properly."""


@dataclass
class BotMessage:
    """One message of Rasa's answer: text with buttons, or a custom JSON payload."""

    text: str = ""
    buttons: list[Button] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_rest(cls, data: dict[str, Any]) -> BotMessage:
        buttons = [
            Button(title=str(button.get("title", "")), payload=str(button.get("payload", "")))
            for button in data.get("buttons") or []
        ]
        custom = data.get("custom") if isinstance(data.get("custom"), dict) else {}
        return cls(text=data.get("text") or "", buttons=buttons, custom=custom)


class RasaClient:
    """One kept-alive httpx client for the whole process (httpx is the project's one HTTP client;
    python-telegram-bot uses it too)."""

    def __init__(self, base_url: str, auth_token: str = "", timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth_token = auth_token
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> httpx.AsyncClient:
        """The client, opened on first use in the running event loop (tests run several loops)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client.is_closed or self._loop is not loop:
            self._client, self._loop = (
                httpx.AsyncClient(timeout=self.timeout, limits=httpx.Limits(max_connections=256)),
                loop,
            )
        return self._client

    async def send(
        self,
        sender_id: str,
        text: str,
        language: str,
        intent: tuple[str, float] | None = None,
        entities: dict[str, str | int] | None = None,
    ) -> list[BotMessage]:
        """Sends one user message and returns Rasa's replies. `intent`: a net's reading (name,
        confidence), which Rasa takes instead of its own, with `entities` if any (a topic the topic
        net read: bot/rasa_plugins/intent_hint.py)."""
        metadata: dict[str, Any] = {"language": language}
        if intent is not None:
            metadata["intent"] = {"name": intent[0], "confidence": intent[1], "entities": entities or {}}
        body: dict[str, Any] = {"sender": sender_id, "message": text, "metadata": metadata}
        if (ids := message_ids.get()) is not None:
            body["message_id"] = ids.next()
            body["redelivered"] = ids.redelivered
        try:
            response = await self._http().post(f"{self.base_url}/webhooks/bot/webhook", json=body)
            response.raise_for_status()
            return [BotMessage.from_rest(item) for item in response.json()]
        except (httpx.HTTPError, ValueError) as error:
            raise RasaUnavailable(type(error).__name__) from error

    async def add_event(self, sender_id: str, event: dict[str, Any]) -> bool:
        """Appends an event (e.g. {"event": "resume"}) to a conversation through Rasa's HTTP API."""
        try:
            response = await self._http().post(
                f"{self.base_url}/conversations/{sender_id}/tracker/events",
                params={"token": self.auth_token, "include_events": "NONE"},
                json=event,
            )
            response.raise_for_status()
            return True
        except httpx.HTTPError as error:
            log.warning("Could not add a %s event in Rasa (%s)", event.get("event"), type(error).__name__)
            return False

    async def parse(self, text: str, timeout: float = 2.0) -> dict[str, Any] | None:
        """Rasa's reading of a message (intent and confidence), or None when Rasa cannot answer."""
        try:
            response = await self._http().post(
                f"{self.base_url}/model/parse", params={"token": self.auth_token}, json={"text": text}, timeout=timeout
            )
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError):
            return None

    async def model_ready(self) -> bool:
        """True once the server answers and has a model loaded."""
        try:
            response = await self._http().get(f"{self.base_url}/status", params={"token": self.auth_token}, timeout=2.0)
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    async def close(self) -> None:
        if self._client is not None and not self._client.is_closed:
            await self._client.aclose()
