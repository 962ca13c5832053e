"""Recognising the language of a message (bot.core.language_id) and choosing the language of the answer
(bot.conversation.reply_language): no Rasa, no bot process."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from bot.conversation.reply_language import Decision, decide, language_menu, menu_question, unsupported_message
from bot.core import language_id, languages
from bot.core.language_id import Detection
from bot.storage.users import LanguageState
from tests.helpers import ROOT

#: Written for these tests (never taken from the held-out or development sets).
WRITTEN_IN = [
    ("en", "could you tell me how to calm down before my interview"),
    ("nl", "hoe kan ik beter slapen als het zo druk is op de gang"),
    ("es", "quisiera hablar con alguien del programa por favor"),
    ("tr", "bu gece de hiç uyuyamadım, ne yapabilirim"),
    ("so", "habeenkii ma seexan karo, maxaan sameeyaa"),
    ("ar", "ما قدرت نام طول الليل شو اعمل"),
    ("ar", "عايز أتكلم مع حد من المتطوعين"),
    ("fa", "شب‌ها خوابم نمی‌برد، چه کار کنم؟"),  # Iranian Persian
    ("fa", "شب ها خواب نمیشوم، چی کنم"),  # Dari
    ("uk", "я не можу заснути вже кілька ночей"),
    ("ru", "я не могу уснуть уже несколько ночей"),
    ("ti", "ለይቲ ድቃስ ኣይመጸንን እዩ"),
    ("ar", "الhuisarts قال لازم ارتاح"),  # a Dutch word inside Arabic script
]


def test_the_language_model_package_is_the_pinned_one():
    # Its models are inside the wheel; a different version may read languages differently.
    pinned = next(
        line.split("==")[1].strip()
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line.startswith("lingua-language-detector==")
    )
    assert version("lingua-language-detector") == pinned


@pytest.mark.parametrize(("expected", "text"), WRITTEN_IN)
def test_a_message_is_recognised_in_its_language(expected, text):
    assert language_id.detect(text).language == expected


@pytest.mark.parametrize(
    "text",
    ["ok", "👍", "2", "kifak 3am fakker fik", "  ", "hi", "salam khubi? man khaste am", "Привіт, как дела? всё хорошо"],
)
def test_short_unclear_and_latin_transliterated_messages_are_not_confident(text):
    assert language_id.detect(text).language is None


@pytest.mark.parametrize(
    ("expected", "text"),
    [
        ("fr", "bonjour, je voudrais parler avec quelqu'un s'il vous plaît"),
        ("ps", "زه نشم ویده کیدای، څه وکړم"),
        ("ku", "ez nikarim razêm, ez gelek westiyame"),
    ],
)
def test_languages_the_bot_does_not_speak_are_named(expected, text):
    assert language_id.detect(text).language == expected


# --- which language answers ----------------------------------------------------------------------
ARABIC = Detection("ar", "arabic", 1.0)
UNSURE = Detection(None, "latin")


def test_a_confident_message_sets_the_language_when_the_person_did_not_choose_one():
    assert decide(LanguageState("en"), ARABIC) == Decision("ar", remember=True)


def test_an_unclear_message_keeps_the_language_in_use():
    assert decide(LanguageState("ar"), UNSURE) == Decision("ar")


def test_nothing_known_and_nothing_readable_asks():
    assert decide(LanguageState(), UNSURE) == Decision(None)


def test_a_chosen_language_stays_and_the_other_is_offered_once():
    chosen = LanguageState("uk", chosen=True)
    assert decide(chosen, ARABIC) == Decision("uk", offer="ar")
    assert decide(LanguageState("uk", chosen=True, offered="ar"), ARABIC) == Decision("uk")


def test_a_language_the_bot_does_not_speak_gets_the_menu():
    assert decide(LanguageState("nl", chosen=True), Detection("fr", "latin", 0.9)) == Decision("nl", unsupported="fr")
    assert decide(LanguageState(), Detection(None, "other")) == Decision(None, unsupported="")


def test_the_unsupported_message_is_in_english_and_dutch_and_names_the_language_in_its_own_script(catalogs):
    text = unsupported_message(catalogs, "ps")
    assert "I cannot write in پښتو yet" in text
    assert "Ik kan nog niet in het پښتو schrijven" in text
    assert all(languages.native_name(code) in text for code in languages.SUPPORTED)
    assert [button.payload for button in language_menu()] == [
        f'/change_language{{"language": "{code}"}}' for code in languages.SUPPORTED
    ]


def test_the_first_question_asks_in_every_language(catalogs):
    question = menu_question(catalogs)
    assert "Which language shall I write in?" in question
    assert "بأي لغة أكتب لك؟" in question
    assert len(question.splitlines()) == len(languages.SUPPORTED)


@pytest.fixture(scope="module")
def catalogs():
    from bot.core.i18n import Catalogs

    return Catalogs()
