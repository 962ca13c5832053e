"""The coordinators' side of an escalation, in their Telegram group (COORDINATOR_CHAT_ID).

Each escalation is posted as an alert with Claim, Resolve and Add note buttons. A coordinator who
claims it is connected to the person: the person's messages are posted in the group as replies to
the alert (headed "#<id> ▸"), and the coordinator's replies to those messages go back to the person.
Meanwhile the front end keeps the person's messages from Rasa (Rasa is not paused: a failed
"resume" would leave the person without answers, and /privacy and /delete must still be answered
during a hand-off). A timer re-posts alerts nobody claimed
in time and retries alerts Telegram did not take. Coordinator texts are in English, the programme's
working language; everything the person reads is in their own language.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.ext import ContextTypes

from bot.conversation.assistant import Assistant, Reply, booking_saved
from bot.conversation.rasa_client import RasaClient
from bot.core import languages
from bot.core.identity import pseudonym
from bot.core.safety.responses import emergency_numbers
from bot.storage.bookings import CLOSED, MAX_SESSIONS, BookingLog, BookingView
from bot.storage.db import DatabaseError
from bot.storage.escalations import ACTIVE, CLAIMED, OPEN, EscalationLog, EscalationView, GroupMessages
from bot.telegram_front.application import URGENT, TelegramFrontEnd

log = logging.getLogger(__name__)

#: Telegram lets a bot delete a message in a group for 48 hours; a margin for clocks and retries.
DELETABLE_FOR = timedelta(hours=47)
#: What an older relayed message is overwritten with once the person erased their data.
ERASED = "🗑️ Erased at the person's request."

CALLBACK = re.compile(r"^esc:(claim|takeover|release|resolve|note):(\d+)$")
BOOKING_CALLBACK = re.compile(r"^book:(scheduled|done|cancelled):(\d+)$")
#: Every message the bot posts in the group about an escalation starts with "#<id> ".
HEADER = re.compile(r"^#(\d+) (✎)?")
#: Booking requests start with "B<id> ".
BOOKING_HEADER = re.compile(r"^B(\d+) ")
LEVEL_NAMES = {
    "acute": "acute risk",
    "distress": "severe distress",
    "request": "asked for a person",
    "third_party": "someone else at risk",
    "violence": "violence at home",
}
RESIDENCE_NAMES = {"azc": "reception centre (azc): GZA Praktijklijn", "municipality": "municipality: own GP"}
#: An open escalation nobody touched for this long is closed as expired.
EXPIRE_AFTER = timedelta(hours=24)
LIST_PERIODS = {"open": None, "today": timedelta(days=1), "week": timedelta(days=7)}


@dataclass(frozen=True)
class Coordinators:
    chat_id: int
    user_ids: frozenset[int]


def ago(moment: datetime, now: datetime | None = None) -> str:
    minutes = int(((now or datetime.now(timezone.utc)) - moment).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago"


def alert_text(view: EscalationView, overdue: bool = False) -> str:
    head = "🚨 URGENT" if view.urgent else "🔔"
    lines = [f"#{view.id} {head} · {LEVEL_NAMES.get(view.level, view.level)}"]
    if overdue:
        lines.append(f"⏰ OVERDUE: nobody has claimed this for {ago(view.created_at)[:-4]}.")
    if view.categories:
        lines.append("Signs: " + ", ".join(category.replace("_", " ") for category in view.categories))
    lines.append(f"Language: {languages.native_name(view.language)} ({view.language})")
    lines.append("Lives in: " + RESIDENCE_NAMES.get(view.residence or "", "not known yet"))
    lines.append(f"Opened: {ago(view.created_at)}")
    if view.excerpt:
        lines.append("Recent messages:")
        lines.extend(f"› {line}" for line in view.excerpt.split("\n"))
    if view.chat_id is None:
        lines.append("(This person cannot be reached from the group.)")
    return "\n".join(lines)


def alert_keyboard(view: EscalationView) -> InlineKeyboardMarkup | None:
    if view.status == OPEN:
        first = InlineKeyboardButton("✋ Claim", callback_data=f"esc:claim:{view.id}")
    elif view.status == CLAIMED:
        first = InlineKeyboardButton("↩️ Release", callback_data=f"esc:release:{view.id}")
    else:
        return None
    second_row = [InlineKeyboardButton("📝 Add note", callback_data=f"esc:note:{view.id}")]
    if view.status == CLAIMED:
        # Only the coordinator who claimed it writes to the person; a colleague takes over openly.
        second_row.append(InlineKeyboardButton("🤝 Take over", callback_data=f"esc:takeover:{view.id}"))
    return InlineKeyboardMarkup(
        [[first, InlineKeyboardButton("✅ Resolve", callback_data=f"esc:resolve:{view.id}")], second_row]
    )


def booking_text(view: BookingView, asked: int) -> str:
    contact = "here in the chat" if view.contact == "chat" else "another way: reply here to ask them how"
    lines = [
        f"B{view.id} 📅 Request for a talk · {view.status}",
        f"Language for the talk: {view.session_language}",
        f"Days and times: {view.times}",
        f"Contact: {contact}",
        f"Writes in: {languages.native_name(view.language)} ({view.language})",
        f"Talks asked for: {asked} of {MAX_SESSIONS}",
    ]
    if view.status not in CLOSED:
        lines.append("Reply to this message to write to the person.")
    return "\n".join(lines)


def booking_keyboard(view: BookingView) -> InlineKeyboardMarkup | None:
    if view.status in CLOSED:
        return None
    buttons = [("🗓️ Scheduled", "scheduled"), ("✅ Done", "done"), ("✖️ Cancelled", "cancelled")]
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(title, callback_data=f"book:{status}:{view.id}") for title, status in buttons]]
    )


def summary_line(view: EscalationView) -> str:
    return (
        f"#{view.id} · {view.status} · {LEVEL_NAMES.get(view.level, view.level)} · {view.language} · "
        f"{view.created_at:%Y-%m-%d %H:%M} UTC"
    )


class HandOff:
    def __init__(
        self,
        front: TelegramFrontEnd,
        assistant: Assistant,
        escalations: EscalationLog,
        bookings: BookingLog,
        rasa: RasaClient,
        coordinators: Coordinators,
        pseudonym_secret: str,
        remind_after: timedelta,
    ) -> None:
        self.front = front
        self.assistant = assistant
        self.escalations = escalations
        self.bookings = bookings
        self.rasa = rasa
        self.coordinators = coordinators
        self.secret = pseudonym_secret
        self.remind_after = remind_after
        #: People talking with a coordinator right now: their key → the escalation's id.
        self.connected: dict[str, int] = {}
        self._alerting: set[int] = set()
        self._alerting_bookings: set[int] = set()
        self._tasks: set[asyncio.Task] = set()
        self._timer: asyncio.Task | None = None
        assistant.escalation_listeners.append(self.on_escalation)
        assistant.booking_listeners.append(self.on_booking)
        assistant.erasure_listeners.append(self.on_erasure)

    # --- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Reconnects claimed escalations after a restart, starts the reminder timer, and tells the
        group when the safety screen runs without its model net."""
        if self.assistant.screen.problem:
            self._spawn(self._post(f"⚠️ Safety screen: {self.assistant.screen.problem}. Please tell a maintainer."))
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
                await self.check_due()
            except DatabaseError as error:
                log.error("Escalation timer: database unavailable (%s)", type(error).__name__)
            except Exception:
                log.exception("Escalation timer failed; trying again")
            await asyncio.sleep(self.tick_seconds)

    async def check_due(self) -> None:
        """Stores what the database refused, sends alerts Telegram refused, reminds and expires."""
        self.assistant.retry_unsaved()
        for view in self.escalations.unalerted():
            await self.alert(view)
        for view in self.escalations.overdue(self.remind_after):
            await self.remind(view)
        for booking in self.bookings.unposted():
            await self.post_booking(booking)
        for view in self.escalations.stale(EXPIRE_AFTER):
            if self.escalations.expire(view.id):
                await self._refresh_alert(view.id, note="⌛ Expired: nobody claimed it in 24 hours.")

    # --- alerts --------------------------------------------------------------------------------
    def on_escalation(self, view: EscalationView, created: bool) -> None:
        """Called by the Assistant right after it stored an escalation (before the person's reply)."""
        if view.alerted_at is None:
            self._spawn(self.alert(view))

    async def alert(self, view: EscalationView, overdue: bool = False) -> bool:
        if view.id in self._alerting:
            return False
        self._alerting.add(view.id)
        try:
            message = await self._post(alert_text(view, overdue), alert_keyboard(view), urgent=view.urgent)
            if message is None:
                return False
            self.escalations.mark_alerted(view.id, message.message_id, reminder=overdue)
            return True
        finally:
            self._alerting.discard(view.id)

    async def remind(self, view: EscalationView) -> None:
        """Nobody claimed in time: the alert again, marked overdue, and a word to the person."""
        if not await self.alert(view, overdue=True):
            return
        if view.chat_id is None:
            return
        t = self.front.catalogs.for_language(view.language)
        waiting = t.pgettext(
            "handoff",
            "A coordinator will answer you as soon as possible. I am sorry that it takes a while. "
            "If things get too much, these numbers are there for you:",
        )
        await self.front.send(
            view.chat_id,
            [Reply(waiting, view.language, urgent=True), Reply(emergency_numbers(t), view.language, urgent=True)],
        )

    async def _post(
        self,
        text: str,
        markup: InlineKeyboardMarkup | ForceReply | None = None,
        urgent: bool = False,
        reply_to: int | None = None,
    ) -> Message | None:
        """Posts to the coordinators' group; None when Telegram did not take it."""
        try:
            return await self.front.retrying(
                lambda: self.front.app.bot.send_message(
                    self.coordinators.chat_id,
                    text[:4096],
                    reply_markup=markup,
                    rate_limit_args=URGENT if urgent else None,
                    reply_to_message_id=reply_to,
                    allow_sending_without_reply=True,
                )
            )
        except Exception as error:  # the timer tries again from the database
            log.warning("Posting to the coordinators' group failed (%s)", type(error).__name__)
            return None

    async def _refresh_alert(self, escalation_id: int, note: str = "") -> None:
        view = self.escalations.get(escalation_id)
        if view is None or view.alert_message_id is None:
            return
        await self._edit(
            view.alert_message_id, alert_text(view) + (f"\n\n{note}" if note else ""), alert_keyboard(view)
        )

    async def _edit(self, message_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
        """Updates one of the bot's posts in the group (an alert or a request); best effort."""
        try:
            await self.front.retrying(
                lambda: self.front.app.bot.edit_message_text(
                    text[:4096], chat_id=self.coordinators.chat_id, message_id=message_id, reply_markup=markup
                )
            )
        except Exception as error:
            log.info("Updating a post in the group failed (%s)", type(error).__name__)

    # --- booking requests ----------------------------------------------------------------------
    def on_booking(self, view: BookingView, late: bool) -> None:
        """Called by the Assistant once a booking request is stored."""
        if late and view.chat_id is not None:
            t = self.front.catalogs.for_language(view.language)
            self._spawn(self.front.send(view.chat_id, [Reply(booking_saved(t, view.contact), view.language)]))
        self._spawn(self.post_booking(view))

    async def post_booking(self, view: BookingView) -> None:
        if view.id in self._alerting_bookings:
            return
        self._alerting_bookings.add(view.id)
        try:
            message = await self._post(self._booking_text(view), booking_keyboard(view))
            if message is not None:
                self.bookings.mark_posted(view.id, message.message_id)
        finally:
            self._alerting_bookings.discard(view.id)

    def _booking_text(self, view: BookingView) -> str:
        return booking_text(view, self.bookings.sessions_asked(view.user_key) if view.user_key else 1)

    async def set_booking_status(self, booking_id: int, status: str, coordinator: User) -> str:
        view = self.bookings.set_status(booking_id, status)
        if view is None:
            return f"⚠️ B{booking_id} is already {status} or closed."
        if view.chat_id is not None:
            t = self.front.catalogs.for_language(view.language)
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
            await self.front.send(view.chat_id, [Reply(texts[status], view.language)])
        if view.alert_message_id is not None:
            text = self._booking_text(view) + f"\n\n{status.capitalize()} by {coordinator.first_name}."
            await self._edit(view.alert_message_id, text, booking_keyboard(view))
        return f"B{booking_id} is {status}."

    async def talk_about_booking(self, booking_id: int, text: str, coordinator: User) -> None:
        """A coordinator replied to a booking request: connect them to the person, then send the reply."""
        booking = self.bookings.get(booking_id)
        if booking is None or booking.status in CLOSED or booking.chat_id is None or booking.user_key is None:
            await self._post(f"B{booking_id}: this person cannot be reached from here any more.")
            return
        view, _ = self.escalations.record(
            booking.user_key, "request", ("booking",), booking.language, None, booking.chat_id, None
        )
        if view.status != CLAIMED:
            await self.claim(view.id, coordinator)
        elif self.escalations.get(view.id).claimed_by != self._actor(coordinator):
            await self._post(f"B{booking_id}: a colleague is already talking with this person (#{view.id}).")
            return
        await self.front.send(booking.chat_id, [Reply(f"🙋 {text}", booking.language)])

    # --- the person's messages -----------------------------------------------------------------
    async def relay_from_person(self, user_key: str, text: str, level: str | None = None) -> bool:
        """Posts the person's message to their coordinator; False when no coordinator is connected."""
        escalation_id = self.connected.get(user_key)
        if escalation_id is None:
            return False
        view = self.escalations.get(escalation_id)
        if view is None or view.status != CLAIMED or view.user_key != user_key:
            # Closed elsewhere, or the person erased their data: the bot answers again.
            self.connected.pop(user_key, None)
            return False
        warning = f" ⚠️ {LEVEL_NAMES.get(level, level)}" if level else ""
        posted = await self._post(
            f"#{escalation_id} ▸{warning}\n{text}",
            ForceReply(selective=False, input_field_placeholder="Reply to the person"),
            reply_to=view.alert_message_id,
        )
        if posted is not None:
            try:
                self.escalations.note_relayed(escalation_id, posted.message_id)
            except DatabaseError as error:
                log.error("Could not note a relayed message for erasure (%s)", type(error).__name__)
        return True

    # --- erasure -------------------------------------------------------------------------------
    def on_erasure(self, user_key: str) -> None:
        """Called by the Assistant just before a person's data is erased: their messages leave the
        coordinators' group too. Telegram lets a bot delete its messages for 48 hours; older ones
        are overwritten instead. The alerts stay (coordinators may still need their buttons),
        shown again without the person's messages."""
        try:
            messages = self.escalations.group_messages_of(user_key)
        except DatabaseError as error:
            log.error("Could not find the person's messages in the group (%s)", type(error).__name__)
            return
        self.connected.pop(user_key, None)
        self._spawn(self._erase_from_group(messages))

    async def _erase_from_group(self, messages: GroupMessages) -> None:
        # Runs once the erasure itself is done (on_erasure is called just before it, in the same
        # step), so the alerts are shown again without the person's messages.
        for message_id, posted_at in messages.quoted:
            deleted = False
            if datetime.now(timezone.utc) - posted_at < DELETABLE_FOR:
                try:
                    deleted = bool(
                        await self.front.retrying(
                            lambda message_id=message_id: self.front.app.bot.delete_message(
                                self.coordinators.chat_id, message_id
                            )
                        )
                    )
                except Exception as error:
                    log.info("Deleting a relayed message failed (%s); overwriting it", type(error).__name__)
            if not deleted:
                await self._edit(message_id, ERASED, None)
        for escalation_id in messages.escalations:
            await self._refresh_alert(escalation_id)

    # --- the coordinators' group ---------------------------------------------------------------
    def is_coordinator(self, user: User | None) -> bool:
        return user is not None and user.id in self.coordinators.user_ids

    def _actor(self, user: User) -> str:
        return pseudonym("coordinator", user.id, self.secret)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        booking = BOOKING_CALLBACK.match(query.data or "")
        match = CALLBACK.match(query.data or "") or booking
        if match is None:
            return
        action, escalation_id = match.group(1), int(match.group(2))
        if not self.is_coordinator(query.from_user):
            self.escalations.audit(pseudonym("telegram", query.from_user.id, self.secret), f"button {action}")
            await self.front.retrying(
                lambda: query.answer("Only coordinators listed in COORDINATOR_USER_IDS can do this.", show_alert=True)
            )
            return
        if booking:
            answer = await self.set_booking_status(escalation_id, action, query.from_user)
            await self.front.retrying(lambda: query.answer(answer, show_alert=answer.startswith("⚠️")))
            return
        handlers: dict[str, Callable[[int, User], Awaitable[str]]] = {
            "claim": self.claim,
            "takeover": self.take_over,
            "release": self.release,
            "resolve": self.resolve,
            "note": self.ask_for_note,
        }
        answer = await handlers[action](escalation_id, query.from_user)
        await self.front.retrying(lambda: query.answer(answer, show_alert=answer.startswith("⚠️")))

    async def claim(self, escalation_id: int, coordinator: User) -> str:
        if not self.escalations.claim(escalation_id, self._actor(coordinator)):
            view = self.escalations.get(escalation_id)
            state = view.status if view else "unknown"
            return f"⚠️ #{escalation_id} is already {state}; someone else has it."
        view = self.escalations.get(escalation_id)
        assert view is not None
        if view.user_key is not None:
            self.connected[view.user_key] = escalation_id
        await self._refresh_alert(escalation_id, note=f"✋ Claimed by {coordinator.first_name}.")
        if view.chat_id is not None:
            t = self.front.catalogs.for_language(view.language)
            text = t.pgettext(
                "handoff",
                "A person from the volunteer programme has joined this chat. You can write to them here. "
                "They will read what you write from now on.",
            )
            await self.front.send(view.chat_id, [Reply(text, view.language, urgent=True)])
            return f"#{escalation_id} is yours. Reply to its messages here to write to the person."
        return f"#{escalation_id} is yours, but this person cannot be reached from here."

    async def take_over(self, escalation_id: int, coordinator: User) -> str:
        """A colleague takes a claimed conversation over; the log keeps who did."""
        if not self.escalations.take_over(escalation_id, self._actor(coordinator)):
            return f"⚠️ #{escalation_id} is not claimed; press Claim."
        await self._refresh_alert(escalation_id, note=f"🤝 Taken over by {coordinator.first_name}.")
        return f"#{escalation_id} is yours now. Reply to its messages here to write to the person."

    async def release(self, escalation_id: int, coordinator: User) -> str:
        if not self.escalations.release(escalation_id, self._actor(coordinator)):
            return f"⚠️ #{escalation_id} is not claimed."
        await self._disconnect(escalation_id)
        await self._refresh_alert(escalation_id, note=f"↩️ Released by {coordinator.first_name}; open again.")
        return f"#{escalation_id} is open again."

    async def resolve(self, escalation_id: int, coordinator: User) -> str:
        before = self.escalations.get(escalation_id)
        if before is None or not self.escalations.resolve(escalation_id, self._actor(coordinator)):
            return f"⚠️ #{escalation_id} is already closed."
        if before.status == CLAIMED:
            await self._disconnect(escalation_id, before)
        await self._refresh_alert(escalation_id, note=f"✅ Resolved by {coordinator.first_name}.")
        return f"#{escalation_id} is resolved."

    async def _disconnect(self, escalation_id: int, view: EscalationView | None = None) -> None:
        """Rasa takes the conversation back and greets the person again."""
        view = view or self.escalations.get(escalation_id)
        if view is None or view.user_key is None:
            return
        self.connected.pop(view.user_key, None)
        # Conversations paused by earlier versions of the hand-off are resumed; for the others
        # this changes nothing.
        await self.rasa.add_event(view.user_key, {"event": "resume"})
        if view.chat_id is None:
            return
        t = self.front.catalogs.for_language(view.language)
        back = t.pgettext(
            "handoff", "The person from the programme has left the chat. You are talking with the self-help bot again."
        )
        menu = await self.assistant.handle_text(view.user_key, "/menu")
        await self.front.send(view.chat_id, [Reply(back, view.language), *menu])

    async def ask_for_note(self, escalation_id: int, coordinator: User) -> str:
        if self.escalations.get(escalation_id) is None:
            return f"⚠️ There is no #{escalation_id}."
        await self._post(
            f"#{escalation_id} ✎ {coordinator.first_name}, reply to this message with your note.",
            ForceReply(selective=True, input_field_placeholder="Your note"),
        )
        return "Write your note as a reply."

    async def on_group_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Commands and replies in the coordinators' group; everything else there is conversation."""
        message = update.message
        if message is None or not message.text or message.from_user is None:
            return
        replied = message.reply_to_message
        about_us = (
            replied is not None and replied.from_user is not None and replied.from_user.id == self.front.app.bot.id
        )
        command = message.text.split(maxsplit=1)[0].split("@")[0].lower() if message.text.startswith("/") else ""
        if command not in ("/escalations", "/escalation") and not about_us:
            return
        if not self.is_coordinator(message.from_user):
            self.escalations.audit(pseudonym("telegram", message.from_user.id, self.secret), command or "reply")
            await self._post("Only coordinators listed in COORDINATOR_USER_IDS can do this.")
            return
        if command == "/escalations":
            await self._post(self.list_text(message.text.split()[1:]))
        elif command == "/escalation":
            await self._post(self.show_text(message.text.split()[1:]))
        elif replied is not None:
            await self._on_reply(replied.text or "", message.text, message.from_user)

    async def _on_reply(self, replied_text: str, text: str, coordinator: User) -> None:
        booking = BOOKING_HEADER.match(replied_text)
        if booking:
            await self.talk_about_booking(int(booking.group(1)), text, coordinator)
            return
        match = HEADER.match(replied_text)
        if match is None:
            return
        escalation_id = int(match.group(1))
        if match.group(2):  # a reply to "#12 ✎ ...": a note for the log
            saved = self.escalations.add_note(escalation_id, self._actor(coordinator), text)
            await self._post(f"#{escalation_id} 📝 Note saved." if saved else f"There is no #{escalation_id}.")
            return
        view = self.escalations.get(escalation_id)
        if view is None or view.status not in ACTIVE:
            await self._post(f"#{escalation_id} is closed; your message was not sent.")
        elif view.status != CLAIMED:
            await self._post(f"#{escalation_id}: press Claim first; then your replies reach the person.")
        elif view.claimed_by != self._actor(coordinator):
            await self._post(
                f"#{escalation_id} is claimed by a colleague, so your message was not sent. Press 🤝 Take over "
                "on its alert to talk with the person yourself."
            )
        elif view.chat_id is None:
            await self._post(f"#{escalation_id}: this person cannot be reached from here.")
        else:
            await self.front.send(view.chat_id, [Reply(f"🙋 {text}", view.language)])

    # --- the log in the group ------------------------------------------------------------------
    def list_text(self, arguments: list[str]) -> str:
        period = arguments[0].lower() if arguments else "open"
        if period not in LIST_PERIODS:
            return "Use /escalations open, /escalations today or /escalations week."
        since = LIST_PERIODS[period]
        if since is None:
            views = [view for view in self.escalations.list() if view.status in ACTIVE]
        else:
            views = self.escalations.list(since=datetime.now(timezone.utc) - since)
        if not views:
            return f"No escalations ({period})."
        return "\n".join([f"Escalations ({period}):", *(summary_line(view) for view in views[-50:])])

    def show_text(self, arguments: list[str]) -> str:
        if not arguments or not arguments[0].lstrip("#").isdigit():
            return "Use /escalation followed by its number, e.g. /escalation 12."
        escalation_id = int(arguments[0].lstrip("#"))
        view = self.escalations.get(escalation_id)
        if view is None:
            return f"There is no #{escalation_id}."
        history = [
            f"{event.at:%Y-%m-%d %H:%M} {event.kind}" + (f": {event.note}" if event.note else "")
            for event in self.escalations.history(escalation_id)
        ]
        return "\n".join([summary_line(view), *history])
