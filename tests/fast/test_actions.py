"""The custom actions run in-process, as rasa-demo tests them: a Tracker built by hand, a
CollectingDispatcher and the domain from domain/*.yml. No Rasa server and no action server: what is
checked is what the person would read, the payload the front end acts on (bot.core.protocol), and
the slots the dialogue continues with."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import (
    ActionChangeLanguage,
    ActionFlagRisk,
    ActionHandleFallback,
    ActionRequestErasure,
    ActionRequestHuman,
    ActionShowContent,
)
from actions.booking import (
    BOOKING_SLOTS,
    ActionStartBooking,
    ActionSubmitBooking,
    AskBookingAdult,
    AskBookingConsent,
    AskBookingContact,
    AskBookingLanguage,
    AskBookingTimes,
    ValidateBookingForm,
    booking_log,
)
from actions.programmes import ActionFindProgrammes
from bot import PROJECT_ROOT
from bot.core import protocol
from bot.core.articles import Library
from bot.core.i18n import default_catalogs
from bot.core.languages import SUPPORTED
from bot.core.protocol import BookingAnswers, Request
from bot.storage.bookings import BookingLog
from bot.storage.db import Database, migrate


def load_domain() -> dict[str, Any]:
    """domain/*.yml merged into one dict, as Rasa sends it to the action server."""
    domain: dict[str, Any] = {}
    for path in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        for key, value in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if isinstance(value, dict):
                domain.setdefault(key, {}).update(value)
            elif isinstance(value, list):
                domain.setdefault(key, []).extend(value)
            else:
                domain[key] = value
    return domain


DOMAIN = load_domain()
ALL_ACTIONS: list[Action] = [
    ActionShowContent(),
    ActionChangeLanguage(),
    ActionHandleFallback(),
    ActionFlagRisk(),
    ActionRequestHuman(),
    ActionRequestErasure(),
    ActionStartBooking(),
    ValidateBookingForm(),
    ActionSubmitBooking(),
    AskBookingAdult(),
    AskBookingLanguage(),
    AskBookingTimes(),
    AskBookingContact(),
    AskBookingConsent(),
    ActionFindProgrammes(),
]
ARABIC = re.compile(r"[\u0600-\u06FF]")

USE_BUTTONS = "Please choose one of the buttons, or write your answer in a few words."
BAD_DATE = (
    "I could not find that date in the calendar. Please write a day and time again, for example: Tuesday morning, "
    "or 24/11 after 14:00."
)
UNDER_18 = (
    "The talks with volunteers are for adults (18 years or older), so I cannot send this request. If you are "
    "younger, you can talk to De Kindertelefoon for free: call 0800-0432 / +31-800-0432 or chat at "
    "https://www.kindertelefoon.nl. "
    "113 Zelfmoordpreventie is also there for young people, day and night."
)
LIMIT = (
    "You have already asked for three talks, which is what the programme offers. Thank you for taking part. You "
    "can keep using the self-care topics here. Your doctor or the staff where you live can tell you about group "
    "programmes for people with a refugee background, such as Mind-Spring, PM+ (Problem Management Plus) or "
    "BAMBOO Adults."
)
NO_CONSENT = "All right. I did not send anything. You can still book through the link, or ask me again later."
STOPPED = "I stopped the request. Nothing was sent."
CANNOT_SHOW = "Sorry, I cannot show this text right now. Please choose another topic, or try again later."
NOT_TRANSLATED = "This text is not yet available in your language, so here it is in English."


def ar(context: str, message: str) -> str:
    return default_catalogs().for_language("ar").pgettext(context, message)


def tracker(
    intent: str | None = None,
    text: str = "",
    *,
    slots: dict[str, Any] | None = None,
    entities: Iterable[dict[str, Any]] = (),
    language: str | None = None,
    events: Iterable[dict[str, Any]] = (),
    sender_id: str = "person-1",
) -> Tracker:
    """A tracker whose latest message has this intent and text; `language` is the front end's metadata."""
    return Tracker(
        sender_id=sender_id,
        slots={"language": None, "requested_slot": None, **{slot: None for slot in BOOKING_SLOTS}, **(slots or {})},
        latest_message={
            "intent": {"name": intent, "confidence": 1.0} if intent else {},
            "text": text,
            "entities": list(entities),
            "metadata": {"language": language} if language else {},
        },
        events=list(events),
        paused=False,
        followup_action=None,
        active_loop={"name": "booking_form"} if (slots or {}).get("requested_slot") else {},
        latest_action_name="action_listen",
    )


def answering(slot: str | None, intent: str, text: str = "", language: str | None = None, **answers: Any) -> Tracker:
    """The booking form waits for `slot`, and the person answers with this intent and text."""
    return tracker(intent, text, slots={"requested_slot": slot, **answers}, language=language)


def run(action: Action, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs the action as the action server would: (messages sent, events returned)."""
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, DOMAIN)
    if inspect.isawaitable(events):
        events = asyncio.run(events)
    return dispatcher.messages, events


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [message["text"] for message in messages if message["text"]]


def payloads(messages: list[dict[str, Any]]) -> protocol.FrontEndPayloads:
    """What the front end will read from these messages' `custom` fields."""
    return protocol.read(message["custom"] for message in messages if message["custom"])


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert all(event["event"] == "slot" for event in events), events
    return {event["name"]: event["value"] for event in events}


@pytest.fixture(autouse=True)
def no_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees a database unless it sets one up; the actions' cached BookingLog starts empty."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    booking_log.cache_clear()
    yield
    if booking_log.cache_info().currsize and (cached := booking_log()) is not None:
        cached.db.dispose()
    booking_log.cache_clear()


@pytest.fixture
def bookings(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BookingLog]:
    """A fresh, migrated SQLite database that the actions find through DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    migrate(url)
    monkeypatch.setenv("DATABASE_URL", url)
    log = BookingLog(Database(url))
    yield log
    log.db.dispose()


# --- Names -------------------------------------------------------------------------------------


def test_every_action_is_listed_in_the_domain_and_every_listed_one_exists():
    assert sorted(action.name() for action in ALL_ACTIONS) == sorted(DOMAIN["actions"])


# --- Language ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entities", "chosen"),
    [
        ('/change_language{"language": "ar"}', [{"entity": "language", "value": "ar"}], "ar"),
        ("arabic", [], "ar"),
        ("العربية", [], "ar"),
        ("can we speak Dutch?", [], "nl"),
        ("بالفارسی لطفا", [], "fa"),
        ('/change_language{"language": "fa-AF"}', [{"entity": "language", "value": "fa-AF"}], "fa"),
    ],
)
def test_naming_a_language_switches_to_it_and_tells_the_front_end(text, entities, chosen):
    messages, events = run(ActionChangeLanguage(), tracker("change_language", text, entities=entities))

    assert payloads(messages).language == chosen
    assert messages[0]["custom"] == protocol.language_chosen(chosen)
    assert texts(messages) == [], "the confirmation is utter_language, in the new language"
    assert slots(events) == {"language": chosen, "language_switched": True}


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("I want another language", []),
        ('/change_language{"language": "de"}', [{"entity": "language", "value": "de"}]),
        ("Deutsch bitte", []),
    ],
)
def test_without_a_language_the_menu_follows_and_nothing_changes(text, entities):
    messages, events = run(ActionChangeLanguage(), tracker("change_language", text, entities=entities))

    assert messages == []
    assert slots(events) == {"language_switched": False}


# --- Fallback and risk --------------------------------------------------------------------------


def user(intent: str) -> dict[str, Any]:
    return {"event": "user", "text": "…", "parse_data": {"intent": {"name": intent}}}


BOT = {"event": "bot", "text": "Sorry, I did not understand."}


@pytest.mark.parametrize(
    ("events", "repeated"),
    [
        ([user("nlu_fallback")], False),
        ([user("nlu_fallback"), BOT, user("nlu_fallback")], True),
        ([user("nlu_fallback"), BOT, user("greet"), BOT, user("nlu_fallback")], False),
        ([user("greet"), BOT, user("nlu_fallback"), BOT, user("nlu_fallback"), BOT, user("nlu_fallback")], True),
    ],
)
def test_a_volunteer_is_offered_from_the_second_misunderstood_message_in_a_row(events, repeated):
    messages, result = run(ActionHandleFallback(), tracker("nlu_fallback", "blorp", events=events))

    assert [m["custom"] for m in messages] == [protocol.not_understood()], "the front end hears of it (after a crisis)"
    assert slots(result) == {"fallback_repeated": repeated}


@pytest.mark.parametrize(("intent", "level"), [("express_acute_risk", "acute"), ("express_distress", "distress")])
def test_a_risk_intent_asks_the_front_end_for_its_crisis_replies(intent, level):
    messages, events = run(ActionFlagRisk(), tracker(intent, "…", language="ar"))

    assert payloads(messages) == protocol.FrontEndPayloads(safety_level=level)
    assert texts(messages) == [], "the front end answers, not Rasa"
    assert events == []


# --- Requests to the front end -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "name", "wanted"),
    [
        (ActionRequestHuman(), "action_request_human", Request.REQUEST_HUMAN),
        (ActionRequestErasure(), "action_request_erasure", Request.REQUEST_ERASURE),
    ],
)
def test_a_front_end_action_sends_its_request(action, name, wanted):
    messages, events = run(action, tracker(wanted.value, "…"))

    assert action.name() == name
    assert [message["custom"] for message in messages] == [protocol.request(wanted)]
    assert payloads(messages) == protocol.FrontEndPayloads(request=wanted)
    assert events == []


# --- The booking form: questions -------------------------------------------------------------------

NATIVE_NAMES = {
    "en": "English",
    "nl": "Nederlands",
    "ar": "العربية",
    "fa": "فارسی / دری",
    "uk": "Українська",
    "es": "Español",
    "ti": "ትግርኛ",
    "so": "Soomaali",
    "ru": "Русский",
}


@pytest.mark.parametrize(("language", "native"), NATIVE_NAMES.items())
def test_the_language_question_offers_the_persons_own_language_first(language, native):
    messages, _ = run(AskBookingLanguage(), tracker("affirm", "/affirm", language=language))

    [message] = messages
    titles = [button["title"] for button in message["buttons"]]
    assert titles[0] == native
    assert message["buttons"][0]["payload"] == native, "the name is the answer: extract_booking_language reads it"
    assert message["buttons"][-1]["payload"] == "/show_menu"
    assert len(titles) == len(SUPPORTED) + 1, "every language and Stop"


def test_the_first_question_asks_for_age_with_yes_no_and_stop():
    [message], events = run(AskBookingAdult(), tracker("request_booking", "/request_booking"))

    assert message["text"] == "First: are you 18 years or older?"
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny", "/show_menu"]
    assert events == []


def test_the_questions_come_in_the_persons_language():
    [message], _ = run(AskBookingAdult(), tracker("request_booking", "/request_booking", language="ar"))

    assert message["text"] != "First: are you 18 years or older?"
    assert ARABIC.search(message["text"])


# --- The booking form: starting it -------------------------------------------------------------------


def test_starting_clears_earlier_answers_when_there_is_no_database():
    _, events = run(ActionStartBooking(), tracker("request_booking", slots={"booking_adult": True}))

    assert slots(events) == {**dict.fromkeys(BOOKING_SLOTS), "booking_stop": None}


@pytest.mark.parametrize(("earlier", "stop"), [(0, None), (2, None), (3, "limit")])
def test_the_fourth_request_ends_the_form_at_once(bookings, earlier, stop):
    for _ in range(earlier):
        bookings.add("person-1", "en", "English (en)", "weekends", "chat", None)
    bookings.add("someone-else", "en", "English (en)", "weekends", "chat", None)

    _, events = run(ActionStartBooking(), tracker("request_booking", sender_id="person-1"))

    assert slots(events)["booking_stop"] == stop


def test_a_database_that_cannot_count_does_not_stop_the_request(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'not-migrated.db'}")

    _, events = run(ActionStartBooking(), tracker("request_booking"))

    assert slots(events)["booking_stop"] is None


# --- The booking form: answers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slot", "intent", "text", "expected"),
    [
        ("booking_adult", "affirm", "/affirm", {"booking_adult": True}),
        (
            "booking_adult",
            "deny",
            "/deny",
            {"booking_adult": False, "booking_stop": "under_18", "requested_slot": None},
        ),
        ("booking_contact", "affirm", "/affirm", {"booking_contact": "chat"}),
        ("booking_contact", "deny", "/deny", {"booking_contact": "other"}),
        ("booking_consent", "affirm", "/affirm", {"booking_consent": True}),
        (
            "booking_consent",
            "deny",
            "/deny",
            {"booking_consent": False, "booking_stop": "no_consent", "requested_slot": None},
        ),
        ("booking_adult", "show_menu", "/show_menu", {"booking_stop": "stopped", "requested_slot": None}),
        ("booking_language", "show_menu", "/show_menu", {"booking_stop": "stopped", "requested_slot": None}),
        ("booking_times", "show_menu", "menu", {"booking_stop": "stopped", "requested_slot": None}),
        ("booking_contact", "show_menu", "/show_menu", {"booking_stop": "stopped", "requested_slot": None}),
    ],
)
def test_button_answers_fill_the_slot_or_end_the_form(slot, intent, text, expected):
    messages, events = run(ValidateBookingForm(), answering(slot, intent, text))

    assert messages == []
    assert slots(events) == expected


def test_an_answer_that_ends_the_form_still_returns_its_value_and_closes_the_form():
    _, events = run(ValidateBookingForm(), answering("booking_adult", "deny", "/deny"))

    assert events[:2] == [
        {"event": "slot", "timestamp": None, "name": "booking_adult", "value": False},
        {"event": "slot", "timestamp": None, "name": "booking_stop", "value": "under_18"},
    ]
    assert events[-1]["name"] == "requested_slot" and events[-1]["value"] is None


def test_the_message_that_starts_the_form_is_not_taken_as_an_answer():
    messages, events = run(ValidateBookingForm(), answering(None, "request_booking", "/request_booking"))

    assert (messages, events) == ([], [])


@pytest.mark.parametrize(
    ("slot", "intent", "text"),
    [
        ("booking_adult", "greet", "what is this about?"),
        ("booking_consent", "ask_privacy", "who will see this?"),
        ("booking_contact", "nlu_fallback", "hmm"),
        ("booking_times", "affirm", "/affirm"),
        ("booking_language", "nlu_fallback", "👍"),
        ("booking_times", "nlu_fallback", "   "),
    ],
)
def test_a_message_that_is_not_an_answer_gets_the_question_again(slot, intent, text):
    messages, events = run(ValidateBookingForm(), answering(slot, intent, text))

    assert texts(messages) == [USE_BUTTONS]
    assert slots(events) == {"booking_stop": None}, "an answer for Rasa, so the form asks again"


def test_the_please_choose_text_is_in_the_persons_language():
    messages, _ = run(ValidateBookingForm(), answering("booking_adult", "greet", "مرحبا", language="ar"))

    [text] = texts(messages)
    assert text == ar("booking", USE_BUTTONS)
    assert text != USE_BUTTONS and ARABIC.search(text)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("weekday mornings", "weekday mornings"),
        ("  Tuesday   morning\n or Friday ", "Tuesday morning or Friday"),
        ("24/11 after 14:00", "24/11 after 14:00"),
        ("29/02 in the afternoon", "29/02 in the afternoon"),
        ("12/31 evening", "12/31 evening"),
        ("الثلاثاء الصبح", "الثلاثاء الصبح"),
        ("any day " * 50, ("any day " * 50)[:300]),
    ],
)
def test_times_are_stored_as_written(text, stored):
    messages, events = run(ValidateBookingForm(), answering("booking_times", "nlu_fallback", text))

    assert messages == []
    assert slots(events) == {"booking_times": stored}


@pytest.mark.parametrize(
    ("text", "language", "explanation"),
    [
        ("31/02 in the morning", None, BAD_DATE),
        ("Monday 32/13", None, BAD_DATE),
        ("٣١/٠٢ صباحاً", "ar", ar("booking", BAD_DATE)),
    ],
)
def test_an_impossible_date_is_explained_and_asked_again(text, language, explanation):
    messages, events = run(ValidateBookingForm(), answering("booking_times", "nlu_fallback", text, language=language))

    assert texts(messages) == [explanation]
    assert slots(events) == {"booking_stop": None}, "booking_times stays empty: the question comes again"
    if language == "ar":
        assert explanation != BAD_DATE


@pytest.mark.parametrize("text", ["Monday after 14.30", "Wednesday 14-16"])
def test_a_time_written_with_a_dot_or_a_range_is_not_an_impossible_date(text):
    messages, events = run(ValidateBookingForm(), answering("booking_times", "nlu_fallback", text))

    assert messages == []
    assert slots(events) == {"booking_times": text}


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("English", "English (en)"),
        ("العربية", "العربية (ar)"),
        ("Dari", "فارسی / دری (fa)"),
        ("can it be in Ukrainian?", "Українська (uk)"),
        ("Amharic  please", "Amharic please"),
    ],
)
def test_the_language_for_the_talk_is_named_in_its_own_script_or_kept_as_written(text, stored):
    messages, events = run(ValidateBookingForm(), answering("booking_language", "nlu_fallback", text))

    assert messages == []
    assert slots(events) == {"booking_language": stored}


def test_darija_is_not_recorded_as_dari():
    _, events = run(ValidateBookingForm(), answering("booking_language", "nlu_fallback", "Darija"))

    assert "(fa)" not in slots(events)["booking_language"]


# --- The booking form: submitting -------------------------------------------------------------------

COMPLETE = {
    "booking_adult": True,
    "booking_language": "العربية (ar)",
    "booking_times": "weekday evenings",
    "booking_contact": "other",
    "booking_consent": True,
}
CLEARED = {**dict.fromkeys(BOOKING_SLOTS), "booking_stop": None}


def test_complete_answers_go_to_the_front_end_to_be_stored():
    messages, events = run(ActionSubmitBooking(), tracker("affirm", "/affirm", slots=COMPLETE, language="ar"))

    assert texts(messages) == [], "the front end confirms once the request is saved"
    assert payloads(messages) == protocol.FrontEndPayloads(
        request=Request.STORE_BOOKING,
        booking=BookingAnswers(session_language="العربية (ar)", times="weekday evenings", contact="other"),
    )
    assert slots(events) == CLEARED


@pytest.mark.parametrize(
    ("stop", "ending", "responses"),
    [
        ("under_18", UNDER_18, ["utter_menu"]),
        ("limit", LIMIT, ["utter_menu"]),
        ("no_consent", NO_CONSENT, []),
        ("stopped", STOPPED, ["utter_menu"]),
    ],
)
def test_a_form_that_ended_early_is_explained_and_nothing_is_stored(stop, ending, responses):
    answers = {**COMPLETE, "booking_stop": stop}  # even with every answer given, the stop wins
    messages, events = run(ActionSubmitBooking(), tracker("deny", "/deny", slots=answers))

    assert texts(messages) == [ending]
    assert [message["response"] for message in messages if message["response"]] == responses
    assert payloads(messages) == protocol.FrontEndPayloads()
    assert slots(events) == CLEARED


def test_after_three_talks_the_ending_offers_the_group_programmes():
    messages, _ = run(ActionSubmitBooking(), tracker("deny", "/deny", slots={**COMPLETE, "booking_stop": "limit"}))

    assert [button["payload"] for button in messages[0]["buttons"]] == ["/ask_group_programmes"]


@pytest.mark.parametrize("missing", ["booking_times", "booking_consent"])
def test_incomplete_answers_are_not_stored(missing):
    messages, _ = run(ActionSubmitBooking(), tracker("affirm", slots={**COMPLETE, missing: None}))

    assert texts(messages) == [STOPPED]
    assert payloads(messages).booking is None


def test_the_ending_for_someone_under_18_is_in_their_language_with_the_numbers_filled_in():
    messages, _ = run(ActionSubmitBooking(), tracker("deny", slots={"booking_stop": "under_18"}, language="ar"))

    [text] = texts(messages)
    assert text != UNDER_18 and ARABIC.search(text)
    assert "0800-0432" in text and "{" not in text


# --- Articles ---------------------------------------------------------------------------------------


@pytest.fixture
def library(tmp_path) -> Library:
    """Two topics: stress is translated into Arabic, sleep is only in English."""
    (tmp_path / "topics.yml").write_text(
        "topics:\n  sleep: {intent: ask_sleep, next: stress}\n  stress: {intent: ask_stress, next: sleep}\n",
        encoding="utf-8",
    )
    for language, topic, body in [
        ("en", "sleep", "# Sleep\n\nRest well.\n\n---\n\nNight line: {crisis_line_phone}.\n"),
        ("en", "stress", "# Calm\n\nBreathe in.\n\n---\n\nBreathe out.\n"),
        ("ar", "stress", "# هدوء\n\nخذ نفساً.\n\n---\n\nأخرج النفس.\n\n---\n\nأحسنت.\n"),
    ]:
        (tmp_path / language).mkdir(exist_ok=True)
        (tmp_path / language / f"{topic}.md").write_text(body, encoding="utf-8")
    return Library(tmp_path)


def test_an_article_in_the_persons_language_is_sent_in_parts(library):
    messages, events = run(ActionShowContent(library), tracker("ask_stress", "stress", language="ar"))

    assert texts(messages) == ["هدوء\n\nخذ نفساً.", "أخرج النفس.", "أحسنت."]
    assert slots(events) == {"next_intent": "ask_sleep"}


def test_an_untranslated_article_comes_in_english_after_a_note_in_the_persons_language(library):
    messages, events = run(ActionShowContent(library), tracker("ask_sleep", "نوم", language="ar"))

    note, *article = texts(messages)
    assert note == ar("content", NOT_TRANSLATED) and note != NOT_TRANSLATED
    assert article == ["Sleep\n\nRest well.", "Night line: 113."]
    assert slots(events) == {"next_intent": "ask_stress"}


def test_the_language_of_the_message_wins_over_the_slot(library):
    messages, _ = run(ActionShowContent(library), tracker("ask_stress", slots={"language": "en"}, language="ar"))

    assert texts(messages)[0].startswith("هدوء")


def test_english_readers_get_no_note(library):
    messages, _ = run(ActionShowContent(library), tracker("ask_sleep", "sleep", language="en"))

    assert texts(messages) == ["Sleep\n\nRest well.", "Night line: 113."]


@pytest.mark.parametrize("intent", ["ask_hope", "greet"])
def test_a_topic_without_an_article_gets_a_kind_message_and_the_menu_next(library, intent):
    messages, events = run(ActionShowContent(library), tracker(intent, language="en"))

    assert texts(messages) == [CANNOT_SHOW]
    assert slots(events) == {"next_intent": "show_menu"}


def test_the_real_articles_are_served_from_the_content_folder():
    messages, events = run(ActionShowContent(), tracker("ask_stress", language="ar"))

    assert texts(messages)[0].startswith("تمرين للهدوء: تنفّس وعُد إلى اللحظة الحاضرة\n\n")
    assert len(messages) >= 2
    assert slots(events) == {"next_intent": "ask_good_moments"}
