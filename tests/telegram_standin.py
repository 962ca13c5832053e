"""A stand-in for the Telegram Bot API, served over HTTP on loopback for the tests.

The real python-telegram-bot client talks to it through TELEGRAM_API_URL. It implements the
methods the bot uses, records every call, lets a test post user messages and button presses,
and can answer with 429 (with retry_after) or 5xx a given number of times. Once the bot sets a
webhook, updates are POSTed to it and delivered again until it answers 200, as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

#: The Bot API's default max_connections for a webhook, and how long it waits for an answer.
WEBHOOK_CONNECTIONS = 40
WEBHOOK_TIMEOUT = 60.0

BOT_USER = {
    "id": 999,
    "is_bot": True,
    "first_name": "Peer Support",
    "username": "peer_support_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    accepted: bool = True  # False when the stand-in answered with an injected error
    result: Any = None  # what the stand-in answered, e.g. the Message a sendMessage created

    @property
    def message(self) -> dict[str, Any]:
        """The message this call created, as an update would carry it (for replies and button presses)."""
        assert isinstance(self.result, dict), f"{self.method} created no message"
        return self.result


def visible(text: str) -> str:
    """A message as a person reads it: without the invisible direction marks of right-to-left replies."""
    return text.replace("\u200e", "").replace("\u200f", "")


class TelegramStandIn:
    def __init__(self, token: str = "123:TEST") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        # (method, chat id or None for any chat) → [(status, retry_after)]
        self.faults: dict[tuple[str, str | None], list[tuple[int, int]]] = {}
        # (method, chat id or None) → (until when, by time.monotonic(), status): an outage of some length
        self.outages: dict[tuple[str, str | None], tuple[float, int]] = {}
        self._update_ids = itertools.count(1)
        self._confirmed = 0
        self._by_chat: dict[tuple[str, str], list[Call]] = {}
        self._message_ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)  # notified on every sendMessage, for waiting without polling
        self._loop = asyncio.new_event_loop()
        self._new_update: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.clock_offset = 0.0
        self._sent_at: dict[int, float] = {}  # message id → when the bot sent it (stand-in clock)
        self._webhook = ""
        self._webhook_secret = ""
        self._webhook_slots: asyncio.Semaphore | None = None
        self._webhook_client: aiohttp.ClientSession | None = None
        self._stopping = False
        #: update id → the status of each webhook delivery of it (0: no answer)
        self.deliveries: dict[int, list[int]] = {}

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        started = threading.Event()
        threading.Thread(target=self._serve, args=(started,), daemon=True).start()
        started.wait(10)

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._new_update = asyncio.Event()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        started.set()
        self._loop.run_forever()

    def stop(self) -> None:
        self._stopping = True
        if self._webhook_client is not None:
            asyncio.run_coroutine_threadsafe(self._webhook_client.close(), self._loop).result(10)
        if self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- what a test does as a Telegram user ---------------------------------------------------
    def _push(self, update: dict[str, Any]) -> None:
        with self._lock:
            update["update_id"] = next(self._update_ids)
            self.updates.append(update)
            webhook = self._webhook
        if webhook:
            self._loop.call_soon_threadsafe(lambda: self._loop.create_task(self._deliver(webhook, update)))
        else:
            self._loop.call_soon_threadsafe(self._new_update.set)

    async def _deliver(self, url: str, update: dict[str, Any]) -> None:
        """As the Bot API does with a webhook: POSTs the update, at most WEBHOOK_CONNECTIONS at once,
        and delivers it again until the answer is 200 (a refused connection, a 5xx, a timeout);
        every attempt's status is kept in `deliveries` (0: no answer)."""
        if self._webhook_slots is None:
            self._webhook_slots = asyncio.Semaphore(WEBHOOK_CONNECTIONS)
            self._webhook_client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT))
        headers = {"X-Telegram-Bot-Api-Secret-Token": self._webhook_secret}
        delay = 0.2
        while True:
            async with self._webhook_slots:
                try:
                    async with self._webhook_client.post(url, json=update, headers=headers) as response:
                        status = response.status
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    status = 0
            with self._lock:
                self.deliveries.setdefault(update["update_id"], []).append(status)
            if status == 200 or self._stopping:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _message(self, user_id: int, chat_type: str = "private", **content: Any) -> dict[str, Any]:
        chat = (
            {"id": user_id, "type": chat_type}
            if chat_type == "private"
            else {"id": -100, "type": chat_type, "title": "A group"}
        )
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {
                "id": user_id,
                "is_bot": False,
                "first_name": "Test",
                "language_code": content.pop("language_code", "en"),
            },
            **content,
        }

    def text_update(self, user_id: int, text: str, language_code: str = "en", chat_type: str = "private") -> dict:
        """A message update as Telegram would send it (for getUpdates, or POSTed to a webhook)."""
        entities = (
            [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else []
        )
        message = self._message(user_id, chat_type, text=text, entities=entities, language_code=language_code)
        return {"update_id": next(self._update_ids), "message": message}

    def send_text(self, user_id: int, text: str, language_code: str = "en", chat_type: str = "private") -> None:
        self._push({"message": self.text_update(user_id, text, language_code, chat_type)["message"]})

    def send_voice(self, user_id: int) -> None:
        voice = {"file_id": "voice-1", "file_unique_id": "v1", "duration": 3}
        self._push({"message": self._message(user_id, voice=voice)})

    def send_sticker(self, user_id: int) -> None:
        sticker = {"file_id": "s-1", "file_unique_id": "s1", "type": "regular", "width": 512, "height": 512,
                   "is_animated": False, "is_video": False}  # fmt: skip
        self._push({"message": self._message(user_id, sticker=sticker)})

    def press(self, user_id: int, message: dict[str, Any], data: str, first_name: str = "Test") -> None:
        query = {
            "id": f"cq-{next(self._update_ids)}",
            "from": {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"},
            "chat_instance": "ci",
            "message": message,
            "data": data,
        }
        self._push({"callback_query": query})

    def fail(
        self, method: str, times: int, status: int = 429, retry_after: int = 1, chat_id: int | None = None
    ) -> None:
        """The next `times` calls of `method` (to `chat_id`, or any chat) fail: 429 with retry_after,
        a 5xx, or 0 for a dropped connection."""
        key = (method, None if chat_id is None else str(chat_id))
        with self._lock:
            self.faults.setdefault(key, []).extend([(status, retry_after)] * times)

    def fail_for(self, method: str, seconds: float, status: int = 502, chat_id: int | None = None) -> None:
        """Every call of `method` (to `chat_id`, or any chat) fails with `status` for `seconds`."""
        with self._lock:
            self.outages[(method, None if chat_id is None else str(chat_id))] = (time.monotonic() + seconds, status)

    def send_group_text(
        self, chat_id: int, user_id: int, text: str, reply_to: dict[str, Any] | None = None, first_name: str = "Anna"
    ) -> None:
        """A member of a group writes, possibly as a reply to one of the bot's messages."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "supergroup", "title": "Coordinators"},
            "from": {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self._push({"message": message})

    # --- what a test reads ---------------------------------------------------------------------
    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        with self._lock:
            if chat_id is not None:
                return list(self._by_chat.get((method, str(chat_id)), []))
            return [c for c in self.calls if c.method == method]

    def wait_for_messages(self, counts: dict[int, int], timeout: float = 120) -> dict[int, Call]:
        """Blocks, without polling, until every chat has received its count of sendMessage calls;
        returns that call (the count-th) for each chat."""

        def received() -> dict[int, Call] | None:
            calls = {chat: self._by_chat.get(("sendMessage", str(chat)), []) for chat in counts}
            if all(len(calls[chat]) >= count for chat, count in counts.items()):
                return {chat: calls[chat][count - 1] for chat, count in counts.items()}
            return None

        with self._recorded:
            result = self._recorded.wait_for(received, timeout)
        if result is None:
            raise TimeoutError(f"no reply within {timeout} s")
        return result

    def texts_to(self, chat_id: int) -> list[str]:
        """The texts delivered to a chat, in order (refused attempts are not deliveries), as a person
        reads them: without the invisible direction marks of right-to-left replies."""
        return [visible(c.params.get("text", "")) for c in self.calls_to("sendMessage", chat_id) if c.accepted]

    def wait_for(self, condition: Callable[[], Any], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.05)
        sent = [(c.params.get("chat_id"), c.params.get("text", "")[:80]) for c in self.calls_to("sendMessage")]
        raise TimeoutError(
            f"condition not met; calls so far: {[c.method for c in self.calls if c.method != 'getUpdates'][-20:]}; "
            f"last messages: {sent[-6:]}"
        )

    # --- the HTTP side -------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(await request.post())
        # An uploaded file (sendPhoto's photo, sent as multipart form data) is kept as its bytes.
        params = {
            key: value.file.read() if isinstance(value, web.FileField) else _maybe_json(value)
            for key, value in params.items()
        }
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        with self._lock:
            chat = str(params.get("chat_id"))
            queued = self.faults.get((method, chat)) or self.faults.get((method, None))
            fault = queued.pop(0) if queued else None
            outage = self.outages.get((method, chat)) or self.outages.get((method, None))
            if fault is None and outage and time.monotonic() < outage[0]:
                fault = (outage[1], 1)
            refusal = None if fault else self._refusal(method, params)
            call = Call(method, params, accepted=fault is None and refusal is None)
            self.calls.append(call)
            self._by_chat.setdefault((method, chat), []).append(call)
            if method == "sendMessage":
                self._recorded.notify_all()
        if fault and fault[0] == 0:  # a dropped connection: no answer at all
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError
        if fault:
            status, retry_after = fault
            body = {
                "ok": False,
                "error_code": status,
                "description": "Too Many Requests" if status == 429 else "Bad Gateway",
            }
            if status == 429:
                body["parameters"] = {"retry_after": retry_after}
            return web.json_response(body, status=status)
        if refusal:
            status, description = refusal
            return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._updates(params)})
        call.result = self._result(method, params)
        return web.json_response({"ok": True, "result": call.result})

    async def _updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        # As in the Bot API: an update is confirmed once getUpdates is called with a higher offset,
        # and a confirmed update is never returned again, not even to a restarted client.
        with self._lock:
            self._confirmed = max(self._confirmed, int(params.get("offset") or 0))
            offset = self._confirmed
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 2.0)
        while True:
            with self._lock:
                pending = [u for u in self.updates if u["update_id"] >= offset]
            if pending or time.monotonic() >= deadline:
                return pending
            self._new_update.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), max(0.01, deadline - time.monotonic()))

    def advance_clock(self, seconds: float) -> None:
        """Makes the Bot API live `seconds` later (for the 48 hours after which deleting fails)."""
        self.clock_offset += seconds

    def _refusal(self, method: str, params: dict[str, Any]) -> tuple[int, str] | None:
        """What the real Bot API refuses among the limits this bot guards (called under the lock)."""
        if method in ("sendMessage", "editMessageText"):
            text = str(params.get("text", ""))
            if not text.strip():
                return 400, "Bad Request: message text is empty"
            if len(text) > 4096:
                return 400, "Bad Request: message is too long"
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if len(str(button.get("callback_data", "")).encode()) > 64:
                        return 400, "Bad Request: BUTTON_DATA_INVALID"
        if method == "deleteMessage":
            sent = self._sent_at.get(int(params.get("message_id", 0)))
            if sent is not None and time.time() + self.clock_offset - sent > 48 * 3600:
                return 400, "Bad Request: message can't be deleted for everyone"
        if method == "setWebhook":
            self._webhook = str(params.get("url", ""))
            self._webhook_secret = str(params.get("secret_token", ""))
        elif method == "deleteWebhook":
            self._webhook = ""
        elif method == "getUpdates" and self._webhook:
            return 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook first"
        return None

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "editMessageText"):
            chat_id = int(params.get("chat_id", 0))
            message_id = next(self._message_ids)
            self._sent_at[message_id] = time.time() + self.clock_offset
            message = {
                "message_id": message_id,
                "date": int(time.time() + self.clock_offset),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
            if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
                message["reply_markup"] = params[
                    "reply_markup"
                ]  # as in Telegram: a message keeps inline keyboards only
            return message
        if method == "sendPhoto":
            message_id = next(self._message_ids)
            return {
                "message_id": message_id,
                "date": int(time.time() + self.clock_offset),
                "chat": {"id": int(params.get("chat_id", 0)), "type": "supergroup"},
                "from": BOT_USER,
                "photo": [
                    {"file_id": f"photo{message_id}", "file_unique_id": f"p{message_id}", "width": 1170, "height": 830}
                ],
                "caption": params.get("caption", ""),
            }
        return True


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
