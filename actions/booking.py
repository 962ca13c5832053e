"""The booking request in the chat: a Rasa form of five questions (domain/slots.yml, booking_form).

Each answer is read by validate_booking_form from the latest message: a button's intent (/affirm,
/deny), or the words the person wrote. Anything else gets a kind "please choose" and the question
again; "✖️ Stop" (/show_menu) ends the form. action_submit_booking then explains why it ended, or
hands the answers to the front end, which stores them and confirms only once they are saved.
"""

from __future__ import annotations

import logging
import os
import re
from abc import ABC, abstractmethod
from datetime import date
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import reply_language
from bot.core import languages, protocol
from bot.core.i18n import Translator, default_catalogs
from bot.core.resources import load_resources
from bot.storage.bookings import MAX_SESSIONS, BookingLog
from bot.storage.db import Database, DatabaseError

log = logging.getLogger(__name__)

BOOKING_SLOTS = ("booking_adult", "booking_language", "booking_times", "booking_contact", "booking_consent")
STOP_INTENTS = {"show_menu"}
STOP_PAYLOAD = "/show_menu"
#: A day and month such as 24/11, 24-11-2026 or 24.11.
DATE = re.compile(r"\b(\d{1,2})([/.-])(\d{1,2})(?:[/.-](\d{2}|\d{4}))?\b")
#: Setting this slot to its own value counts as an answer for Rasa, so the form asks again
#: instead of handing the turn to other policies.
KEEP_ASKING = {"booking_stop": None}


@lru_cache(maxsize=1)
def booking_log() -> BookingLog | None:
    url = os.environ.get("DATABASE_URL")
    return BookingLog(Database(url)) if url else None


def sessions_asked(user_key: str) -> int:
    """How many talks this person asked for; 0 when the database cannot tell (the limit is then not applied)."""
    bookings = booking_log()
    if bookings is None:
        return 0
    try:
        return bookings.sessions_asked(user_key)
    except DatabaseError as error:
        log.warning("Could not count booking requests (%s)", type(error).__name__)
        return 0


def impossible_date(text: str) -> bool:
    """True when the text names a day and month that no calendar has (31/02, 32/13). A clock time
    ("14.30") or a range of hours ("14-16") without a year is not taken for a date."""
    for day, separator, month, year in DATE.findall(text):
        d, m = int(day), int(month)
        if not year and separator == "." and d <= 24 and m <= 59:
            continue  # 14.30: half past two
        if not year and separator == "-" and d < m <= 24:
            continue  # 14-16: from two to four
        if not (_exists(d, m) or _exists(m, d)):  # day/month, or month/day as some people write
            return True
    return False


def _exists(day: int, month: int) -> bool:
    try:
        date(2024, month, day)  # a leap year: 29/02 exists
        return True
    except ValueError:
        return False


def translator(tracker: Tracker) -> Translator:
    return default_catalogs().for_language(reply_language(tracker))


def buttons(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"title": title, "payload": payload} for title, payload in pairs]


def stop_button(t: Translator) -> tuple[str, str]:
    return t.pgettext("button", "✖️ Stop"), STOP_PAYLOAD


