"""One message's way through the front end: the safety screen, commands, then Rasa.

The Telegram front end and the terminal chat both use this class, so both behave the same.
Database and Rasa failures become kind answers, never exceptions. Message text is never logged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from functools import lru_cache
from typing import TypeVar

import numpy as np
import yaml

from bot import PROJECT_ROOT
from bot.conversation import reply_language
from bot.conversation.outbox import Outbox
from bot.conversation.rasa_client import BotMessage, RasaClient, RasaUnavailable
from bot.conversation.records import CRISIS_MEMORY, BookingListener, EscalationListener, RecordKind, Records
from bot.conversation.replies import Reply
from bot.core import language_id, languages, protocol
from bot.core.articles import MENU_INTENT, Library, menu_payload
from bot.core.i18n import Catalogs, Translator
from bot.core.intent_net import MORE_TOPICS, READ_BY_NET, TOPIC_MODEL_PATH, IntentNet
from bot.core.office_hours import OfficeHours
from bot.core.protocol import BookingAnswers, Button, Request
from bot.core.safety import Assessment, Level
from bot.core.safety.net import RISK_INTENTS, confidence_threshold
from bot.core.safety.nets import RiskScreen, deferrable, with_rasa
from bot.core.safety.responses import (
    ANSWER_NO,
    ANSWER_YES,
    RESIDENCES,
    answered_no,
    check_in,
    crisis_messages,
    not_understood_after_crisis,
    repeated_crisis_messages,
    residence_confirmation,
)
from bot.storage.bookings import BookingLog
from bot.storage.db import DatabaseError, off_the_loop
from bot.storage.escalations import EscalationLog
from bot.storage.shared import SharedState
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
#: Replicas: how long a message waits for the shared state (Redis) before going on without it.
SHARED_READ_SECONDS = 0.3
SHARED_WRITE_SECONDS = 2.0
#: Another acute or distress message within this time gets the numbers again, not the whole reply.
REPEAT_WINDOW_SECONDS = 10 * 60
#: People remembered at most in each of the assistant's in-memory notes (the oldest go first).
REMEMBERED_CRISES = 10_000
#: A crisis reply waits this long at most for the person's language and residence from the database.
QUICK_READ_SECONDS = 0.1
#: A reply to a message Rasa did not understand waits this long at most to learn whether the person
#: had a crisis lately (if the database does not tell, the reply is the warm one, with the numbers).
AFTER_CRISIS_READ_SECONDS = 1.0
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


#: The scripts of the languages the bot speaks: a person writing in another could not read its question.
SPOKEN_SCRIPTS = ("LATIN", "ARABIC", "CYRILLIC", "ETHIOPIC")
#: The scripts Rasa's intent model has examples in. Text in others cannot be understood by that
#: model (it would guess with high confidence): the intent net reads it, or it goes to the fallback.
RASA_SCRIPTS = ("LATIN", "ARABIC", "CYRILLIC")


def in_known_script(text: str, scripts: tuple[str, ...] = SPOKEN_SCRIPTS) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    known = sum(1 for ch in letters if unicodedata.name(ch, "").startswith(scripts))
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


def topic_entities(topic: str) -> dict[str, str | int]:
    """The entities that ask Rasa for a topic the topic net read (or for the "More topics" page)."""
    return {"page": 2} if topic == MORE_TOPICS else {"topic": topic}


@lru_cache(maxsize=1)
def default_topic_net() -> IntentNet | None:
    """The topic net (grief, loneliness, ... in every language); None (logged) without one."""
    try:
        return IntentNet.load(TOPIC_MODEL_PATH)
    except (OSError, ValueError, KeyError) as error:
        log.error("The topic net could not load (%s); the topics behind 'More topics' come from buttons only", error)
        return None


@lru_cache(maxsize=1)
def default_intent_net() -> IntentNet | None:
    """The intent net for the languages Rasa's model does not read; None (logged) without one."""
    try:
        return IntentNet.load()
    except (OSError, ValueError, KeyError) as error:
        log.error("The intent net could not load (%s); Tigrinya, Somali and Russian get the topic menu", error)
        return None


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
#: Told about a person's erasure (the hand-off clears the coordinators' group).
ErasureListener = Callable[[str], Awaitable[None]]
T = TypeVar("T")


