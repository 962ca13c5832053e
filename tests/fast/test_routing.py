"""One message's way through the conversation layer, with a fake Rasa on a real SQLite database:
the safety screen first, commands, Rasa's payloads (bot.core.protocol), bad input and failures."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.conversation.assistant import command_word
from bot.conversation.rasa_client import BotMessage
from bot.core import protocol
from bot.core.i18n import default_catalogs
from tests.fast.conftest import Parts

PERSON = "person-1"


def answer(parts: Parts, message: str) -> list:
    """The replies to one message, once what it stores in the background is stored."""

    async def exchange() -> list:
        replies = await parts.assistant.handle_text(PERSON, message)
        await parts.assistant.records.settled()
        return replies

    return asyncio.run(exchange())


def say(parts: Parts, message: str) -> list[str]:
    return [reply.text for reply in answer(parts, message)]


def t(language: str, context: str, message: str) -> str:
    return default_catalogs().for_language(language).pgettext(context, message)


@pytest.mark.parametrize(
    ("message", "command"),
    [("/start", "/start"), ("/Start@peer_bot hello", "/start"), ("  /delete  ", "/delete"), ("hello /start", "")],
)
def test_the_command_word_is_read_the_same_way_everywhere(message: str, command: str):
    assert command_word(message) == command


CRISES = {
    "en": "I have decided to end my life tonight",
    "nl": "ik heb besloten vannacht een einde aan mijn leven te maken",
    "ar": "قررت أن أنهي حياتي الليلة",
    "fa": "تصمیم گرفته‌ام امشب به زندگی‌ام پایان بدهم",
    "uk": "я вирішив сьогодні вночі покінчити з життям",
    "es": "he decidido quitarme la vida esta noche",
    "ti": "ሎሚ ለይቲ ኩሉ ምስ ደቀሰ ካብ ናሕሲ ክዘልል ወሲነ",
    "so": "waxaan go'aansaday inaan caawa is dilo",
    "ru": "я решил сегодня ночью покончить с собой",
}


def test_a_crisis_is_answered_in_its_language_at_once_without_rasa_and_stored(parts: Parts, language: str):
    replies = answer(parts, CRISES[language])
    assert all(reply.urgent and reply.language == language for reply in replies)
    joined = "\n".join(reply.text for reply in replies)
    assert "113" in joined and "112" in joined
    assert parts.rasa.sent == [], "a crisis reply never waits for Rasa"
    assert parts.users.crisis(PERSON).level == "acute"
    [escalation] = parts.escalations.list()
    assert escalation.level == "acute" and escalation.language == language


def test_an_everyday_message_goes_to_rasa_in_the_persons_language(parts: Parts):
    parts.users.set_language(PERSON, "nl", chosen=True)
    parts.rasa.answers("waar kan ik nederlandse les volgen", BotMessage(text="Lessen"))
    assert say(parts, "waar kan ik nederlandse les volgen") == ["Lessen"]
    assert parts.rasa.sent == [(PERSON, "waar kan ik nederlandse les volgen", "nl")]


def test_when_rasa_is_down_the_person_is_told_kindly_in_their_language(parts: Parts):
    parts.users.set_language(PERSON, "ar", chosen=True)
    parts.rasa.down = True
    assert say(parts, "/help") == [t("ar", "bot", "I am having trouble right now. Please try again in a moment.")]


def test_empty_and_emoji_only_messages_get_a_kind_answer_or_the_topics(parts: Parts):
    assert say(parts, "   ") == ["I did not get any text. Please write your message in words."]
    say(parts, "🙂🙂")
    assert parts.rasa.sent[-1][1] == "/show_menu"


def test_an_unknown_command_is_explained_and_the_topics_follow(parts: Parts):
    parts.rasa.answers("/show_menu", BotMessage(text="Topics"))
    assert say(parts, "/frobnicate") == ["I do not know that command. Here is what I can help with.", "Topics"]


def test_a_language_chosen_in_rasa_is_stored_as_chosen(parts: Parts):
    parts.rasa.answers("I would like Farsi please", BotMessage(custom=protocol.language_chosen("fa")))
    say(parts, "I would like Farsi please")
    state = parts.users.language_state(PERSON)
    assert state.language == "fa" and state.chosen


def test_rasa_asking_for_a_person_without_coordinators_offers_a_volunteer(parts: Parts):
    parts.rasa.answers("/request_human", BotMessage(custom=protocol.request(protocol.Request.REQUEST_HUMAN)))
    assert say(parts, "/request_human") == [
        t("en", "handoff", "No coordinator can be reached from here. You can book a talk with a volunteer.")
    ]
    assert parts.escalations.list() == [], "nobody could read it, so no escalation is opened"


def test_a_completed_booking_form_is_stored_for_the_coordinators(parts: Parts):
    parts.assistant.booking_listeners.append(lambda view, late: None)  # coordinators are configured
    answers = protocol.BookingAnswers(session_language="Nederlands (nl)", times="maandagochtend", contact="other")
    parts.rasa.answers("/affirm", BotMessage(custom=protocol.store_booking(answers)))
    [reply] = say(parts, "/affirm")
    assert "first, to ask how you would like to be reached" in reply
    with parts.bookings.db.session() as session:
        row = session.execute(text("select session_language, times, contact from bookings")).one()
    assert tuple(row) == ("Nederlands (nl)", "maandagochtend", "other")


def test_delete_asks_first_and_erases_only_when_confirmed(parts: Parts):
    parts.users.set_language(PERSON, "uk", chosen=True)
    [question] = answer(parts, "/delete")
    assert [button.payload for button in question.buttons] == ["/erase_confirmed", "/erase_cancelled"]
    assert say(parts, "/erase_cancelled") == [t("uk", "privacy", "Nothing was deleted.")]
    assert parts.users.language(PERSON) == "uk"
    [done] = answer(parts, "/erase_confirmed")
    assert done.clears_chat and done.text.startswith(t("uk", "privacy", "Done. I deleted:"))
    assert parts.users.language(PERSON) is None


def test_the_payload_contract_reads_what_the_actions_write():
    answers = protocol.BookingAnswers(session_language="العربية (ar)", times="mornings", contact="chat")
    read = protocol.read(
        [
            protocol.language_chosen("ar"),
            protocol.risk_heard("acute"),
            protocol.store_booking(answers),
            protocol.not_understood(),
            {"x": 1},
        ]
    )
    assert read == protocol.FrontEndPayloads("ar", "acute", protocol.Request.STORE_BOOKING, answers, True)
    assert protocol.read([{"front_end": "unknown"}, {"set_language": 5}]) == protocol.FrontEndPayloads()


def test_another_crisis_message_soon_after_gets_the_numbers_again_not_the_whole_reply(parts: Parts):
    parts.assistant.escalation_listeners.append(lambda view, created: None)  # coordinators are configured
    first = say(parts, "I have decided to end my life tonight")
    again = say(parts, "I really want to die")
    assert len(again) < len(first) and any("113" in text and "112" in text for text in again)
    assert not any("coordinator" in text for text in again), "the coordinators were told already"
    [escalation] = parts.escalations.list()
    assert "I really want to die" in escalation.excerpt, "the new message joins the open escalation"


def test_acute_risk_after_distress_gets_the_whole_acute_reply(parts: Parts):
    say(parts, "I haven't slept for days and I can't stop crying")
    acute = say(parts, "I have decided to end my life tonight")
    assert acute[0].startswith("Thank you for telling me"), "distress first, then acute: the whole reply"


def test_in_the_day_after_a_crisis_a_message_rasa_did_not_understand_gets_a_warm_answer(parts: Parts):
    not_understood = [BotMessage(text="Sorry, I did not understand."), BotMessage(custom=protocol.not_understood())]
    parts.rasa.answers("blue window tuesday", *not_understood)
    assert say(parts, "blue window tuesday") == ["Sorry, I did not understand."], "no crisis: the usual answer"
    say(parts, "I have decided to end my life tonight")
    [warm] = answer(parts, "blue window tuesday")
    assert not warm.text.startswith("Sorry") and "I am here" in warm.text
    assert "0800-0113" in warm.text and "113.nl" in warm.text and "112" in warm.text
    assert {b.payload for b in warm.buttons} == {"/ask_stress", "/request_human"}


def test_after_a_crisis_stored_yesterday_the_warm_answer_holds_in_a_new_process(parts: Parts):
    from datetime import datetime, timedelta, timezone

    from bot.storage.users import CrisisState

    parts.rasa.answers("blue window tuesday", BotMessage(text="Sorry"), BotMessage(custom=protocol.not_understood()))
    hours_ago = datetime.now(timezone.utc) - timedelta(hours=20)
    parts.users.set_crisis(PERSON, CrisisState(level="acute", since=hours_ago))
    assert "0800-0113" in say(parts, "blue window tuesday")[0]
    parts.users.set_crisis(PERSON, CrisisState(level="acute", since=hours_ago - timedelta(hours=5)))
    assert say(parts, "blue window tuesday") == ["Sorry"], "after a day the usual answer returns"