#: The five questions, each with its buttons. Written here, not in the domain, because the form
#: asks them through action_ask_<slot> (the validator only counts responses used in rules).
def question(t: Translator, slot: str) -> tuple[str, list[dict[str, str]]]:
    yes, no = (t.pgettext("button", "✅ Yes"), "/affirm"), (t.pgettext("button", "❌ No"), "/deny")
    if slot == "booking_adult":
        return t.pgettext("booking", "First: are you 18 years or older?"), buttons(yes, no, stop_button(t))
    if slot == "booking_language":
        # The language the person writes in comes first: the likely answer, one tap away.
        codes = sorted(languages.SUPPORTED, key=lambda code: code != t.language)
        names = [(languages.native_name(code), languages.native_name(code)) for code in codes]
        text = t.pgettext(
            "booking",
            "In which language would you like to talk? The talks are usually in English. Other languages are "
            "sometimes possible. You can also write a language.",
        )
        return text, buttons(*names, stop_button(t))
    if slot == "booking_times":
        text = t.pgettext(
            "booking",
            "Which days and times suit you? Choose one, or write them, for example: Tuesday morning, or 24/11 "
            "after 14:00.",
        )
        return text, buttons(
            (t.pgettext("button", "🌅 Weekday mornings"), "weekday mornings"),
            (t.pgettext("button", "🌇 Weekday afternoons"), "weekday afternoons"),
            (t.pgettext("button", "🌙 Weekday evenings"), "weekday evenings"),
            (t.pgettext("button", "📅 Weekends"), "weekends"),
            stop_button(t),
        )
    if slot == "booking_contact":
        text = t.pgettext(
            "booking",
            "How should the programme reach you? A coordinator can write to you here in this chat, so you do not "
            "need to give a phone number.",
        )
        return text, buttons(
            (t.pgettext("button", "💬 Here in this chat"), "/affirm"),
            (t.pgettext("button", "📞 Another way"), "/deny"),
            stop_button(t),
        )
    text = t.pgettext(
        "booking",
        "May I send your answers to the coordinators of the programme? Only they see them, and they will write to "
        "you here. Your contact details are deleted after your sessions.",
    )
    return text, buttons((t.pgettext("button", "✅ Yes, send it"), "/affirm"), no)


def use_buttons(t: Translator) -> str:
    return t.pgettext("booking", "Please choose one of the buttons, or write your answer in a few words.")


def bad_date(t: Translator) -> str:
    return t.pgettext(
        "booking",
        "I could not find that date in the calendar. Please write a day and time again, for example: Tuesday "
        "morning, or 24/11 after 14:00.",
    )


def ending(t: Translator, stop: str) -> str:
    """Why the form ended without a request, in the person's words."""
    if stop == "limit":
        text = t.pgettext(
            "booking",
            "You have already asked for three talks, which is what the programme offers. Thank you for taking "
            "part. You can keep using the self-care topics here. Your doctor or the staff where you live can tell "
            "you about group programmes for people with a refugee background, such as {group_programmes}.",
        )
    elif stop == "under_18":
        text = t.pgettext(
            "booking",
            "The talks with volunteers are for adults (18 years or older), so I cannot send this request. If you "
            "are younger, you can talk to {youth_line_name} for free: call {youth_line_phone} or chat at "
            "{youth_line_chat}. {crisis_line_name} is also there for young people, day and night.",
        )
    elif stop == "no_consent":
        text = t.pgettext(
            "booking",
            "All right. I did not send anything. You can still book through the link, or ask me again later.",
        )
    else:
        text = t.pgettext("booking", "I stopped the request. Nothing was sent.")
    return text.format(**load_resources())


class AskBookingQuestion(Action, ABC):
    """Asks one of the form's questions (Rasa calls action_ask_<slot> for the slot it needs next)."""

    @property
    @abstractmethod
    def slot(self) -> str: ...

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        text, choices = question(translator(tracker), self.slot)
        dispatcher.utter_message(text=text, buttons=choices)
        return []


class AskBookingAdult(AskBookingQuestion):
    slot = "booking_adult"


class AskBookingLanguage(AskBookingQuestion):
    slot = "booking_language"


class AskBookingTimes(AskBookingQuestion):
    slot = "booking_times"


class AskBookingContact(AskBookingQuestion):
    slot = "booking_contact"


class AskBookingConsent(AskBookingQuestion):
    slot = "booking_consent"


class ActionStartBooking(Action):
    """Clears earlier answers, and ends the form at once when the person had their three talks."""

    def name(self) -> str:
        return "action_start_booking"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        events = [SlotSet(slot, None) for slot in BOOKING_SLOTS]
        limit_reached = sessions_asked(tracker.sender_id) >= MAX_SESSIONS
        return [*events, SlotSet("booking_stop", "limit" if limit_reached else None)]


class ValidateBookingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[str]:
        return [] if tracker.get_slot("booking_stop") else domain_slots

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        """As FormValidationAction.run, but every extracted value is returned, also when the answer
        just ended the form (the SDK drops values of slots that are no longer required). Built from
        the SDK's public steps: extract, validate, then name the next slot to ask for."""
        extracted = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extracted)
        validated = await self.get_validation_events(dispatcher, tracker, domain)
        tracker.add_slots(validated)
        next_slot = await self.next_requested_slot(dispatcher, tracker, domain)
        if next_slot:
            validated.append(next_slot)
        names = {event["name"] for event in validated}
        return [event for event in extracted if event["name"] not in names] + validated

    @staticmethod
    def _message(tracker: Tracker, slot: str) -> tuple[str, str] | None:
        """The latest message's intent and text, when it answers `slot`."""
        if tracker.get_slot("requested_slot") != slot:
            return None
        message = tracker.latest_message
        return (message.get("intent") or {}).get("name", ""), (message.get("text") or "").strip()

    def _yes_no(
        self, tracker: Tracker, dispatcher: CollectingDispatcher, slot: str, on_no: str | None = None
    ) -> dict[str, Any]:
        answer = self._message(tracker, slot)
        if answer is None:
            return {}
        intent, _ = answer
        if intent in STOP_INTENTS:
            return {"booking_stop": "stopped"}
        if intent == "affirm":
            return {slot: True}
        if intent == "deny":
            return {slot: False, "booking_stop": on_no} if on_no else {slot: False}
        dispatcher.utter_message(text=use_buttons(translator(tracker)))
        return KEEP_ASKING

    async def extract_booking_adult(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        return self._yes_no(tracker, dispatcher, "booking_adult", on_no="under_18")

    async def extract_booking_consent(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        return self._yes_no(tracker, dispatcher, "booking_consent", on_no="no_consent")

    async def extract_booking_contact(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        answer = self._yes_no(tracker, dispatcher, "booking_contact")
        if "booking_contact" in answer:
            return {"booking_contact": "chat" if answer["booking_contact"] else "other"}
        return answer

    def _words(self, tracker: Tracker, dispatcher: CollectingDispatcher, slot: str) -> tuple[dict | None, str]:
        """(None, the text) when the message answers `slot` in words; otherwise (what to do instead:
        stop, ask again, or nothing, "")."""
        answer = self._message(tracker, slot)
        if answer is None:
            return {}, ""
        intent, text = answer
        if intent in STOP_INTENTS:
            return {"booking_stop": "stopped"}, ""
        if not text or text.startswith("/") or not any(ch.isalnum() for ch in text):
            dispatcher.utter_message(text=use_buttons(translator(tracker)))
            return KEEP_ASKING, ""
        return None, " ".join(text.split())

    async def extract_booking_language(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        outcome, text = self._words(tracker, dispatcher, "booking_language")
        if outcome is not None:
            return outcome
        code = languages.find_language_name(text) or languages.normalize(text)
        return {"booking_language": f"{languages.native_name(code)} ({code})" if code else text[:64]}

    async def extract_booking_times(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        outcome, text = self._words(tracker, dispatcher, "booking_times")
        if outcome is not None:
            return outcome
        if impossible_date(text):
            dispatcher.utter_message(text=bad_date(translator(tracker)))
            return KEEP_ASKING
        return {"booking_times": text[:300]}


class ActionSubmitBooking(Action):
    """Explains why the form ended early, or hands the answers to the front end to store."""

    def name(self) -> str:
        return "action_submit_booking"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        stop = tracker.get_slot("booking_stop")
        answers = {slot: tracker.get_slot(slot) for slot in BOOKING_SLOTS}
        if stop == "limit":  # the three talks are used: the group programmes are the next step
            t = translator(tracker)
            finder = buttons((t.pgettext("programmes", "👥 Find a group programme"), "/ask_group_programmes"))
            dispatcher.utter_message(text=ending(t, stop), buttons=finder)
            dispatcher.utter_message(response="utter_menu")
        elif stop:
            dispatcher.utter_message(text=ending(translator(tracker), stop))
            if stop != "no_consent":
                dispatcher.utter_message(response="utter_menu")
        elif all(value is not None for value in answers.values()) and answers["booking_consent"]:
            booking = protocol.BookingAnswers(
                session_language=answers["booking_language"],
                times=answers["booking_times"],
                contact=answers["booking_contact"],
            )
            dispatcher.utter_message(json_message=protocol.store_booking(booking))
        else:
            dispatcher.utter_message(text=ending(translator(tracker), "stopped"))
        return [SlotSet(slot, None) for slot in (*BOOKING_SLOTS, "booking_stop")]