class Assistant:
    """Every database call runs in a worker thread (`off_the_loop`), so a slow or locked database never holds
    up the event loop that serves every chat. A crisis reply reads at most QUICK_READ_SECONDS from
    the database and writes nothing to it before it goes out: what the coordinators need is put in
    the outbox's journal first and stored right after (Records)."""

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
        intents: IntentNet | None = None,
        shared: SharedState | None = None,
        topics: IntentNet | None = None,
    ) -> None:
        self.rasa = rasa
        self.users = users
        self.catalogs = catalogs
        self.screen = screen or default_screen()
        self.intents = intents if intents is not None else default_intent_net()
        self.topics = topics if topics is not None else default_topic_net()
        self.escalations = escalations
        self.hours = hours or OfficeHours()
        self.eraser = eraser
        self.bookings = bookings
        #: How to reach each person while this process runs (their Telegram chat); never stored
        #: otherwise, except on their escalation or booking request. The most recent REMEMBERED_CRISES.
        self.contacts: OrderedDict[str, int] = OrderedDict()
        #: Told just before a person's data is erased, and once it is (the hand-off clears the group).
        self.erasure_listeners: list[ErasureListener] = []
        self.erased_listeners: list[ErasureListener] = []
        #: Escalations, booking requests and crisis states, stored at once or through the outbox.
        self.records = Records(users, escalations, bookings, outbox)
        #: When each person was last asked whether they think of ending their life, and in which
        #: language (memory only).
        self.asked: dict[str, tuple[float, str]] = {}
        #: The message that drew the question, so that a "no" still gets what the person came for
        #: ("my father died and I cannot stop thinking of him": the grief article). Memory only,
        #: this process only, forgotten with the question.
        self.asked_about: dict[str, str] = {}
        #: When each person last got the whole crisis reply, and for which level (memory only).
        self.answered: OrderedDict[str, tuple[float, Level]] = OrderedDict()
        #: Replicas (REDIS_URL) also share the open safety question there, so a "yes" that reaches
        #: another replica is understood; None for one process.
        self.shared = shared
        self._background: set[asyncio.Task] = set()
        #: The language each person was last answered in, or their app's, until the database has
        #: it: a crisis reply and the app's language are stored after the answer, and a database
        #: that is slow or down must not turn the next answer into English (memory only).
        self.spoken: OrderedDict[str, str] = OrderedDict()

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
        """Stores what waits in the outbox, here in the caller's thread (Records.retry_unsaved)."""
        return self.records.retry_unsaved()

    def language(self, user_key: str) -> str:
        """The person's language (a blocking read: for tools and tests; the conversation uses language_of)."""
        return self.users.language(user_key) or languages.DEFAULT

    async def language_of(self, user_key: str) -> str:
        try:
            stored = await off_the_loop(self.users.language, user_key)
        except DatabaseError as error:
            log.error("The person's language could not be read (%s)", type(error).__name__)
            stored = None
        return stored or self.spoken.get(user_key) or languages.DEFAULT

    def _note_spoken(self, user_key: str, language: str) -> None:
        self.spoken[user_key] = language
        self.spoken.move_to_end(user_key)
        while len(self.spoken) > REMEMBERED_CRISES:
            self.spoken.popitem(last=False)

    def remember_chat(self, user_key: str, chat_id: int) -> None:
        """Where the person can be reached while this process runs (for the coordinators' replies)."""
        self.contacts[user_key] = chat_id
        self.contacts.move_to_end(user_key)
        while len(self.contacts) > REMEMBERED_CRISES:
            self.contacts.popitem(last=False)

    def remember_client_language(self, user_key: str, client_language: str | None) -> None:
        """On first contact, the app's language (Telegram's language_code) when we speak it; the
        language of the person's messages replaces it (_follow_language). Blocking: run it in a
        worker thread (note_person does)."""
        code = languages.normalize(client_language)
        if code and user_key not in self.spoken:
            self._note_spoken(user_key, code)
        if code and self.users.language(user_key) is None:
            self.users.set_language(user_key, code)

    async def note_person(self, user_key: str, client_language: str | None) -> None:
        """That the person wrote (for retention), and their app's language on first contact. Never in
        the way of an answer, least of all a crisis answer."""

        def note() -> None:
            self.remember_client_language(user_key, client_language)
            self.users.seen(user_key)

        try:
            await off_the_loop(note)
        except DatabaseError as error:
            log.error("Could not read or store the person's language (%s)", type(error).__name__)

    async def start(self, user_key: str, client_language: str | None = None) -> list[Reply]:
        """The first contact: greet in the client's language when we speak it."""
        try:
            await off_the_loop(self.remember_client_language, user_key, client_language)
        except DatabaseError as error:
            log.error("Could not store the app's language (%s)", type(error).__name__)
        return await self._ask_rasa(user_key, "/greet")

    async def handle_text(self, user_key: str, text: str, assessment: Assessment | None = None) -> list[Reply]:
        """Answers one message. `assessment`: the safety screen's verdict, if the caller already has it."""
        text = (text or "").strip()
        if not text:
            language = await self.language_of(user_key)
            t = self.catalogs.for_language(language)
            return [Reply(t.pgettext("bot", "I did not get any text. Please write your message in words."), language)]
        if text in (ANSWER_YES, ANSWER_NO) or await self._answers_yes(user_key, text):
            return await self._answer_to_question(user_key, yes=text != ANSWER_NO)
        # The safety screen sees every message first, whole, and does not need Rasa.
        assessment = assessment or await self.screen_message(user_key, text)
        if assessment.is_risk:
            return await self.crisis_replies(user_key, assessment, text)
        try:
            await off_the_loop(self.users.seen, user_key)
        except DatabaseError as error:
            log.error("Could not note that the person wrote (%s)", type(error).__name__)
        if text.startswith("/"):
            return [*await self._check_in_if_due(user_key), *await self._handle_command(user_key, text)]
        detection = language_id.detect(text)
        decision = await self._follow_language(user_key, detection)
        check_in = await self._check_in_if_due(user_key)
        if decision.unsupported is not None:
            message = reply_language.unsupported_message(self.catalogs, decision.unsupported)
            return [*check_in, Reply(message, languages.DEFAULT, reply_language.language_menu())]
        written = detection.language or decision.language or languages.DEFAULT
        replies = [*check_in, *await self._answer(user_key, text, written)]
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

    async def _follow_language(self, user_key: str, detection: language_id.Detection) -> reply_language.Decision:
        """Which language answers this message (bot.conversation.reply_language); stores what changed."""
        try:
            state = await off_the_loop(self.users.language_state, user_key)
        except DatabaseError as error:
            log.error("The person's language could not be read (%s)", type(error).__name__)
            known = self.spoken.get(user_key, languages.DEFAULT)
            return reply_language.decide(LanguageState(known), detection)
        if state.language is None and user_key in self.spoken:
            # Answered already (a crisis reply, or the app's language) before the database had it.
            state = LanguageState(self.spoken[user_key], state.chosen, state.offered)
            decision = reply_language.decide(state, detection)
            decision = dataclasses.replace(decision, remember=decision.language is not None)
        else:
            decision = reply_language.decide(state, detection)

        def store() -> None:
            if decision.remember and decision.language:
                self.users.set_language(user_key, decision.language)
            elif decision.language is None and decision.unsupported is None:
                self.users.set_language(user_key, languages.DEFAULT)  # asked once; English until they choose
            if decision.offer:
                self.users.set_offered_language(user_key, decision.offer)

        try:
            await off_the_loop(store)
        except DatabaseError as error:
            log.error("The person's language could not be stored (%s)", type(error).__name__)
        return decision

    async def _answer(self, user_key: str, text: str, written: str) -> list[Reply]:
        """`written`: the language the message is in (or, when it does not tell, the one in use)."""
        if not has_words(text):
            # Emoji or symbols only: nothing for the language model to read, so show the topics.
            return await self._ask_rasa(user_key, "/show_menu")
        vector = await self._embedding_for_nets(text, written, fresh=written in READ_BY_NET)
        topic = self._topic_of(vector)
        if topic is not None:  # one of the topics behind "More topics", which Rasa's model does not learn
            return await self._ask_rasa(user_key, cut_for_nlu(text), (MENU_INTENT, 1.0), topic_entities(topic))
        intent = self.intents.read(vector) if vector is not None and written in READ_BY_NET and self.intents else None
        if intent is None and not in_known_script(text, RASA_SCRIPTS):
            return await self._ask_rasa(user_key, "/nlu_fallback")
        return await self._ask_rasa(user_key, cut_for_nlu(text), intent)

    async def _embedding_for_nets(self, text: str, written: str, fresh: bool = True) -> np.ndarray | None:
        """The message's embedding, when a net will read it: the topic net (the topics behind "More
        topics", any language) and, for a language Rasa's model has no examples of, the intent net.
        None without them or the encoder (then Rasa's model reads the message alone). Without
        `fresh`, only the embedding the safety screen just made: no new work for the encoder, which
        the screen needs for everyone's messages."""
        if self.topics is None and (written not in READ_BY_NET or self.intents is None):
            return None
        return await self.screen.embedding(text, fresh)

    def _topic_of(self, vector: np.ndarray | None) -> str | None:
        """The topic net's reading of an embedding: one of the topics behind "More topics", or None."""
        return self.topics.topic(vector) if vector is not None and self.topics is not None else None

    async def _handle_command(self, user_key: str, text: str) -> list[Reply]:
        command, argument = command_word(text), text.partition(" ")[2]
        if command == "/language":
            code = languages.normalize(argument) or languages.find_language_name(argument)
            payload = f'/change_language{{"language": "{code}"}}' if code else "/change_language"
            return await self._ask_rasa(user_key, payload)
        if command == "/residence" and argument.strip() in RESIDENCES:
            try:
                await off_the_loop(self.users.set_residence, user_key, argument.strip())
            except DatabaseError as error:
                log.error("Where the person lives could not be stored (%s)", type(error).__name__)
            language = await self.language_of(user_key)
            return self._as_replies(residence_confirmation(self.catalogs, language, argument.strip()), language)
        if command == "/delete":
            return await self.erasure_question(user_key)
        if command == reply_language.KEEP_LANGUAGE:
            language = await self.language_of(user_key)
            return [Reply(reply_language.kept_message(self.catalogs, language), language)]
        if command in (ERASE_CONFIRMED, ERASE_CANCELLED):
            return await self._erase(user_key, confirmed=command == ERASE_CONFIRMED)
        if command in COMMAND_PAYLOADS:
            return await self._ask_rasa(user_key, COMMAND_PAYLOADS[command])
        match = _PAYLOAD.match(text)
        if match and match.group("intent") in domain_intents():
            return await self._ask_rasa(user_key, text)
        t = self.catalogs.for_language(await self.language_of(user_key))
        unknown = Reply(t.pgettext("bot", "I do not know that command. Here is what I can help with."), t.language)
        return [unknown, *await self._ask_rasa(user_key, "/show_menu")]

    async def _set_chosen_language(self, user_key: str, language: str) -> None:
        try:
            await off_the_loop(self.users.set_language, user_key, language, chosen=True)
        except DatabaseError as error:
            log.error("The chosen language could not be stored (%s)", type(error).__name__)

    async def _ask_rasa(
        self,
        user_key: str,
        message: str,
        intent: tuple[str, float] | None = None,
        entities: dict[str, str | int] | None = None,
    ) -> list[Reply]:
        chosen = self._language_in_payload(message)
        if chosen:
            await self._set_chosen_language(user_key, chosen)
        language = chosen or await self.language_of(user_key)
        try:
            answer = await self.rasa.send(user_key, message, language, intent=intent, entities=entities)
        except RasaUnavailable as error:
            log.warning("Rasa is unavailable (%s)", error)
            t = self.catalogs.for_language(language)
            return [Reply(t.pgettext("bot", "I am having trouble right now. Please try again in a moment."), language)]
        return await self._replies(user_key, answer, language, None if message.startswith("/") else message)

    async def _check_in_if_due(self, user_key: str) -> list[Reply]:
        """Counts ordinary messages after a crisis; asks once how the person is, with the numbers."""

        def count() -> bool:
            state = self.users.crisis(user_key)
            if state is None:
                return False
            if datetime.now(timezone.utc) - state.since > CRISIS_MEMORY:
                self.users.set_crisis(user_key, None)
                return False
            state.messages_since += 1
            due = not state.checked_in and state.messages_since >= CHECK_IN_AFTER_MESSAGES
            state.checked_in = state.checked_in or due
            self.users.set_crisis(user_key, state)
            return due

        try:
            due = await off_the_loop(count)
        except DatabaseError as error:
            log.error("The person's recent crisis could not be read (%s)", type(error).__name__)
            return []
        if not due:
            return []
        language = await self.language_of(user_key)
        return self._as_replies(check_in(self.catalogs, language), language)

    async def screen_message(self, user_key: str, text: str, model: bool = True) -> Assessment:
        """The safety screen's verdict. When only the model net asked a question or heard distress,
        Rasa has a say: its risk intents turn the question into their reply, and a topic it is
        sure of ("I keep waking up at night" → sleep) answers instead. A crisis reply never waits
        for Rasa, and when Rasa is down the screen's verdict stands. `model` False: the word lists
        alone, unless they hear something (RiskScreen.assess_message)."""
        assessment = await self.screen.assess_message(user_key, text, model)
        if not deferrable(assessment) and assessment.level is not Level.ASK:
            return assessment  # Rasa's reading changes nothing else (nets.with_rasa)
        if deferrable(assessment) and assessment.level is Level.ASK and not in_known_script(text):
            # A question the person could not read (a script none of our languages uses); a
            # confident reply still goes out.
            return Assessment(Level.NONE, ("unknown_script",), (), assessment.nets, assessment.scores)
        return with_rasa(assessment, await self.rasa.parse(cut_for_nlu(text)))

    async def _after_crisis(self, user_key: str) -> bool:
        """Whether the person had a crisis reply in the last CRISIS_MEMORY (from this process's memory,
        or the stored crisis state; unknown counts as yes, so the warmer answer is given)."""
        answered = self.answered.get(user_key)
        if answered is not None and time.monotonic() - answered[0] < CRISIS_MEMORY.total_seconds():
            return True
        try:
            state = await asyncio.wait_for(off_the_loop(self.users.crisis, user_key), AFTER_CRISIS_READ_SECONDS)
        except (DatabaseError, asyncio.TimeoutError) as error:
            log.error("The person's recent crisis could not be read (%s)", type(error).__name__)
            return True
        return state is not None and datetime.now(timezone.utc) - state.since <= CRISIS_MEMORY

    async def _answers_yes(self, user_key: str, text: str) -> bool:
        """A "yes" in words, in any language, soon after the question was asked."""
        if not self.screen.lexicons.is_yes(text):
            return False
        asked = self.asked.get(user_key)
        if asked is None and self.shared is not None:  # asked by another replica?
            try:
                language = await asyncio.wait_for(self.shared.get(f"asked:{user_key}"), SHARED_READ_SECONDS)
            except Exception as error:  # Redis slow or down: as if this process were alone
                log.error("The shared safety question could not be read (%s)", type(error).__name__)
                language = None
            if language is not None:
                asked = self.asked[user_key] = (time.monotonic(), language)
        return asked is not None and time.monotonic() - asked[0] <= QUESTION_OPEN_SECONDS

    def _in_background(self, work: Awaitable[object], what: str) -> None:
        """Shared-state writes never hold up a reply (least of all a crisis reply); failures are logged."""

        async def run() -> None:
            try:
                await asyncio.wait_for(work, SHARED_WRITE_SECONDS)
            except Exception as error:
                log.error("Could not share %s (%s)", what, type(error).__name__)

        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _answer_to_question(self, user_key: str, yes: bool) -> list[Reply]:
        asked = self.asked.pop(user_key, None)
        message = self.asked_about.pop(user_key, None)
        if self.shared is not None:
            self._in_background(self.shared.pop(f"asked:{user_key}"), "that the question was answered")
        if yes:
            language = asked[1] if asked else None  # the language of the question
            assessment = Assessment(Level.ACUTE, ("answered_yes",), (language,) if language else (), ("question",))
            return await self.crisis_replies(user_key, assessment)
        language = asked[1] if asked else await self.language_of(user_key)
        replies = self._as_replies(answered_no(self.catalogs.for_language(language)), language)
        payload = await self._topic_asked_for(message, language) if message else None
        return [*replies, *await self._ask_rasa(user_key, payload)] if payload else replies

    async def _topic_asked_for(self, text: str, language: str) -> str | None:
        """The payload of the article a message asked for, when the topic net, the intent net (its
        languages) or Rasa's model (above its fallback threshold) is sure of it; None otherwise."""
        vector = await self._embedding_for_nets(text, language)
        topic = self._topic_of(vector)
        if topic is not None:
            return menu_payload(topic_entities(topic))
        intent = None
        if vector is not None and language in READ_BY_NET and self.intents is not None:
            intent = self.intents.read(vector)[0]
        if intent is None:
            reading = ((await self.rasa.parse(cut_for_nlu(text))) or {}).get("intent") or {}
            confidence = float(reading.get("confidence") or 0)
            intent = str(reading.get("name")) if confidence >= confidence_threshold() else None
        asked_by_intent = {topic.intent for topic in Library().topics().values() if topic.intent}
        return f"/{intent}" if intent in asked_by_intent else None

    async def _read_quickly(self, user_key: str) -> tuple[str | None, str | None]:
        """The person's language and where they live, for a crisis reply: what the database tells
        within QUICK_READ_SECONDS; None for what it does not (the reply then shows both GP routes)."""

        def read() -> tuple[str | None, str | None]:
            return self.users.language(user_key), self.users.residence(user_key)

        try:
            return await asyncio.wait_for(off_the_loop(read), QUICK_READ_SECONDS)
        except (DatabaseError, asyncio.TimeoutError) as error:
            log.error("The person's language and residence could not be read in time (%s)", type(error).__name__)
            return None, None

    async def crisis_replies(self, user_key: str, assessment: Assessment, message: str | None = None) -> list[Reply]:
        """The crisis answer, in the language the person just wrote in, or their language.

        Acute risk, severe distress and violence at home are escalated to the coordinators. The answer
        never waits for a database write: the crisis state and the escalation go into the outbox's
        journal (on disk, or in memory without one) and are stored right after (Records.replay_soon)."""
        chosen, residence = await self._read_quickly(user_key)
        chosen = chosen or languages.DEFAULT
        written = language_id.detect(message).language if message else None
        if written in languages.SUPPORTED:
            language = written  # the language of the crisis message, whatever was chosen before
        elif chosen in assessment.languages or not assessment.languages:
            language = chosen
        else:
            language = assessment.languages[0]  # the word lists heard it in this language
        log.warning("Safety screen: %s (%s)", assessment.level.value, ", ".join(assessment.categories))
        self._note_spoken(user_key, language)
        if assessment.level is Level.ASK:
            self._note_question(user_key, language, message)
        if assessment.level in (Level.ACUTE, Level.DISTRESS):  # someone else at risk: the writer is not
            # An acute level the database holds for this person is kept when this one is stored.
            since = datetime.now(timezone.utc).isoformat()
            self.records.keep(
                RecordKind.CRISIS_STATE, {"user_key": user_key, "level": assessment.level.value, "since": since}
            )
        repeated = self._answered_lately(user_key, assessment.level)
        if repeated:
            messages = repeated_crisis_messages(self.catalogs, language, residence)
        else:
            messages = crisis_messages(self.catalogs, language, assessment, residence)
        if assessment.level in ESCALATED_LEVELS and self.escalations is not None:
            # A repeated message joins the person's open escalation; the coordinators see it there.
            self._escalate(user_key, assessment.level.value, assessment.categories, language, residence, message)
            if self.escalation_listeners and not repeated:  # only when coordinators are really alerted
                messages.insert(1, (self._coordinator_told(language), []))
        self.records.replay_soon()
        return self._as_replies(messages, language, urgent=True)

    def _note_question(self, user_key: str, language: str, message: str | None = None) -> None:
        now = time.monotonic()
        self.asked[user_key] = (now, language)
        if message and not message.startswith("/"):
            self.asked_about[user_key] = message
        else:
            self.asked_about.pop(user_key, None)
        if self.shared is not None:
            put = self.shared.put(f"asked:{user_key}", language, QUESTION_OPEN_SECONDS)
            self._in_background(put, "the safety question")
        if len(self.asked) > REMEMBERED_CRISES:  # questions no longer open are forgotten
            self.asked = {key: asked for key, asked in self.asked.items() if now - asked[0] <= QUESTION_OPEN_SECONDS}
            self.asked_about = {key: text for key, text in self.asked_about.items() if key in self.asked}

    def _answered_lately(self, user_key: str, level: Level) -> bool:
        """Whether the person got the whole crisis reply for this level (or acute) a few minutes
        ago; notes this one otherwise."""
        if level not in (Level.ACUTE, Level.DISTRESS):
            return False
        now = time.monotonic()
        last = self.answered.get(user_key)
        if last is not None and now - last[0] < REPEAT_WINDOW_SECONDS and (last[1] is Level.ACUTE or level is last[1]):
            return True
        self.answered[user_key] = (now, level)
        self.answered.move_to_end(user_key)
        while len(self.answered) > REMEMBERED_CRISES:
            self.answered.popitem(last=False)
        return False

    def _coordinator_told(self, language: str) -> str:
        t = self.catalogs.for_language(language)
        if self.hours.on_duty():
            return t.pgettext(
                "handoff", "I have let a coordinator of the programme know. A person may write to you here."
            )
        return t.pgettext(
            "handoff",
            "I have let the coordinators of the programme know. They are not working right now (their working "
            "hours: {hours}, Dutch time), so a person will write to you here when they are back. The numbers below "
            "work day and night.",
        ).format(hours=self.hours.describe())

    def _escalate(
        self,
        user_key: str,
        level: str,
        categories: tuple[str, ...],
        language: str,
        residence: str | None,
        message: str | None,
    ) -> None:
        """Puts an escalation for the coordinators in the outbox's journal; it is stored, and the
        hand-off told, right after."""
        record = {
            "user_key": user_key,
            "level": level,
            "categories": categories,
            "language": language,
            "residence": residence,
            "chat_id": self.contacts.get(user_key),
            "message": message,
        }
        self.records.keep(RecordKind.ESCALATION, record)

    async def request_human(self, user_key: str) -> list[Reply]:
        """The person asked for a person: an escalation, and an honest word about when they will answer."""
        language, residence = await self._read_quickly(user_key)
        language = language or languages.DEFAULT
        t = self.catalogs.for_language(language)
        if self.escalations is None or not self.escalation_listeners:
            button = Button(t.pgettext("button", "💬 Talk to a volunteer"), "/book_session")
            return [Reply(no_coordinator(t), language, [button])]
        self._escalate(user_key, "request", ("asked_for_a_person",), language, residence, None)
        self.records.replay_soon()
        if self.hours.on_duty():
            text = t.pgettext(
                "handoff",
                "I have asked a coordinator of the programme to write to you here. This can take a little while. "
                "Meanwhile you can keep writing to me.",
            )
        else:
            text = t.pgettext(
                "handoff",
                "I have asked a coordinator to write to you. They are not working right now (their working hours: "
                "{hours}, Dutch time), so they will write to you here when they are back.",
            ).format(hours=self.hours.describe())
        return [Reply(text, language)]

    async def store_booking(self, user_key: str, answers: BookingAnswers) -> list[Reply]:
        """Stores a completed booking request; the person hears it was sent only once it is saved."""
        language = await self.language_of(user_key)
        t = self.catalogs.for_language(language)
        if self.bookings is None or not self.booking_listeners:
            return [Reply(no_coordinator(t), language)]
        record = {"user_key": user_key, "language": language, **answers, "chat_id": self.contacts.get(user_key)}
        if not await self.records.save(RecordKind.BOOKING, record):
            return [Reply(booking_not_saved_yet(t), language)]
        return [Reply(booking_saved(t, answers["contact"]), language)]

    async def erasure_question(self, user_key: str) -> list[Reply]:
        language = await self.language_of(user_key)
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

    async def _erase(self, user_key: str, confirmed: bool) -> list[Reply]:
        language = await self.language_of(user_key)
        t = self.catalogs.for_language(language)
        if not confirmed:
            return [Reply(t.pgettext("privacy", "Nothing was deleted."), language)]
        if self.eraser is None:
            return [
                Reply(t.pgettext("privacy", "I keep nothing about you here, so there is nothing to delete."), language)
            ]
        for listener in self.erasure_listeners:
            try:
                await listener(user_key)
            except Exception:
                log.exception("An erasure listener failed")
        try:
            deleted = await off_the_loop(self.eraser, user_key)
        except DatabaseError as error:
            log.error("Erasing a person's data failed (%s)", type(error).__name__)
            text = t.pgettext(
                "privacy", "I could not delete your data just now. Nothing was lost. Please try /delete again later."
            )
            return [Reply(text, language)]
        self._forget_in_memory(user_key)
        for listener in self.erased_listeners:
            try:
                await listener(user_key)
            except Exception:
                log.exception("An erasure listener failed")
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
        self.asked_about.pop(user_key, None)
        self.answered.pop(user_key, None)
        self.spoken.pop(user_key, None)
        if self.shared is not None:
            self._in_background(self.shared.pop(f"asked:{user_key}"), "an erasure")
        self.screen.forget(user_key)
        self.records.forget(user_key)

    @staticmethod
    def _as_replies(messages: list[tuple[str, list[Button]]], language: str, urgent: bool = False) -> list[Reply]:
        return [Reply(text=text, language=language, buttons=buttons, urgent=urgent) for text, buttons in messages]

    async def _replies(
        self, user_key: str, answer: list[BotMessage], language: str, message: str | None = None
    ) -> list[Reply]:
        asked = protocol.read(m.custom for m in answer)
        if asked.safety_level in NET_LEVELS:
            # Rasa's risk intents heard what the screen did not. With the model net on, they only ask
            # the question (nets.with_rasa says why); without it, they give the crisis answer.
            level = NET_LEVELS[asked.safety_level] if self.screen.net is None else Level.ASK
            flag = f"model_{asked.safety_level}"
            return await self.crisis_replies(user_key, Assessment(level, (flag,), nets=("rasa",)), message)
        if asked.request is Request.REQUEST_HUMAN:
            return await self.request_human(user_key)
        if asked.request is Request.REQUEST_ERASURE:
            return await self.erasure_question(user_key)
        if asked.request is Request.STORE_BOOKING and asked.booking is not None:
            return await self.store_booking(user_key, asked.booking)
        if asked.not_understood and await self._after_crisis(user_key):
            return self._as_replies(not_understood_after_crisis(self.catalogs, language), language)
        switched = languages.normalize(asked.language)
        if switched:
            await self._set_chosen_language(user_key, switched)
            language = switched
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
