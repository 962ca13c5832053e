"""Talks to the Rasa server over its REST channel and HTTP API."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa could not be reached or did not answer properly."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


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
    """An aiohttp client: on loopback a call costs a quarter of an httpx call (see telegram_http)."""

    def __init__(self, base_url: str, auth_token: str = "", timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth_token = auth_token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> aiohttp.ClientSession:
        """The session, opened on first use in the running event loop."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session, self._loop = aiohttp.ClientSession(timeout=self.timeout), loop
        return self._session

    async def send(self, sender_id: str, text: str, language: str) -> list[BotMessage]:
        """Sends one user message and returns Rasa's replies."""
        body = {"sender": sender_id, "message": text, "metadata": {"language": language}}
        try:
            url = f"{self.base_url}/webhooks/bot/webhook"
            async with self._http().post(url, json=body, raise_for_status=True) as response:
                return [BotMessage.from_rest(item) for item in await response.json()]
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise RasaUnavailable(type(error).__name__) from error

    async def add_event(self, sender_id: str, event: dict[str, Any]) -> bool:
        """Appends an event (e.g. {"event": "pause"}) to a conversation through Rasa's HTTP API."""
        try:
            async with self._http().post(
                f"{self.base_url}/conversations/{sender_id}/tracker/events",
                params={"token": self.auth_token, "include_events": "NONE"},
                json=event,
                raise_for_status=True,
            ):
                return True
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            log.warning("Could not add a %s event in Rasa (%s)", event.get("event"), type(error).__name__)
            return False

    async def parse(self, text: str, timeout: float = 2.0) -> dict[str, Any] | None:
        """Rasa's reading of a message (intent and confidence), or None when Rasa cannot answer."""
        try:
            async with self._http().post(
                f"{self.base_url}/model/parse",
                params={"token": self.auth_token},
                json={"text": text},
                timeout=aiohttp.ClientTimeout(total=timeout),
                raise_for_status=True,
            ) as response:
                return await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return None

    async def model_ready(self) -> bool:
        """True once the server answers and has a model loaded."""
        try:
            async with self._http().get(
                f"{self.base_url}/status", params={"token": self.auth_token}, timeout=aiohttp.ClientTimeout(total=2.0)
            ) as response:
                return response.status == 200 and bool((await response.json()).get("model_file"))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return False

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
