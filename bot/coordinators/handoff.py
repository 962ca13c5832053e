"""The coordinators' side of an escalation, in their Telegram group (COORDINATOR_CHAT_ID).

Each escalation is posted as an alert with Claim, Resolve and Add note buttons. A coordinator who
claims it is connected to the person: the person's messages are posted in the group as replies to
the alert (headed "#<id> ▸"), and the coordinator's replies to those messages go back to the person.
Meanwhile the front end keeps the person's messages from Rasa (Rasa is not paused: a failed
"resume" would leave the person without answers, and /privacy and /delete must still be answered
during a hand-off). A timer re-posts alerts nobody claimed in time and retries alerts Telegram did
not take.

This is the state machine only: it knows no Telegram types. It reaches people and the group
through a Messenger (bot/conversation/ports.py); the group's updates reach it through
bot/coordinators/group_handlers.py.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bot.conversation.assistant import Assistant, booking_saved
from bot.conversation.ports import Keyboard, Messenger, ReplyPrompt
from bot.conversation.replies import Reply
from bot.coordinators import picture, texts
from bot.coordinators.texts import (
    ERASED,
    ONLY_COORDINATORS,
    alert_buttons,
    alert_text,
    booking_buttons,
    booking_text,
    level_name,
    summary_line,
)
from bot.core import languages
from bot.core.i18n import Catalogs
from bot.core.identity import pseudonym
from bot.core.office_hours import OfficeHours, WeeklySchedule
from bot.core.person_limits import PerPersonLimit
from bot.core.safety.responses import emergency_numbers
from bot.storage.bookings import CLOSED, BookingLog, BookingView
from bot.storage.db import DatabaseError, off_the_loop
from bot.storage.escalations import ACTIVE, CLAIMED, EscalationLog, EscalationView, GroupMessages
from bot.storage.shared import MemoryState, SharedState

log = logging.getLogger(__name__)

#: Telegram lets a bot delete a message in a group for 48 hours; a margin for clocks and retries.
DELETABLE_FOR = timedelta(hours=47)
#: Buttons under alerts and booking requests: "esc:<action>:<id>" and "book:<status>:<id>".
CALLBACK = re.compile(r"^esc:(claim|takeover|release|resolve|note):(\d+)$")
BOOKING_CALLBACK = re.compile(r"^book:(scheduled|done|cancelled):(\d+)$")
#: Every message the bot posts in the group about an escalation starts with "#<id> ".
HEADER = re.compile(r"^#(\d+) (✎)?")
#: Booking requests start with "B<id> ".
BOOKING_HEADER = re.compile(r"^B(\d+) ")
#: An open escalation nobody touched for this long is closed as expired.
EXPIRE_AFTER = timedelta(hours=24)
#: A posted alert or booking request stays claimed this long: longer than the timer's list of
#: what is still unposted can be old, so no replica posts it twice.
POST_CLAIM_SECONDS = 120.0
LIST_PERIODS = {"open": None, "today": timedelta(days=1), "week": timedelta(days=7)}
#: How many of one person's messages are relayed into the group at once, then per minute: one
#: talkative person waits for their turn rather than filling the group's 20 messages a minute.
RELAY_BURST, RELAY_SECONDS = 5, 60.0
#: The group's commands.
LIST_COMMAND, SHOW_COMMAND, REPORT_COMMAND = "/escalations", "/escalation", "/report"
#: The audit log's entry for the weekly picture: when it was last posted.
WEEKLY_REPORT_ACTION = "weekly_report"
#: How long after a refused weekly picture it is drawn and posted again.
WEEKLY_REPORT_RETRY = timedelta(minutes=10)


@dataclass(frozen=True)
class CoordinatorGroup:
    """The coordinators' Telegram group, and who in it may act on escalations."""

    chat_id: int
    user_ids: frozenset[int]


@dataclass(frozen=True)
class Coordinator:
    """A member of the group who pressed a button or wrote: Telegram's user id and first name."""

    user_id: int
    first_name: str


