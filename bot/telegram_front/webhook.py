"""Telegram's webhook: an update is kept before Telegram hears 200, then handled.

PTB's own webhook server answers 200 as soon as an update is queued in memory; an update in hand
when the process dies is lost. This one (after PTB's customwebhookbot example, with aiohttp)
claims the update and keeps it (deliveries.py: in Redis for replicas) before answering, then
handles it. A replica that dies with updates in hand leaves them kept; the others take them over
once the dead one's claims lapse (`sweep`). Answering at once, not after handling, keeps
Telegram's few webhook connections (max_connections) free, so a crisis message never waits at
Telegram behind slow answers to other people.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.conversation.rasa_client import MessageIds, message_ids
from bot.telegram_front.deliveries import CLAIM_SECONDS, Claim, Deliveries, handling

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Telegram delivers an update again after a non-200 answer; this tells a proxy when.
RETRY_AFTER_SECONDS = "1"
#: How often a replica looks for updates to take over: one look at the claims in Redis (a crisis
#: message a replica died with is answered within CLAIM_SECONDS and this of its death, plus the
#: answer's own time).
SWEEP_SECONDS = CLAIM_SECONDS / 4
#: Telegram's upper bound for concurrent webhook connections (setWebhook's max_connections).
MAX_CONNECTIONS = 100


class WebhookServer:
    def __init__(self, app: Application, path: str, secret: str, deliveries: Deliveries) -> None:
        self.app = app
        self.path = "/" + path.lstrip("/")
        self.secret = secret
        self.deliveries = deliveries
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task] = set()
        self._sweeper: asyncio.Task | None = None

    async def start(self, listen: str, port: int) -> None:
        server = web.Application(client_max_size=1024 * 1024)
        server.router.add_post(self.path, self.on_update)
        server.router.add_get("/health", self.on_health)
        self._runner = web.AppRunner(server, access_log=None)  # the access log would hold chat paths
        await self._runner.setup()
        await web.TCPSite(self._runner, listen, port).start()
        self._sweeper = asyncio.create_task(self._keep_sweeping())

    async def stop(self, grace: float = 20.0) -> None:
        """Stops taking updates, then lets those in hand finish (what does not finish in `grace`
        stays kept, for a replica or the next start to take over)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)

    async def on_health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def on_update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(status=403, text="wrong secret token")
        try:
            raw = await request.text()
            data = json.loads(raw)
            update = Update.de_json(data, self.app.bot)
        except (json.JSONDecodeError, TypeError, KeyError, ValueError, AttributeError) as error:
            log.warning("A webhook request that is not an update (%s)", type(error).__name__)
            return web.Response(status=400, text="not a Telegram update")
        if update is None:
            return web.Response(status=400, text="not a Telegram update")
        try:
            claim = await self.deliveries.claim(update.update_id)
            if claim is Claim.NEW:
                await self.deliveries.keep(update.update_id, raw)
            elif claim is Claim.BUSY and await self.deliveries.kept(update.update_id) is None:
                # Taken a moment ago and not kept yet: Telegram delivers it again shortly.
                return web.Response(status=503, text="in hand", headers={"Retry-After": RETRY_AFTER_SECONDS})
        except Exception as error:
            # Redis unreachable: handled here all the same (a crisis message must be answered);
            # another replica may handle it too if Telegram delivers it again.
            log.error("An update could not be claimed (%s); handled without a claim", type(error).__name__)
            self._track(asyncio.create_task(self._handle_unclaimed(update)))
            return web.Response(text="ok")
        if claim is Claim.NEW:
            self._spawn(update)
        return web.Response(text="ok")

    def _spawn(self, update: Update) -> None:
        self._track(asyncio.create_task(self._handle(update)))

    def _track(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle_unclaimed(self, update: Update) -> None:
        message_ids.set(MessageIds(update.update_id))
        await self.app.process_update(update)

    async def _handle(self, update: Update) -> None:
        try:
            async with handling(self.deliveries, update.update_id) as state:
                # Rasa answers a message it had from a replica that died from the conversation.
                message_ids.set(MessageIds(update.update_id, redelivered=state.attempt > 1))
                await self.app.process_update(update)  # handler errors go to the error handler
        except Exception as error:
            log.error("An update could not be handled (%s); it is tried again", type(error).__name__)

    async def sweep(self) -> int:
        """Takes over kept updates whose claim lapsed (their replica died); returns how many. They
        are claimed all at once, not one after the other: a crisis among them must not wait for
        the claims before it."""
        taken = sum(await asyncio.gather(*(self._take_over(update_id) for update_id in await self.deliveries.lapsed())))
        if taken:
            log.warning("Took over %d updates from a replica that stopped", taken)
        return taken

    async def _take_over(self, update_id: int) -> bool:
        if await self.deliveries.claim(update_id) is not Claim.NEW:
            return False  # another replica was quicker
        raw = await self.deliveries.kept(update_id)
        if raw is None:  # finished meanwhile
            await self.deliveries.release(update_id)
            return False
        update = Update.de_json(json.loads(raw), self.app.bot)
        if update is None:
            return False
        self._spawn(update)
        return True

    async def _keep_sweeping(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception as error:  # Redis unreachable: the next round tries again
                log.error("Looking for updates to take over failed (%s)", type(error).__name__)
