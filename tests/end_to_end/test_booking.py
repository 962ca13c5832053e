"""Asking for a talk in the chat: the Rasa form end to end on the Telegram stand-in, the request in
the coordinators' group, and what happens with wrong answers, minors, the three-talk limit and a
database that is locked."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.core.i18n import Catalogs
from bot.core.identity import pseudonym
from bot.storage.bookings import BookingLog
from bot.storage.db import Database, migrate
from tests.helpers import ANNA, GROUP, bot_on_standin, coordinator_settings, keyboard_of
from tests.telegram_standin import Call, TelegramStandIn, visible

T = Catalogs()


def booking(language: str, text: str) -> str:
    return T.pgettext(language, "booking", text)


ADULT_QUESTION = "First: are you 18 years or older?"
TIMES_QUESTION = (
    "Which days and times suit you? Choose one, or write them, for example: Tuesday morning, or 24/11 after 14:00."
)
SAVED = (
    "Thank you. Your request is saved and sent to the coordinators. A coordinator will write to you here "
    "to plan the talk."
)


@pytest.fixture(scope="module")
def chat(stack):
    with bot_on_standin(stack, **coordinator_settings()) as standin:
        yield standin


def last_message_with(standin: TelegramStandIn, chat_id: int, text: str, timeout: float = 60) -> Call:
    return standin.wait_for(
        lambda: (
            (found := [c for c in standin.calls_to("sendMessage", chat_id) if visible(c.params["text"]) == text])
            and found[-1]
        ),
        timeout,
    )


def message_with_button(
    standin: TelegramStandIn, chat_id: int, payload: str, title_starts: str = "", timeout: float = 60
) -> Call:
    """The latest message to the chat with a button sending `payload` (and a title starting so)."""

    def latest() -> Call | None:
        for call in reversed(standin.calls_to("sendMessage", chat_id)):
            if any(p == payload and t.startswith(title_starts) for t, p in keyboard_of(call)):
                return call
        return None

    return standin.wait_for(latest, timeout)


def answer(standin: TelegramStandIn, chat_id: int, question: Call, payload: str) -> None:
    assert payload in [p for _, p in keyboard_of(question)], f"{payload} is one of the buttons"
    standin.press(chat_id, question.message, payload)


def test_a_request_in_arabic_reaches_the_coordinators_who_plan_it(chat, stack):
    person = 1101
    chat.send_text(person, "/language ar")
    chat.wait_for(lambda: chat.texts_to(person))
    chat.send_text(person, "/book")
    offer = message_with_button(chat, person, "/request_booking")
    answer(chat, person, offer, "/request_booking")
    adult = last_message_with(chat, person, booking("ar", ADULT_QUESTION))
    answer(chat, person, adult, "/affirm")
    language = message_with_button(chat, person, "English")
    assert keyboard_of(language)[0][0] == "العربية", "the language the person writes in comes first"
    answer(chat, person, language, "English")
    last_message_with(chat, person, booking("ar", TIMES_QUESTION))
    chat.send_text(person, "الثلاثاء الصبح")
    contact = message_with_button(chat, person, "/affirm", title_starts="💬")
    answer(chat, person, contact, "/affirm")
    consent = message_with_button(
        chat, person, "/affirm", title_starts="✅ " + T.pgettext("ar", "button", "✅ Yes, send it")[2:]
    )
    answer(chat, person, consent, "/affirm")
    last_message_with(chat, person, booking("ar", SAVED))

    post = chat.wait_for(
        lambda: [c for c in chat.calls_to("sendMessage", GROUP) if "📅 Request for a talk" in c.params["text"]]
    )[-1]
    assert "Language for the talk: English (en)" in post.params["text"]
    assert "Days and times: الثلاثاء الصبح" in post.params["text"]
    assert "Writes in: العربية (ar)" in post.params["text"]
    number = int(post.params["text"].split()[0][1:])
    chat.press(ANNA, post.message, f"book:scheduled:{number}", first_name="Anna")
    planned = "Your talk with a volunteer is being planned. A coordinator will write to you here."
    chat.wait_for(lambda: T.pgettext("ar", "booking", planned) in chat.texts_to(person))
    assert BookingLog(Database(stack.database_url)).get(number).status == "scheduled"

    # The coordinator writes to the person by replying to the request: a hand-off, both ways.
    chat.send_group_text(GROUP, ANNA, "Hello, would Tuesday at 10:00 suit you?", reply_to=post.message)
    chat.wait_for(lambda: "🙋 Hello, would Tuesday at 10:00 suit you?" in chat.texts_to(person))
    chat.send_text(person, "نعم الساعة عشرة مناسبة")
    chat.wait_for(
        lambda: any(c.params["text"].endswith("نعم الساعة عشرة مناسبة") for c in chat.calls_to("sendMessage", GROUP))
    )

    # Done: the person is thanked, and the way to reach them for this request is deleted.
    chat.press(ANNA, post.message, f"book:done:{number}", first_name="Anna")
    done = "Your talk is marked as done. Thank you for taking part. The way to reach you for it is deleted."
    chat.wait_for(lambda: T.pgettext("ar", "booking", done) in chat.texts_to(person))
    finished = BookingLog(Database(stack.database_url)).get(number)
    assert (finished.status, finished.chat_id) == ("done", None)


def start_form(standin: TelegramStandIn, person: int) -> Call:
    standin.send_text(person, "/request_booking")
    return last_message_with(standin, person, ADULT_QUESTION)


def test_a_message_in_the_middle_of_the_form_gets_the_question_again(chat):
    person = 1102
    start_form(chat, person)
    chat.send_text(person, "what is this about?")
    please = "Please choose one of the buttons, or write your answer in a few words."
    chat.wait_for(lambda: chat.texts_to(person)[-2:] == [please, ADULT_QUESTION])


def test_an_impossible_date_is_explained_and_asked_again(chat):
    person = 1103
    adult = start_form(chat, person)
    answer(chat, person, adult, "/affirm")
    message_with_button(chat, person, "English")
    chat.send_text(person, "Tigrinya please")
    last_message_with(chat, person, TIMES_QUESTION)
    chat.send_text(person, "31/02 in the morning")
    explained = "I could not find that date in the calendar."
    chat.wait_for(
        lambda: chat.texts_to(person)[-2].startswith(explained) and chat.texts_to(person)[-1] == TIMES_QUESTION
    )
    chat.send_text(person, "Monday evening")
    chat.wait_for(lambda: chat.texts_to(person)[-1].startswith("How should the programme reach you?"))


def test_someone_under_18_is_told_kindly_where_young_people_find_help(chat, stack):
    person = 1104
    adult = start_form(chat, person)
    answer(chat, person, adult, "/deny")
    text = chat.wait_for(
        lambda: [t for t in chat.texts_to(person) if t.startswith("The talks with volunteers are for adults")]
    )
    assert "De Kindertelefoon" in text[-1] and "0800-0432" in text[-1]
    key = pseudonym("telegram", person, "s")
    assert BookingLog(Database(stack.database_url)).sessions_asked(key) == 0


def test_stop_ends_the_form_and_nothing_is_sent(chat, stack):
    person = 1105
    adult = start_form(chat, person)
    answer(chat, person, adult, "/show_menu")
    chat.wait_for(lambda: "I stopped the request. Nothing was sent." in chat.texts_to(person))
    assert BookingLog(Database(stack.database_url)).sessions_asked(pseudonym("telegram", person, "s")) == 0


def test_a_fourth_request_is_declined_kindly_with_other_help(chat, stack):
    person = 1106
    key = pseudonym("telegram", person, "s")
    log = BookingLog(Database(stack.database_url))
    for _ in range(3):
        log.add(key, "en", "English", "weekends", "chat", None)
    chat.send_text(person, "/request_booking")
    text = chat.wait_for(
        lambda: [t for t in chat.texts_to(person) if t.startswith("You have already asked for three talks")]
    )
    assert "Mind-Spring" in text[-1]
    assert ADULT_QUESTION not in chat.texts_to(person), "no questions are asked"


def test_a_locked_database_delays_the_confirmation_until_the_request_is_stored(tmp_path):
    from bot.conversation.assistant import Assistant
    from bot.conversation.rasa_client import RasaClient
    from bot.core.i18n import default_catalogs
    from bot.storage.users import MemoryUserStore

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    migrate(url)
    bookings = BookingLog(Database(url, wait_seconds=0.1))
    assistant = Assistant(RasaClient("http://127.0.0.1:9"), MemoryUserStore(), default_catalogs(), bookings=bookings)
    stored: list[tuple[int, bool]] = []
    assistant.booking_listeners.append(lambda view, late: stored.append((view.id, late)))
    lock = sqlite3.connect(tmp_path / "bot.db")
    lock.execute("BEGIN EXCLUSIVE")

    answers = {"session_language": "English (en)", "times": "weekends", "contact": "chat"}
    [reply] = asyncio.run(assistant.store_booking("telegram-locked", answers))

    assert reply.text.startswith("I could not save your request yet"), "never confirmed before it is stored"
    assert stored == []
    lock.rollback()
    lock.close()
    assistant.retry_unsaved()
    assert len(stored) == 1 and stored[0][1] is True, "stored later, and the listener tells the person"
    assert bookings.get(stored[0][0]).times == "weekends"
    asyncio.run(assistant.rasa.close())