class HandOff:
    def __init__(
        self,
        messenger: Messenger,
        assistant: Assistant,
        escalations: EscalationLog,
        bookings: BookingLog,
        catalogs: Catalogs,
        group: CoordinatorGroup,
        pseudonym_secret: str,
        remind_after: timedelta,
        hours: OfficeHours | None = None,
        weekly_report: WeeklySchedule | None = None,
        shared: SharedState | None = None,
    ) -> None:
        self.messenger = messenger
        self.assistant = assistant
        self.escalations = escalations
        self.bookings = bookings
        self.catalogs = catalogs
        self.group = group
        self.secret = pseudonym_secret
        self.remind_after = remind_after
        self.hours = hours or OfficeHours()
        self.weekly_report = weekly_report or WeeklySchedule()
        self._weekly_tried: datetime | None = None  # the last attempt at the weekly picture
        #: People talking with a coordinator right now: their key → the escalation's id.
        self.connected: dict[str, int] = {}
        #: With replicas (RedisState): one of them runs the timer, each post is claimed by one, and
        #: whom a coordinator is talking with is read from the database. MemoryState: this process.
        self.shared: SharedState = shared or MemoryState()
        self.replicas = not isinstance(self.shared, MemoryState)
        #: Posts the group took but the database did not record (a locked file): what was posted →
        #: its message id, so the timer records them instead of posting them again.
        self._posted_unrecorded: dict[tuple[str, int, bool], int] = {}
        self._relay_budget = PerPersonLimit(RELAY_BURST, RELAY_SECONDS)
        self._tasks: set[asyncio.Task] = set()
        self._timer: asyncio.Task | None = None
        assistant.escalation_listeners.append(self.on_escalation)
        assistant.booking_listeners.append(self.on_booking)
        assistant.erasure_listeners.append(self.on_erasure)
        assistant.erased_listeners.append(self.on_erased)
        #: What to clear from the group once a person's erasure is done: their key → the messages.
        self._to_clear: dict[str, GroupMessages] = {}

    # --- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Reconnects claimed escalations after a restart, starts the reminder timer, and tells the
        group when the safety screen runs without its model net or crisis texts show in English."""
        if self.assistant.screen.problem:
            self._spawn(self._post(f"⚠️ Safety screen: {self.assistant.screen.problem}. Please tell a maintainer."))
        if untranslated := self.catalogs.untranslated(list(languages.SUPPORTED), "safety"):
            self._spawn(self._post(texts.untranslated_crisis_texts(untranslated)))
        self.connected = {
            view.user_key: view.id for view in self.escalations.list(status=CLAIMED) if view.user_key is not None
        }
        self._timer = asyncio.create_task(self._timer_loop())

    async def stop(self) -> None:
        if self._timer:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, *([self._timer] if self._timer else []), return_exceptions=True)

    async def settled(self) -> None:
        """Waits for the alerts, posts and clean-ups the hand-off started in the background."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Awaitable[object]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def tick_seconds(self) -> float:
        return max(0.2, min(15.0, self.remind_after.total_seconds() / 4))

    async def _timer_loop(self) -> None:
        while True:
            try:
                if self.replicas:
                    await self._reconnect()
                if await self.shared.hold("handoff-timer", self.tick_seconds * 3):
                    await self.check_due()
            except DatabaseError as error:
                log.error("Escalation timer: database unavailable (%s)", type(error).__name__)
            except Exception:
                log.exception("Escalation timer failed; trying again")
            await asyncio.sleep(self.tick_seconds)

    async def check_due(self) -> None:
        """Stores what the database refused, sends alerts Telegram refused, reminds and expires."""
        await self.assistant.records.replay()
        for view in await off_the_loop(self.escalations.unalerted):
            await self.alert(view)
        for view in await off_the_loop(self.escalations.overdue, self.remind_after):
            await self.remind(view)
        for booking in await off_the_loop(self.bookings.unposted):
            await self.post_booking(booking)
        for view in await off_the_loop(self.escalations.stale, EXPIRE_AFTER):
            if await off_the_loop(self.escalations.expire, view.id):
                await self._refresh_alert(view.id, note="⌛ Expired: nobody claimed it in 24 hours.")
        await self.post_weekly_report()

    # --- the programme's picture ---------------------------------------------------------------
    async def post_report(self, weeks: int = picture.DEFAULT_WEEKS) -> bool:
        """Draws the last weeks' picture from the database and posts it in the group."""

        def make() -> tuple[bytes, str]:
            report = picture.gather(self.escalations.db, weeks, self.hours)
            return picture.draw(report), "\n".join([f"📊 {report.period}", *picture.headline(report)])

        png, caption = await off_the_loop(make)
        return await self.messenger.post_picture(png, caption) is not None

    async def post_weekly_report(self, now: datetime | None = None) -> None:
        """REPORT_WEEKLY: once per scheduled moment, and not for a moment more than a day ago (a
        bot started on Wednesday does not post Monday's). The database remembers the last post,
        so a restart does not post it twice; when Telegram refuses it, it is tried again after
        WEEKLY_REPORT_RETRY, not on every tick."""
        now = now or datetime.now(timezone.utc)
        due = self.weekly_report.last_due(now)
        if due is None or now - due > timedelta(days=1):
            return
        if self._weekly_tried is not None and now - self._weekly_tried < WEEKLY_REPORT_RETRY:
            return
        last = await off_the_loop(self.escalations.last_audit, WEEKLY_REPORT_ACTION)
        if last is not None and last >= due:
            return
        self._weekly_tried = now
        if await self.post_report():
            await off_the_loop(self.escalations.audit, "bot", WEEKLY_REPORT_ACTION)

    async def _post(
        self, text: str, buttons: Keyboard = (), prompt: ReplyPrompt | None = None, **options: object
    ) -> int | None:
        return await self.messenger.post(text, buttons, prompt, **options)  # type: ignore[arg-type]

    # --- alerts --------------------------------------------------------------------------------
    def on_escalation(self, view: EscalationView, created: bool) -> None:
        """Called by the Assistant right after it stored an escalation (before the person's reply)."""
        if view.alerted_at is None:
            self._spawn(self.alert(view))

    async def alert(self, view: EscalationView, overdue: bool = False) -> bool:
        """Posts the alert (or the reminder), once: the claim is kept after a post, so neither this
        process nor another replica posts it again before the database says it was posted."""
        claim = f"alert:{view.id}:{'reminder' if overdue else 'first'}"
        if not await self._claim(claim):
            return False
        message_id = None
        try:
            message_id = await self._post_once(
                ("alert", view.id, overdue),
                lambda: self._post(alert_text(view, overdue), alert_buttons(view), urgent=view.urgent),
                lambda message_id: self.escalations.mark_alerted(view.id, message_id, reminder=overdue),
            )
            return message_id is not None
        finally:
            if message_id is None:
                await self._unclaim(claim)  # not posted: the timer tries again

    async def _post_once(
        self,
        key: tuple[str, int, bool],
        post: Callable[[], Awaitable[int | None]],
        record: Callable[[int], None],
    ) -> int | None:
        """Posts in the group and records the post, without posting twice: a post the database
        could not record is remembered, and only recorded on the timer's next rounds."""
        message_id = self._posted_unrecorded.get(key)
        if message_id is None:
            message_id = await post()
            if message_id is None:
                return None
        try:
            await off_the_loop(record, message_id)
        except DatabaseError as error:
            self._posted_unrecorded[key] = message_id
            log.error("Posted in the group, not recorded yet: database unavailable (%s)", type(error).__name__)
            return None
        self._posted_unrecorded.pop(key, None)
        return message_id

    async def remind(self, view: EscalationView) -> None:
        """Nobody claimed in time: the alert again, marked overdue, and a word to the person."""
        if not await self.alert(view, overdue=True):
            return
        if view.chat_id is None:
            return
        t = self.catalogs.for_language(view.language)
        waiting = t.pgettext(
            "handoff",
            "A coordinator will answer you as soon as possible. I am sorry that it takes a while. "
            "If things get too much, these numbers are there for you:",
        )
        await self.messenger.send(
            view.chat_id,
            [Reply(waiting, view.language, urgent=True), Reply(emergency_numbers(t), view.language, urgent=True)],
        )

    async def _claim(self, claim: str) -> bool:
        """Whether this process posts it; when Redis cannot be reached it does (an alert posted
        twice is better than none)."""
        try:
            return await self.shared.take(claim, POST_CLAIM_SECONDS)
        except Exception as error:
            log.error("Could not claim a post in Redis (%s); posting it from here", type(error).__name__)
            return True

    async def _unclaim(self, claim: str) -> None:
        try:
            await self.shared.release(claim)
        except Exception as error:  # it lapses by itself
            log.error("Could not release a post's claim (%s)", type(error).__name__)

    async def _refresh_alert(self, escalation_id: int, note: str = "") -> None:
        view = await off_the_loop(self.escalations.get, escalation_id)
        if view is None or view.alert_message_id is None:
            return
        text = alert_text(view) + (f"\n\n{note}" if note else "")
        await self.messenger.edit(view.alert_message_id, text, alert_buttons(view))

    # --- booking requests ----------------------------------------------------------------------
    def on_booking(self, view: BookingView, late: bool) -> None:
        """Called by the Assistant once a booking request is stored."""
        if late and view.chat_id is not None:
            t = self.catalogs.for_language(view.language)
            self._spawn(self.messenger.send(view.chat_id, [Reply(booking_saved(t, view.contact), view.language)]))
        self._spawn(self.post_booking(view))

    async def post_booking(self, view: BookingView) -> None:
        claim = f"booking:{view.id}"
        if not await self._claim(claim):
            return
        message_id = None
        try:

            async def post() -> int | None:
                return await self._post(await self._booking_text(view), booking_buttons(view))

            message_id = await self._post_once(
                ("booking", view.id, False), post, lambda message_id: self.bookings.mark_posted(view.id, message_id)
            )
        finally:
            if message_id is None:
                await self._unclaim(claim)

    async def _booking_text(self, view: BookingView) -> str:
        return booking_text(
            view, await off_the_loop(self.bookings.sessions_asked, view.user_key) if view.user_key else 1
        )

    async def set_booking_status(self, booking_id: int, status: str, coordinator: Coordinator) -> str:
        view = await off_the_loop(self.bookings.set_status, booking_id, status)
        if view is None:
            return f"⚠️ B{booking_id} is already {status} or closed."
        if view.chat_id is not None:
            t = self.catalogs.for_language(view.language)
            texts = {
                "scheduled": t.pgettext(
                    "booking", "Your talk with a volunteer is being planned. A coordinator will write to you here."
                ),
                "done": t.pgettext(
                    "booking",
                    "Your talk is marked as done. Thank you for taking part. The way to reach you for it is deleted.",
                ),
                "cancelled": t.pgettext(
                    "booking",
                    "Your request for a talk was cancelled. If you still want a talk, you can ask again with /book.",
                ),
            }
            await self.messenger.send(view.chat_id, [Reply(texts[status], view.language)])
        if view.alert_message_id is not None:
            text = await self._booking_text(view) + f"\n\n{status.capitalize()} by {coordinator.first_name}."
            await self.messenger.edit(view.alert_message_id, text, booking_buttons(view))
        return f"B{booking_id} is {status}."

    async def talk_about_booking(self, booking_id: int, text: str, coordinator: Coordinator) -> None:
        """A coordinator replied to a booking request: connect them to the person, then send the reply."""
        booking = await off_the_loop(self.bookings.get, booking_id)
        if booking is None or booking.status in CLOSED or booking.chat_id is None or booking.user_key is None:
            await self._post(f"B{booking_id}: this person cannot be reached from here any more.")
            return
        view, _ = await off_the_loop(
            self.escalations.record,
            user_key=booking.user_key,
            level="request",
            categories=("booking",),
            language=booking.language,
            residence=None,
            chat_id=booking.chat_id,
            message=None,
        )
        if view.status != CLAIMED:
            await self.claim(view.id, coordinator)
        else:
            current = await off_the_loop(self.escalations.get, view.id)
            if current is None or current.claimed_by != self._actor(coordinator):
                await self._post(f"B{booking_id}: a colleague is already talking with this person (#{view.id}).")
                return
        await self.messenger.send(booking.chat_id, [Reply(f"🙋 {text}", booking.language)])

    # --- the person's messages -----------------------------------------------------------------
    def is_connected(self, user_key: str) -> bool:
        return user_key in self.connected

    async def _reconnect(self) -> None:
        """Replicas: whom a coordinator is talking with, as the database says (another replica may
        have handled the claim)."""
        claimed = await off_the_loop(self.escalations.list, None, CLAIMED)
        self.connected = {view.user_key: view.id for view in claimed if view.user_key is not None}

    async def relay_from_person(self, user_key: str, text: str, level: str | None = None) -> bool:
        """Posts the person's message to their coordinator; False when no coordinator is connected."""
        escalation_id = self.connected.get(user_key)
        if escalation_id is None and self.replicas:  # claimed on another replica since the last tick?
            escalation_id = await off_the_loop(self.escalations.claimed_for, user_key)
            if escalation_id is not None:
                self.connected[user_key] = escalation_id
        if escalation_id is None:
            return False
        view = await off_the_loop(self.escalations.get, escalation_id)
        if view is None or view.status != CLAIMED or view.user_key != user_key:
            # Closed elsewhere, or the person erased their data: the bot answers again.
            self.connected.pop(user_key, None)
            return False
        warning = f" ⚠️ {level_name(level)}" if level else ""
        if not level:  # a risk message is never held back
            await self._relay_budget.wait(user_key)
        posted = await self._post(
            f"#{escalation_id} ▸{warning}\n{text}",
            prompt=ReplyPrompt("Reply to the person"),
            reply_to=view.alert_message_id,
        )
        if posted is not None:
            try:
                await off_the_loop(self.escalations.note_relayed, escalation_id, posted)
            except DatabaseError as error:
                log.error("Could not note a relayed message for erasure (%s)", type(error).__name__)
        return True

    # --- erasure -------------------------------------------------------------------------------
    async def on_erasure(self, user_key: str) -> None:
        """Called by the Assistant just before a person's data is erased: which of their messages
        are in the coordinators' group (the erasure deletes that record), and no more relaying."""
        try:
            self._to_clear[user_key] = await off_the_loop(self.escalations.group_messages_of, user_key)
        except DatabaseError as error:
            log.error("Could not find the person's messages in the group (%s)", type(error).__name__)
        self.connected.pop(user_key, None)

    async def on_erased(self, user_key: str) -> None:
        """Called once the erasure is done: the person's messages leave the coordinators' group too.
        Telegram lets a bot delete its messages for 48 hours; older ones are overwritten instead.
        The alerts stay (coordinators may still need their buttons), shown again without the
        person's messages."""
        messages = self._to_clear.pop(user_key, None)
        if messages is not None:
            self._spawn(self._erase_from_group(messages))

    async def _erase_from_group(self, messages: GroupMessages) -> None:
        for message_id, posted_at in messages.quoted:
            deletable = datetime.now(timezone.utc) - posted_at < DELETABLE_FOR
            if not (deletable and await self.messenger.delete(message_id)):
                await self.messenger.edit(message_id, ERASED)
        for escalation_id in messages.escalations:
            await self._refresh_alert(escalation_id)

    # --- the coordinators' group ---------------------------------------------------------------
    def is_coordinator(self, user_id: int) -> bool:
        return user_id in self.group.user_ids

    def _actor(self, coordinator: Coordinator) -> str:
        return pseudonym("coordinator", coordinator.user_id, self.secret)

    async def note_stranger(self, user_id: int, what: str) -> None:
        """Someone not listed in COORDINATOR_USER_IDS tried to act: kept in the audit log, pseudonymously."""
        await off_the_loop(self.escalations.audit, pseudonym("telegram", user_id, self.secret), what)

    async def on_button(self, data: str, member: Coordinator) -> tuple[str, bool] | None:
        """A button under an alert or a booking request: the answer shown to the coordinator, and
        whether it needs a pop-up (a refusal); None when the button is not ours."""
        booking = BOOKING_CALLBACK.match(data)
        match = CALLBACK.match(data) or booking
        if match is None:
            return None
        action, record_id = match.group(1), int(match.group(2))
        if not self.is_coordinator(member.user_id):
            await self.note_stranger(member.user_id, f"button {action}")
            return ONLY_COORDINATORS, True
        if booking:
            answer = await self.set_booking_status(record_id, action, member)
            return answer, answer.startswith("⚠️")
        handlers: dict[str, Callable[[int, Coordinator], Awaitable[str]]] = {
            "claim": self.claim,
            "takeover": self.take_over,
            "release": self.release,
            "resolve": self.resolve,
            "note": self.ask_for_note,
        }
        answer = await handlers[action](record_id, member)
        return answer, answer.startswith("⚠️")

    async def claim(self, escalation_id: int, coordinator: Coordinator) -> str:
        if not await off_the_loop(self.escalations.claim, escalation_id, self._actor(coordinator)):
            view = await off_the_loop(self.escalations.get, escalation_id)
            state = view.status if view else "unknown"
            return f"⚠️ #{escalation_id} is already {state}; someone else has it."
        view = await off_the_loop(self.escalations.get, escalation_id)
        assert view is not None
        if view.user_key is not None:
            self.connected[view.user_key] = escalation_id
        await self._refresh_alert(escalation_id, note=f"✋ Claimed by {coordinator.first_name}.")
        if view.chat_id is not None:
            t = self.catalogs.for_language(view.language)
            text = t.pgettext(
                "handoff",
                "A person from the volunteer programme has joined this chat. You can write to them here. "
                "They will read what you write from now on.",
            )
            await self.messenger.send(view.chat_id, [Reply(text, view.language, urgent=True)])
            return f"#{escalation_id} is yours. Reply to its messages here to write to the person."
        return f"#{escalation_id} is yours, but this person cannot be reached from here."

    async def take_over(self, escalation_id: int, coordinator: Coordinator) -> str:
        """A colleague takes a claimed conversation over; the log keeps who did."""
        if not await off_the_loop(self.escalations.take_over, escalation_id, self._actor(coordinator)):
            return f"⚠️ #{escalation_id} is not claimed; press Claim."
        await self._refresh_alert(escalation_id, note=f"🤝 Taken over by {coordinator.first_name}.")
        return f"#{escalation_id} is yours now. Reply to its messages here to write to the person."

    async def release(self, escalation_id: int, coordinator: Coordinator) -> str:
        if not await off_the_loop(self.escalations.release, escalation_id, self._actor(coordinator)):
            return f"⚠️ #{escalation_id} is not claimed."
        await self._disconnect(escalation_id)
        await self._refresh_alert(escalation_id, note=f"↩️ Released by {coordinator.first_name}; open again.")
        return f"#{escalation_id} is open again."

    async def resolve(self, escalation_id: int, coordinator: Coordinator) -> str:
        before = await off_the_loop(self.escalations.get, escalation_id)
        if before is None or not await off_the_loop(self.escalations.resolve, escalation_id, self._actor(coordinator)):
            return f"⚠️ #{escalation_id} is already closed."
        if before.status == CLAIMED:
            await self._disconnect(escalation_id, before)
        await self._refresh_alert(escalation_id, note=f"✅ Resolved by {coordinator.first_name}.")
        return f"#{escalation_id} is resolved."

    async def _disconnect(self, escalation_id: int, view: EscalationView | None = None) -> None:
        """The self-help bot takes the conversation back and shows the person the menu again."""
        view = view or await off_the_loop(self.escalations.get, escalation_id)
        if view is None or view.user_key is None:
            return
        self.connected.pop(view.user_key, None)
        # Conversations paused by earlier versions of the hand-off are resumed; for the others
        # this changes nothing.
        await self.assistant.rasa.add_event(view.user_key, {"event": "resume"})
        if view.chat_id is None:
            return
        t = self.catalogs.for_language(view.language)
        back = t.pgettext(
            "handoff", "The person from the programme has left the chat. You are talking with the self-help bot again."
        )
        menu = await self.assistant.handle_text(view.user_key, "/menu")
        await self.messenger.send(view.chat_id, [Reply(back, view.language), *menu])

    async def ask_for_note(self, escalation_id: int, coordinator: Coordinator) -> str:
        if await off_the_loop(self.escalations.get, escalation_id) is None:
            return f"⚠️ There is no #{escalation_id}."
        await self._post(
            f"#{escalation_id} ✎ {coordinator.first_name}, reply to this message with your note.",
            prompt=ReplyPrompt("Your note", selective=True),
        )
        return "Write your note as a reply."

    async def on_command(self, command: str, arguments: list[str], member: Coordinator) -> None:
        """/escalations, /escalation and /report in the group: the log, for coordinators only."""
        if not self.is_coordinator(member.user_id):
            await self.note_stranger(member.user_id, command)
            await self._post(ONLY_COORDINATORS)
        elif command == LIST_COMMAND:
            await self._post(await self.list_text(arguments))
        elif command == SHOW_COMMAND:
            await self._post(await self.show_text(arguments))
        elif command == REPORT_COMMAND:
            weeks = int(arguments[0]) if arguments and arguments[0].isdigit() else picture.DEFAULT_WEEKS
            if not await self.post_report(max(1, min(weeks, 52))):
                await self._post("The picture could not be posted; please try /report again in a minute.")

    async def on_reply(self, replied_text: str, text: str, member: Coordinator) -> None:
        """A reply to one of the bot's posts: to a person, to a booking request, or a note."""
        if not self.is_coordinator(member.user_id):
            await self.note_stranger(member.user_id, "reply")
            await self._post(ONLY_COORDINATORS)
            return
        booking = BOOKING_HEADER.match(replied_text)
        if booking:
            await self.talk_about_booking(int(booking.group(1)), text, member)
            return
        match = HEADER.match(replied_text)
        if match is None:
            return
        escalation_id = int(match.group(1))
        if match.group(2):  # a reply to "#12 ✎ ...": a note for the log
            saved = await off_the_loop(self.escalations.add_note, escalation_id, self._actor(member), text)
            await self._post(f"#{escalation_id} 📝 Note saved." if saved else f"There is no #{escalation_id}.")
            return
        view = await off_the_loop(self.escalations.get, escalation_id)
        if view is None or view.status not in ACTIVE:
            await self._post(f"#{escalation_id} is closed; your message was not sent.")
        elif view.status != CLAIMED:
            await self._post(f"#{escalation_id}: press Claim first; then your replies reach the person.")
        elif view.claimed_by != self._actor(member):
            await self._post(
                f"#{escalation_id} is claimed by a colleague, so your message was not sent. Press 🤝 Take over "
                "on its alert to talk with the person yourself."
            )
        elif view.chat_id is None:
            await self._post(f"#{escalation_id}: this person cannot be reached from here.")
        else:
            await self.messenger.send(view.chat_id, [Reply(f"🙋 {text}", view.language)])

    # --- the log in the group ------------------------------------------------------------------
    async def list_text(self, arguments: list[str]) -> str:
        period = arguments[0].lower() if arguments else "open"
        if period not in LIST_PERIODS:
            return "Use /escalations open, /escalations today or /escalations week."
        since = LIST_PERIODS[period]
        if since is None:
            views = [view for view in await off_the_loop(self.escalations.list) if view.status in ACTIVE]
        else:
            views = await off_the_loop(self.escalations.list, since=datetime.now(timezone.utc) - since)
        if not views:
            return f"No escalations ({period})."
        return "\n".join([f"Escalations ({period}):", *(summary_line(view) for view in views[-50:])])

    async def show_text(self, arguments: list[str]) -> str:
        if not arguments or not arguments[0].lstrip("#").isdigit():
            return "Use /escalation followed by its number, e.g. /escalation 12."
        escalation_id = int(arguments[0].lstrip("#"))
        view = await off_the_loop(self.escalations.get, escalation_id)
        if view is None:
            return f"There is no #{escalation_id}."
        history = [
            f"{event.at:%Y-%m-%d %H:%M} {event.kind}" + (f": {event.note}" if event.note else "")
            for event in await off_the_loop(self.escalations.history, escalation_id)
        ]
        return "\n".join([summary_line(view), *history])
