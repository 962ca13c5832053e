"""One message's way through the front end: the safety screen, commands, then Rasa.

The Telegram front end and the terminal chat both use this class, so both behave the same.
Database and Rasa failures become kind answers, never exceptions. Message text is never logged.
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from datetime import datetime, timezone
from functools import lru_cache

import yaml

from bot import PROJECT_ROOT
from bot.conversation import reply_language
from bot.conversation.outbox import Outbox
from bot.conversation.rasa_client import BotMessage, RasaClient, RasaUnavailable
from bot.conversation.records import CRISIS_MEMORY, BookingListener, EscalationListener, RecordKind, Records
from bot.conversation.replies import Reply
from bot.core import language_id, languages, protocol
from bot.core.i18n import Catalogs, Translator
from bot.core.office_hours import OfficeHours
from bot.core.protocol import BookingAnswers, Button, Request
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
from bot.storage.bookings import BookingLog
from bot.storage.db import DatabaseError
from bot.storage.escalations import EscalationLog
from bot.storage.users import LanguageState, UserStore

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

#: A question about ending one's life (Level.ASK) counts as asked this long; a "yes" typed in words
#: within it takes the person to the crisis answer.
QUESTION_OPEN_SECONDS = 30 * 60
#: Levels at which the coordinators are alerted.
ESCALATED_LEVELS = (Level.ACUTE, Level.DISTRESS, Level.VIOLENCE)

#: What the Rasa safety net (action_flag_risk) may report.
NET_LEVELS = {level.value: level for level in RISK_INTENTS.values()}

_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]+)(?P<entities>\{.*\})?$", re.DOTALL)


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


def command_word(text: str) -> str:
    """The command a message starts with, lower-cased and without the bot's name that Telegram
    adds in groups ("/Start@our_bot hi" → "/start"); "" when the message is not a command."""
    words = text.split(maxsplit=1)
    if not words or not words[0].startswith("/"):
        return ""
    return words[0].split("@", 1)[0].lower()


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
        self.erasure_listeners: list[ErasureListener] = []
        #: Escalations, booking requests and crisis states, stored at once or through the outbox.
        self.records = Records(users, escalations, bookings, outbox)
        #: When each person was last asked whether they think of ending their life, and in which
        #: language (memory only).
        self.asked: dict[str, tuple[float, str]] = {}

    @property
    def escalation_listeners(self) -> list[EscalationListener]:
        """Told of each escalation once it is stored (the hand-off alerts the coordinators)."""
        return self.records.escalation_listeners

    @property
    def booking_listeners(self) -> list[BookingListener]:
        """Told of each booking request once it is stored (the hand-off posts it)."""
        return self.records.booking_listeners

    @property
    def outbox(self) -> Outbox:
        return self.records.outbox

    def retry_unsaved(self) -> int:
        """Stores what waits in the outbox (Records.retry_unsaved)."""
        return self.records.retry_unsaved()

    def language(self, user_key: str) -> str:
        return self.users.language(user_key) or languages.DEFAULT

    def remember_chat(self, user_key: str, chat_id: int) -> None:
        """Where the person can be reached while this process runs (for the coordinators' replies)."""
        self.contacts[user_key] = chat_id

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
        command, argument = command_word(text), text.partition(" ")[2]
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
            previous = None  # storing keeps an acute level the database holds (Records._store_crisis_state)
        was_acute = previous is not None and previous.level == Level.ACUTE.value
        level = Level.ACUTE if assessment.level is Level.ACUTE or was_acute else Level.DISTRESS
        since = datetime.now(timezone.utc)
        self.records.save(
            RecordKind.CRISIS_STATE, {"user_key": user_key, "level": level.value, "since": since.isoformat()}
        )

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
        self.records.save(RecordKind.ESCALATION, record)

    def _residence(self, user_key: str) -> str | None:
        try:
            return self.users.residence(user_key)
        except DatabaseError:
            return None

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

    def store_booking(self, user_key: str, answers: BookingAnswers) -> list[Reply]:
        """Stores a completed booking request; the person hears it was sent only once it is saved."""
        language = self.language(user_key)
        t = self.catalogs.for_language(language)
        if self.bookings is None or not self.booking_listeners:
            return [Reply(no_coordinator(t), language)]
        record = {"user_key": user_key, "language": language, **answers, "chat_id": self.contacts.get(user_key)}
        if not self.records.save(RecordKind.BOOKING, record):
            return [Reply(booking_not_saved_yet(t), language)]
        return [Reply(booking_saved(t, answers["contact"]), language)]

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
        self.records.forget(user_key)

    @staticmethod
    def _as_replies(messages: list[tuple[str, list[Button]]], language: str, urgent: bool = False) -> list[Reply]:
        return [Reply(text=text, language=language, buttons=buttons, urgent=urgent) for text, buttons in messages]

    def _replies(self, user_key: str, answer: list[BotMessage], message: str | None = None) -> list[Reply]:
        asked = protocol.read(m.custom for m in answer)
        if asked.safety_level in NET_LEVELS:
            # Rasa's risk intents heard what the screen did not. With the model net on, they only ask
            # the question (nets.with_rasa says why); without it, they give the crisis answer.
            level = NET_LEVELS[asked.safety_level] if self.screen.net is None else Level.ASK
            flag = f"model_{asked.safety_level}"
            return self.crisis_replies(user_key, Assessment(level, (flag,), nets=("rasa",)), message)
        if asked.request is Request.REQUEST_HUMAN:
            return self.request_human(user_key)
        if asked.request is Request.REQUEST_ERASURE:
            return self.erasure_question(user_key)
        if asked.request is Request.STORE_BOOKING and asked.booking is not None:
            return self.store_booking(user_key, asked.booking)
        switched = languages.normalize(asked.language)
        if switched:
            self.users.set_language(user_key, switched, chosen=True)
        language = self.language(user_key)
        return [
            Reply(text=message.text, language=language, buttons=list(message.buttons))
            for message in answer
            if message.text or message.buttons
        ]

    @staticmethod
    def _language_in_payload(message: str) -> str | None:
        match = _PAYLOAD.match(message)
        if not match or match.group("intent") != "change_language" or not match.group("entities"):
            return None
        try:
            return languages.normalize(json.loads(match.group("entities")).get("language"))
        except (ValueError, AttributeError):
            return None
