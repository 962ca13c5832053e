"""One message's way through the front end: the safety screen, commands, then Rasa; never raises.

The terminal chat uses this today and the Telegram front end will use the same class, so both
behave the same. Message text is never logged.
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import yaml

from bot import PROJECT_ROOT
from bot.conversation import reply_language
from bot.conversation.outbox import AlreadyStored, Entry, Outbox, unavailable
from bot.conversation.rasa_client import BotMessage, Button, RasaClient, RasaUnavailable
from bot.core import language_id, languages
from bot.core.i18n import Catalogs, Translator
from bot.core.office_hours import OfficeHours
from bot.core.safety import Assessment, Level
from bot.core.safety.net import RISK_INTENTS
from bot.core.safety.nets import RiskScreen, deferrable, with_rasa
from bot.core.safety.responses import (
    ANSWER_NO,
    ANSWER_YES,
    RESIDENCES,
    answered_no,
    check_in,
    crisis_messages,
    residence_confirmation,
)
from bot.storage.bookings import BookingLog, BookingView
from bot.storage.db import DatabaseError
from bot.storage.escalations import EscalationLog, EscalationView
from bot.storage.users import CrisisState, LanguageState, UserStore

log = logging.getLogger(__name__)

#: Rasa reads at most this much of a message; longer text is cut at a word boundary.
MAX_NLU_CHARS = 1000

#: Telegram-style commands and the Rasa payloads they stand for.
COMMAND_PAYLOADS = {
    "/start": "/greet",
    "/help": "/show_menu",
    "/topics": "/show_menu",
    "/menu": "/show_menu",
    "/book": "/book_session",
    "/privacy": "/ask_privacy",
    "/human": "/request_human",
}

#: The buttons that confirm or cancel erasing a person's data.
ERASE_CONFIRMED, ERASE_CANCELLED = "/erase_confirmed", "/erase_cancelled"

#: After a crisis, the assistant checks in once, this many ordinary messages later.
CHECK_IN_AFTER_MESSAGES = 3
#: A crisis is kept in mind this long after the last risk message.
CRISIS_MEMORY = timedelta(hours=24)

#: A question about ending one's life (Level.ASK) counts as asked this long; a "yes" typed in words
#: within it takes the person to the crisis answer.
QUESTION_OPEN_SECONDS = 30 * 60
#: Levels at which the coordinators are alerted.
ESCALATED_LEVELS = (Level.ACUTE, Level.DISTRESS, Level.VIOLENCE)

#: What the Rasa safety net (action_flag_risk) may report.
NET_LEVELS = {level.value: level for level in RISK_INTENTS.values()}

_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]+)(?P<entities>\{.*\})?$", re.DOTALL)


@dataclass
class Reply:
    """One message for the person, in the language it was written in."""

    text: str
    language: str
    buttons: list[Button] = field(default_factory=list)
    urgent: bool = False  # a crisis reply: sent before anything else that waits
    clears_chat: bool = False  # the person's data was erased: delete the bot's earlier messages first


@lru_cache(maxsize=1)
def domain_intents() -> frozenset[str]:
    data = yaml.safe_load((PROJECT_ROOT / "domain" / "intents.yml").read_text(encoding="utf-8"))
    return frozenset(data["intents"])


def has_words(text: str) -> bool:
    """False for text made only of emoji, symbols, punctuation and spaces."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


#: The scripts our languages are written in. Text in other scripts cannot be understood by the
#: model (it would guess with high confidence), so it goes straight to the fallback.
KNOWN_SCRIPTS = ("LATIN", "ARABIC", "CYRILLIC")


