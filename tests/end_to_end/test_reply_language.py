"""Answering in the language the person writes in, without being told, end to end: `python -m bot
run` on the Telegram stand-in, with the real Rasa and action servers. Every person here is new and
never uses /language unless the test says so."""

from __future__ import annotations

import itertools

import pytest

from bot.core.intent_net import READ_BY_NET
from bot.core.languages import UNDERSTOOD
from tests.conversation import ARABIC_SCRIPT, ASK, article_title, expected_text
from tests.helpers import keyboard_of, pressed
from tests.telegram_standin import TelegramStandIn

#: A question about sleep in each language, as the conversation tests ask it.
SLEEP = {language: asked["sleep"] for language, asked in ASK.items()}

_people = itertools.count(7001)


def write(telegram: TelegramStandIn, person: int, text: str, phone: str = "en", replies: int = 1) -> list[str]:
    """Sends one message; returns the texts that came back to it (at least `replies`)."""
    before = len(telegram.texts_to(person))
    telegram.send_text(person, text, language_code=phone)
    return telegram.wait_for(lambda: (t := telegram.texts_to(person)[before:]) and len(t) >= replies and t)


@pytest.mark.parametrize("language", UNDERSTOOD)
@pytest.mark.parametrize("phone", ["en", "nl"])
def test_a_new_person_is_answered_in_the_language_they_write_whatever_their_phones_language(telegram, language, phone):
    answer = write(telegram, next(_people), SLEEP[language], phone=phone)
    assert answer[0].startswith(article_title(language, "sleep")), answer


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("شب‌ها نمی‌توانم بخوابم و خیلی خسته‌ام", "fa"),  # Iranian Persian
        ("شب ها خواب نمیشوم و بسیار مانده استم", "fa"),  # Dari
        ("ما بقدر نام بالليل وتعبان كتير", "ar"),  # Levantine Arabic
    ],
)
def test_persian_dari_and_arabic_are_told_apart(telegram, text, language):
    answer = write(telegram, next(_people), text, phone="en")
    assert answer[0].startswith(article_title(language, "sleep")), answer


def test_a_short_message_after_arabic_stays_in_arabic(telegram):
    person = next(_people)
    write(telegram, person, SLEEP["ar"])
    answer = write(telegram, person, "ok")
    assert all(not text.isascii() for text in answer), answer


def test_a_mixed_message_keeps_the_language_in_use(telegram):
    person = next(_people)
    write(telegram, person, SLEEP["es"], phone="nl")
    answer = write(telegram, person, "ok thanks, gracias, dank je")
    assert not any(text.startswith(("Thank", "Dank")) for text in answer), answer


def test_a_chosen_language_stays_and_the_new_one_is_offered_once_in_that_language(telegram):
    person = next(_people)
    write(telegram, person, "/language uk")
    answer = write(telegram, person, SLEEP["ar"], replies=2)
    assert answer[0].startswith(article_title("uk", "sleep")), answer
    offer_text = "أرى أنك كتبت بـالعربية. هل أكتب لك بـالعربية؟"
    # The article comes in several messages; the offer follows them.
    telegram.wait_for(lambda: telegram.texts_to(person)[-1] == offer_text)
    offer = telegram.calls_to("sendMessage", person)[-1]
    assert keyboard_of(offer) == [("العربية", '/change_language{"language": "ar"}'), ("Українська", "/keep_language")]
    later = write(telegram, person, SLEEP["ar"])
    assert not any("العربية" in text for text in later)  # offered once only
    pressed(telegram, person, '/change_language{"language": "ar"}')
    telegram.wait_for(lambda: telegram.texts_to(person)[-1].startswith("حسنًا"))
    assert write(telegram, person, SLEEP["uk"], replies=2)[0].startswith(article_title("ar", "sleep"))


def test_keeping_the_chosen_language_is_confirmed_in_it(telegram):
    person = next(_people)
    write(telegram, person, "/language nl")
    write(telegram, person, SLEEP["es"], replies=2)
    pressed(telegram, person, "/keep_language")
    telegram.wait_for(lambda: telegram.texts_to(person)[-1] == "Goed. Ik blijf in het Nederlands schrijven.")


def test_a_language_the_bot_does_not_speak_gets_english_and_dutch_and_the_menu(telegram):
    person = next(_people)
    write(telegram, person, "bonjour, je n'arrive plus à dormir depuis une semaine", phone="fr")
    message = telegram.calls_to("sendMessage", person)[-1]
    assert message.params["text"].startswith("I cannot write in Français yet.")
    assert "Ik kan nog niet in het Français schrijven." in message.params["text"]
    assert ("فارسی / دری", '/change_language{"language": "fa"}') in keyboard_of(message)


#: Written for this test (in neither the intent net's examples nor its held-out set).
READ_BY_THE_INTENT_NET = {
    "ti": "ብለይቲ ክድቅስ ኣይክእልን እየ፡ እንታይ ክገብር እኽእል?",
    "so": "habeenkii ma seexan karo, maxaan sameeyaa?",
    "ru": "я уже несколько ночей не могу уснуть, что делать",  # and not Ukrainian
}


@pytest.mark.parametrize("language", READ_BY_NET)
def test_languages_rasas_model_does_not_read_are_understood_by_the_intent_net(telegram, language):
    answer = write(telegram, next(_people), READ_BY_THE_INTENT_NET[language], phone="uk" if language == "ru" else "en")
    assert answer[0].startswith(article_title(language, "sleep")), answer


def test_messages_the_intent_net_is_not_sure_of_get_the_menu_then_a_volunteer_in_that_language(telegram):
    person = next(_people)
    write(telegram, person, READ_BY_THE_INTENT_NET["so"])
    # The whole article first: its last part ("what next?") must not be taken for the next answer.
    telegram.wait_for(lambda: telegram.texts_to(person)[-1] == expected_text("so", "utter_next_step"))
    answer = write(telegram, person, "qalin buluug ah iyo miis")  # "a blue pen and a table"
    assert answer[0] == expected_text("so", "utter_fallback", 1)  # "Sorry, I did not understand", in Somali
    answer = write(telegram, person, "miis cagaaran iyo kursi")  # "a green table and a chair"
    assert answer[0] == expected_text("so", "utter_fallback", 0)  # "... maybe a person can help you better"


def test_a_crisis_is_answered_in_the_language_of_the_crisis_message_not_the_chosen_one(telegram):
    person = next(_people)
    write(telegram, person, "/language nl")
    answer = write(telegram, person, "قررت أنهي حياتي الليلة، ما عاد فيني كمل", replies=3)
    assert ARABIC_SCRIPT.search(answer[0]), answer
    assert any("113" in text for text in answer), answer
    assert not any(text.startswith(("Ik ", "Je ", "Bel ")) for text in answer), answer