def in_known_script(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    known = sum(1 for ch in letters if unicodedata.name(ch, "").startswith(KNOWN_SCRIPTS))
    return not letters or known * 2 >= len(letters)


def cut_for_nlu(text: str) -> str:
    if len(text) <= MAX_NLU_CHARS:
        return text
    cut = text[:MAX_NLU_CHARS]
    return cut.rsplit(maxsplit=1)[0] if " " in cut else cut


@lru_cache(maxsize=1)
def default_screen() -> RiskScreen:
    return RiskScreen.load()


def no_coordinator(t: Translator) -> str:
    return t.pgettext("handoff", "No coordinator can be reached from here. You can book a talk with a volunteer.")


def booking_saved(t: Translator, contact: str) -> str:
    if contact == "other":
        return t.pgettext(
            "booking",
            "Thank you. Your request is saved and sent to the coordinators. A coordinator will write to you here "
            "first, to ask how you would like to be reached.",
        )
    return t.pgettext(
        "booking",
        "Thank you. Your request is saved and sent to the coordinators. A coordinator will write to you here "
        "to plan the talk.",
    )


def booking_not_saved_yet(t: Translator) -> str:
    return t.pgettext(
        "booking",
        "I could not save your request yet. I will keep trying, and I will tell you here as soon as it is saved.",
    )


def erased_item(t: Translator, item: str) -> str:
    """One line of the erasure report, for each kind of data bot.storage.privacy can delete."""
    texts = {
        "profile": t.pgettext("privacy", "your language and where you live"),
        "conversation": t.pgettext("privacy", "our conversation"),
        "escalations": t.pgettext("privacy", "your link to requests for a coordinator"),
        "crisis": t.pgettext("privacy", "what I remembered about a difficult moment"),
        "bookings": t.pgettext("privacy", "your requests for a talk with a volunteer"),
    }
    return texts.get(item, item)


#: Someone needs a coordinator: the escalation as stored, and whether it is new.
EscalationListener = Callable[[EscalationView, bool], None]
#: What _save() stores.
ESCALATION, BOOKING, CRISIS_STATE = "escalation", "booking request", "crisis_state"
#: A booking request was stored; `late` when the database refused it at first.
BookingListener = Callable[[BookingView, bool], None]
#: Erases everything about a person; returns what was deleted, for the person to read.
Eraser = Callable[[str], list[str]]
#: Told just before a person's data is erased (the hand-off clears the coordinators' group).
ErasureListener = Callable[[str], None]


class Assistant:
    def __init__(
        self,
        rasa: RasaClient,
        users: UserStore,
        catalogs: Catalogs,
        screen: RiskScreen | None = None,
        escalations: EscalationLog | None = None,
        hours: OfficeHours | None = None,
        eraser: Eraser | None = None,
        bookings: BookingLog | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.rasa = rasa
        self.users = users
        self.catalogs = catalogs
        self.screen = screen or default_screen()
        self.escalations = escalations
        self.hours = hours or OfficeHours()
        self.eraser = eraser
        self.bookings = bookings
        #: How to reach each person while this process runs (their Telegram chat); never stored otherwise.
        self.contacts: dict[str, int] = {}
        self.escalation_listeners: list[EscalationListener] = []
        self.booking_listeners: list[BookingListener] = []
        self.erasure_listeners: list[ErasureListener] = []
        #: Escalations, booking requests and crisis states the database refused: see _save(). Without
        #: a journal file (tests, tools) they wait in memory.
        self.outbox = outbox if outbox is not None else Outbox()
        #: When each person was last asked whether they think of ending their life, and in which
        #: language (memory only).
        self.asked: dict[str, tuple[float, str]] = {}

    def language(self, user_key: str) -> str:
        return self.users.language(user_key) or languages.DEFAULT

    def remember_client_language(self, user_key: str, client_language: str | None) -> None:
        """On first contact, the app's language (Telegram's language_code) when we speak it; the
        language of the person's messages replaces it (_follow_language)."""
        code = languages.normalize(client_language)
        if code and self.users.language(user_key) is None:
            self.users.set_language(user_key, code)

    async def start(self, user_key: str, client_language: str | None = None) -> list[Reply]:
        """The first contact: greet in the client's language when we speak it."""
        self.remember_client_language(user_key, client_language)
        return await self._ask_rasa(user_key, "/greet")

    async def handle_text(self, user_key: str, text: str, assessment: Assessment | None = None) -> list[Reply]:
        """Answers one message. `assessment`: the safety screen's verdict, if the caller already has it."""
        try:
            self.users.seen(user_key)
        except DatabaseError as error:
            log.error("Could not note that the person wrote (%s)", type(error).__name__)
        text = (text or "").strip()
        if not text:
            language = self.language(user_key)
            t = self.catalogs.for_language(language)
            return [Reply(t.pgettext("bot", "I did not get any text. Please write your message in words."), language)]
        if text in (ANSWER_YES, ANSWER_NO) or self._answers_yes(user_key, text):
            return self._answer_to_question(user_key, yes=text != ANSWER_NO)
        # The safety screen sees every message first, whole, and does not need Rasa.
        assessment = assessment or await self.screen_message(user_key, text)
        if assessment.is_risk:
            return self.crisis_replies(user_key, assessment, text)
        if text.startswith("/"):
            return [*self._check_in_if_due(user_key), *await self._handle_command(user_key, text)]
        decision = self._follow_language(user_key, language_id.detect(text))
        if decision.unsupported is not None:
            message = reply_language.unsupported_message(self.catalogs, decision.unsupported)
            return [*self._check_in_if_due(user_key), Reply(message, languages.DEFAULT, reply_language.language_menu())]
        replies = [*self._check_in_if_due(user_key), *await self._answer(user_key, text)]
        if decision.language is None:
            # Nothing was known about the person's language and this message does not tell: the
            # answer came in English; ask once, with every language named in its own script.
            question = reply_language.menu_question(self.catalogs)
            replies.append(Reply(question, languages.DEFAULT, reply_language.language_menu()))
        if decision.offer:
            offer = reply_language.offer_message(self.catalogs, decision.offer)
            replies.append(
                Reply(offer, decision.offer, reply_language.offer_buttons(decision.offer, decision.language))
            )
        return replies

    def _follow_language(self, user_key: str, detection: language_id.Detection) -> reply_language.Decision:
        """Which language answers this message (bot.conversation.reply_language); stores what changed."""
        try:
            state = self.users.language_state(user_key)
        except DatabaseError as error:
            log.error("The person's language could not be read (%s)", type(error).__name__)
            return reply_language.decide(LanguageState(languages.DEFAULT), detection)
        decision = reply_language.decide(state, detection)
        try:
            if decision.remember and decision.language:
                self.users.set_language(user_key, decision.language)
            elif decision.language is None and decision.unsupported is None:
                self.users.set_language(user_key, languages.DEFAULT)  # asked once; English until they choose
            if decision.offer:
                self.users.set_offered_language(user_key, decision.offer)
        except DatabaseError as error:
            log.error("The person's language could not be stored (%s)", type(error).__name__)
        return decision

    async def _answer(self, user_key: str, text: str) -> list[Reply]:
        if not has_words(text):
            # Emoji or symbols only: nothing for the language model to read, so show the topics.
            return await self._ask_rasa(user_key, "/show_menu")
        if not in_known_script(text):
            return await self._ask_rasa(user_key, "/nlu_fallback")
        return await self._ask_rasa(user_key, cut_for_nlu(text))

    async def _handle_command(self, user_key: str, text: str) -> list[Reply]:
        command, _, argument = text.partition(" ")
        command = command.split("@", 1)[0].lower()  # Telegram groups send /start@botname
        if command == "/language":
            code = languages.normalize(argument) or languages.find_language_name(argument)
            payload = f'/change_language{{"language": "{code}"}}' if code else "/change_language"
            return await self._ask_rasa(user_key, payload)
        if command == "/residence" and argument.strip() in RESIDENCES:
            self.users.set_residence(user_key, argument.strip())
            language = self.language(user_key)
            return self._as_replies(residence_confirmation(self.catalogs, language, argument.strip()), language)
        if command == "/delete":
            return self.erasure_question(user_key)
        if command == reply_language.KEEP_LANGUAGE:
            language = self.language(user_key)
            return [Reply(reply_language.kept_message(self.catalogs, language), language)]
        if command in (ERASE_CONFIRMED, ERASE_CANCELLED):
            return self._erase(user_key, confirmed=command == ERASE_CONFIRMED)
        if command in COMMAND_PAYLOADS:
            return await self._ask_rasa(user_key, COMMAND_PAYLOADS[command])
        match = _PAYLOAD.match(text)
        if match and match.group("intent") in domain_intents():
            return await self._ask_rasa(user_key, text)
        t = self.catalogs.for_language(self.language(user_key))
        unknown = Reply(t.pgettext("bot", "I do not know that command. Here is what I can help with."), t.language)
        return [unknown, *await self._ask_rasa(user_key, "/show_menu")]

    async def _ask_rasa(self, user_key: str, message: str) -> list[Reply]:
        chosen = self._language_in_payload(message)
        if chosen:
            self.users.set_language(user_key, chosen, chosen=True)
        language = self.language(user_key)
        try:
            answer = await self.rasa.send(user_key, message, language)
        except RasaUnavailable as error:
            log.warning("Rasa is unavailable (%s)", error)
            t = self.catalogs.for_language(language)
            return [Reply(t.pgettext("bot", "I am having trouble right now. Please try again in a moment."), language)]
        return self._replies(user_key, answer, None if message.startswith("/") else message)

    def _check_in_if_due(self, user_key: str) -> list[Reply]:
        """Counts ordinary messages after a crisis; asks once how the person is, with the numbers."""
        state = self.users.crisis(user_key)
        if state is None:
            return []
        if datetime.now(timezone.utc) - state.since > CRISIS_MEMORY:
            self.users.set_crisis(user_key, None)
            return []
        state.messages_since += 1
        due = not state.checked_in and state.messages_since >= CHECK_IN_AFTER_MESSAGES
        state.checked_in = state.checked_in or due
        self.users.set_crisis(user_key, state)
        if not due:
            return []
        language = self.language(user_key)
        return self._as_replies(check_in(self.catalogs, language), language)

    async def screen_message(self, user_key: str, text: str) -> Assessment:
        """The safety screen's verdict. When only the model net asked a question or heard distress,
        Rasa has a say: its risk intents turn the question into their reply, and a topic it is
        sure of ("I keep waking up at night" → sleep) answers instead. A crisis reply never waits
        for Rasa, and when Rasa is down the screen's verdict stands."""
        assessment = await self.screen.assess_message(user_key, text)
        if not deferrable(assessment) and assessment.level is not Level.ASK:
            return assessment  # Rasa's reading changes nothing else (nets.with_rasa)
        if deferrable(assessment) and assessment.level is Level.ASK and not in_known_script(text):
            # A question the person could not read (a script none of our languages uses); a
            # confident reply still goes out.
            return Assessment(Level.NONE, ("unknown_script",), (), assessment.nets, assessment.scores)
        return with_rasa(assessment, await self.rasa.parse(cut_for_nlu(text)))

    def _answers_yes(self, user_key: str, text: str) -> bool:
        """A "yes" in words, in any language, soon after the question was asked."""
        asked = self.asked.get(user_key)
        if asked is None or time.monotonic() - asked[0] > QUESTION_OPEN_SECONDS:
            return False
        return self.screen.lexicons.is_yes(text)

    def _answer_to_question(self, user_key: str, yes: bool) -> list[Reply]:
        asked = self.asked.pop(user_key, None)
        language = asked[1] if asked else self.language(user_key)  # the language of the question
        if yes:
            assessment = Assessment(Level.ACUTE, ("answered_yes",), (language,), ("question",))
            return self.crisis_replies(user_key, assessment)
        return self._as_replies(answered_no(self.catalogs.for_language(language)), language)

    def _remember_crisis(self, user_key: str, assessment: Assessment) -> None:
        if assessment.level not in (Level.ACUTE, Level.DISTRESS):
            return  # someone else is at risk: the person writing is not
        try:
            previous = self.users.crisis(user_key)
        except DatabaseError:
            previous = None  # storing keeps an acute level the database holds (_store_crisis_state)
        was_acute = previous is not None and previous.level == Level.ACUTE.value
        level = Level.ACUTE if assessment.level is Level.ACUTE or was_acute else Level.DISTRESS
        since = datetime.now(timezone.utc)
        self._save(CRISIS_STATE, {"user_key": user_key, "level": level.value, "since": since.isoformat()})

    def crisis_replies(self, user_key: str, assessment: Assessment, message: str | None = None) -> list[Reply]:
        """The crisis answer, in the person's language, or the language they just wrote in.

        Acute risk, severe distress and violence at home are escalated to the coordinators. The answer
        never waits for the database: when it fails, the person still gets it, with both GP routes."""
        try:
            chosen = self.language(user_key)
        except DatabaseError as error:
            log.error("The person's language could not be read (%s)", type(error).__name__)
            chosen = languages.DEFAULT
        try:
            self._remember_crisis(user_key, assessment)
        except DatabaseError as error:
            log.error("The crisis state could not be stored (%s)", type(error).__name__)
        residence = self._residence(user_key)
        written = language_id.detect(message).language if message else None
        if written in languages.SUPPORTED:
            language = written  # the language of the crisis message, whatever was chosen before
        elif chosen in assessment.languages or not assessment.languages:
            language = chosen
        else:
            language = assessment.languages[0]  # the word lists heard it in this language
        log.warning("Safety screen: %s (%s)", assessment.level.value, ", ".join(assessment.categories))
        if assessment.level is Level.ASK:
            self.asked[user_key] = (time.monotonic(), language)
        messages = crisis_messages(self.catalogs, language, assessment, residence)
        if assessment.level in ESCALATED_LEVELS and self.escalations is not None:
            self.escalate(user_key, assessment.level.value, assessment.categories, language, message)
            if self.escalation_listeners:  # only when coordinators are really alerted
                messages.insert(1, (self._coordinator_told(language), []))
        return self._as_replies(messages, language, urgent=True)

    def _coordinator_told(self, language: str) -> str:
        t = self.catalogs.for_language(language)
        if self.hours.on_duty():
            return t.pgettext(
                "handoff", "I have let a coordinator of the programme know. A person may write to you here."
            )
        return t.pgettext(
            "handoff",
            "I have let the coordinators of the programme know. They are not working right now ({hours}, Dutch "
            "time), so a person will write to you here when they are back. The numbers below work day and night.",
        ).format(hours=self.hours.describe())

    def escalate(
        self, user_key: str, level: str, categories: tuple[str, ...], language: str, message: str | None
    ) -> None:
        """Stores an escalation for the coordinators, then tells the listeners (the hand-off)."""
        assert self.escalations is not None
        record = {
            "user_key": user_key,
            "level": level,
            "categories": categories,
            "language": language,
            "residence": self._residence(user_key),
            "chat_id": self.contacts.get(user_key),
            "message": message,
        }
        self._save(ESCALATION, record)

    def _residence(self, user_key: str) -> str | None:
        try:
            return self.users.residence(user_key)
        except DatabaseError:
            return None

    def _save(self, kind: str, record: dict) -> bool:
        """Stores an escalation, a booking request or a crisis state, then tells the listeners; True
        once stored. When the database refuses, or records it refused earlier still wait (they go
        first, and a database that just refused is not waited for again), the record goes to the
        outbox file and retry_unsaved() stores it later."""
        entry = Entry.new(kind, record)
        if not len(self.outbox):
            try:
                stored = self._store(entry)
            except (DatabaseError, AlreadyStored) as error:
                log.error("Could not store a %s (%s); it waits in the outbox", kind, type(error).__name__)
            else:
                self._tell(entry, stored, late=False)
                return True
        try:
            self.outbox.add(entry)
        except (TypeError, ValueError) as error:  # not JSON: a programming error, never silent
            log.error("A %s could not be put in the outbox (%s)", kind, error)
        return False

    def _store(self, entry: Entry) -> object:
        """Stores one record in its own transaction with its id; raises DatabaseError or AlreadyStored."""
        record = entry.record
        if entry.kind == ESCALATION:
            assert self.escalations is not None
            return self.escalations.record(**record, record_id=entry.id)
        if entry.kind == BOOKING:
            assert self.bookings is not None
            return self.bookings.add(**record, record_id=entry.id)
        if entry.kind == CRISIS_STATE:
            return self._store_crisis_state(record)
        raise ValueError(f"unknown outbox record kind {entry.kind!r}")

    def _store_crisis_state(self, record: dict) -> None:
        """Stores a crisis state unless the database holds this one or a newer one already; keeps
        an acute level that is still remembered."""
        user_key, since = record["user_key"], datetime.fromisoformat(record["since"])
        current = self.users.crisis(user_key)
        if current is not None and current.since >= since:
            raise AlreadyStored(user_key)
        acute = record["level"] == Level.ACUTE.value or (
            current is not None and current.level == Level.ACUTE.value and since - current.since <= CRISIS_MEMORY
        )
        level = Level.ACUTE.value if acute else record["level"]
        self.users.set_crisis(user_key, CrisisState(level=level, since=since))

    def _tell(self, entry: Entry, stored: object, late: bool) -> None:
        """Tells the listeners about a record just stored (the hand-off alerts the coordinators)."""
        try:
            if entry.kind == ESCALATION:
                view, created = stored  # type: ignore[misc]
                for listener in self.escalation_listeners:
                    listener(view, created)
            elif entry.kind == BOOKING:
                for booking_listener in self.booking_listeners:
                    booking_listener(stored, late)  # type: ignore[arg-type]
        except Exception:
            log.exception("A listener failed on a stored %s", entry.kind)

    def retry_unsaved(self) -> int:
        """Stores what waits in the outbox, oldest first, and drops each record from the file once
        it is stored; returns how many were stored. Called by the outbox's retry task (at start and
        every few seconds) and by the hand-off's timer. Stops when the database refuses as a whole;
        a record refused on its own holds back only the same person's later records."""
        stored: list[tuple[Entry, object]] = []
        done: list[str] = []
        held: set[object] = set()
        for entry in self.outbox.entries():
            person = entry.record.get("user_key")
            if person in held:
                continue
            try:
                result = self._store(entry)
            except AlreadyStored:
                done.append(entry.id)  # stored before a crash, or a newer crisis state is there
                continue
            except DatabaseError as error:
                if unavailable(error):
                    break
                log.error("Could not store a waiting %s (%s); will retry", entry.kind, type(error).__name__)
                held.add(person)
                continue
            except (KeyError, TypeError, ValueError) as error:
                log.error("A waiting %s cannot be stored (%s); it stays in the outbox", entry.kind, error)
                held.add(person)
                continue
            stored.append((entry, result))
            done.append(entry.id)
        try:
            self.outbox.remove(done)
        except OSError as error:  # the stored ones are found stored next time
            log.error("Could not rewrite the outbox file (%s)", type(error).__name__)
        for entry, result in stored:
            self._tell(entry, result, late=True)
        return len(stored)

    def request_human(self, user_key: str) -> list[Reply]:
        """The person asked for a person: an escalation, and an honest word about when they will answer."""
        language = self.language(user_key)
        t = self.catalogs.for_language(language)
        if self.escalations is None or not self.escalation_listeners:
            button = Button(t.pgettext("button", "💬 Talk to a volunteer"), "/book_session")
            return [Reply(no_coordinator(t), language, [button])]
        self.escalate(user_key, "request", ("asked_for_a_person",), language, None)
        if self.hours.on_duty():
            text = t.pgettext(
                "handoff",
                "I have asked a coordinator of the programme to write to you here. This can take a little while. "
                "Meanwhile you can keep writing to me.",
            )
        else:
            text = t.pgettext(
                "handoff",
                "I have asked a coordinator to write to you. They are not working right now ({hours}, Dutch time), "
                "so they will write to you here when they are back.",
            ).format(hours=self.hours.describe())
        return [Reply(text, language)]

    def store_booking(self, user_key: str, answers: dict) -> list[Reply]:
        """Stores a completed booking request; the person hears it was sent only once it is saved."""
        language = self.language(user_key)
        t = self.catalogs.for_language(language)
        if self.bookings is None or not self.booking_listeners:
            return [Reply(no_coordinator(t), language)]
        record = {
            "user_key": user_key,
            "language": language,
            "session_language": str(answers.get("session_language") or "?"),
            "times": str(answers.get("times") or "?"),
            "contact": "other" if answers.get("contact") == "other" else "chat",
            "chat_id": self.contacts.get(user_key),
        }
        if not self._save(BOOKING, record):
            return [Reply(booking_not_saved_yet(t), language)]
        return [Reply(booking_saved(t, record["contact"]), language)]

    def erasure_question(self, user_key: str) -> list[Reply]:
        language = self.language(user_key)
        t = self.catalogs.for_language(language)
        text = t.pgettext(
            "privacy",
            "Do you want me to delete everything I keep about you? This is your language, where you live, our "
            "conversation and your link to any request for a coordinator. I will also delete my messages in this "
            "chat where Telegram still allows it. This cannot be undone.",
        )
        buttons = [
            Button(t.pgettext("button", "🗑️ Yes, delete everything"), ERASE_CONFIRMED),
            Button(t.pgettext("button", "↩️ No, keep it"), ERASE_CANCELLED),
        ]
        return [Reply(text, language, buttons)]

    def _erase(self, user_key: str, confirmed: bool) -> list[Reply]:
        language = self.language(user_key)
        t = self.catalogs.for_language(language)
        if not confirmed:
            return [Reply(t.pgettext("privacy", "Nothing was deleted."), language)]
        if self.eraser is None:
            return [
                Reply(t.pgettext("privacy", "I keep nothing about you here, so there is nothing to delete."), language)
            ]
        for listener in self.erasure_listeners:
            try:
                listener(user_key)
            except Exception:
                log.exception("An erasure listener failed")
        try:
            deleted = self.eraser(user_key)
        except DatabaseError as error:
            log.error("Erasing a person's data failed (%s)", type(error).__name__)
            text = t.pgettext(
                "privacy", "I could not delete your data just now. Nothing was lost. Please try /delete again later."
            )
            return [Reply(text, language)]
        self._forget_in_memory(user_key)
        lines = "\n".join(f"• {erased_item(t, item)}" for item in deleted)
        text = (
            t.pgettext("privacy", "Done. I deleted:") + "\n" + lines
            if deleted
            else t.pgettext("privacy", "Done. I kept nothing about you, so there was nothing to delete.")
        )
        return [Reply(text, language, clears_chat=True)]

    def _forget_in_memory(self, user_key: str) -> None:
        """Erasure reaches what waits outside the database too: the outbox, the screen's context."""
        self.contacts.pop(user_key, None)
        self.asked.pop(user_key, None)
        self.screen.forget(user_key)
        waiting = [entry.id for entry in self.outbox.entries() if entry.record.get("user_key") == user_key]
        if waiting:
            try:
                self.outbox.remove(waiting)
            except OSError as error:
                log.error("Could not drop an erased person's records from the outbox (%s)", type(error).__name__)

    @staticmethod
    def _as_replies(messages: list[tuple[str, list[Button]]], language: str, urgent: bool = False) -> list[Reply]:
        return [Reply(text=text, language=language, buttons=buttons, urgent=urgent) for text, buttons in messages]

    def _replies(self, user_key: str, answer: list[BotMessage], message: str | None = None) -> list[Reply]:
        flagged = next((m.custom["safety_level"] for m in answer if m.custom.get("safety_level") in NET_LEVELS), None)
        if flagged:
            # Rasa's risk intents heard what the screen did not. With the model net on, they only ask
            # the question (nets.with_rasa says why); without it, they give the crisis answer.
            level = NET_LEVELS[flagged] if self.screen.net is None else Level.ASK
            return self.crisis_replies(user_key, Assessment(level, (f"model_{flagged}",), nets=("rasa",)), message)
        request = next((m.custom["front_end"] for m in answer if "front_end" in m.custom), None)
        if request == "request_human":
            return self.request_human(user_key)
        if request == "request_erasure":
            return self.erasure_question(user_key)
        if request == "store_booking":
            data = next(m.custom.get("booking") for m in answer if m.custom.get("front_end") == "store_booking")
            return self.store_booking(user_key, data if isinstance(data, dict) else {})
        replies: list[Reply] = []
        for message in answer:
            switched = languages.normalize(message.custom.get("set_language"))
            if switched:
                self.users.set_language(user_key, switched, chosen=True)
        language = self.language(user_key)
        for message in answer:
            if message.text or message.buttons:
                replies.append(Reply(text=message.text, language=language, buttons=list(message.buttons)))
        return replies

    @staticmethod
    def _language_in_payload(message: str) -> str | None:
        match = _PAYLOAD.match(message)
        if not match or match.group("intent") != "change_language" or not match.group("entities"):
            return None
        try:
            return languages.normalize(json.loads(match.group("entities")).get("language"))
        except (ValueError, AttributeError):
            return None
