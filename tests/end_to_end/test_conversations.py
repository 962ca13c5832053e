"""Whole conversations in every language, through the running Rasa and action servers."""

from __future__ import annotations

import pytest

from bot.core.languages import SUPPORTED, UNDERSTOOD, native_name
from bot.core.organisation import load_organisation
from tests.conversation import ASK, article_title, buttons, converse, expected_text, looks_written_in, texts

# One natural way to ask, per language and intent. None of these is in the training data.


def test_greeting_shows_the_topic_menu_in_the_persons_language(stack, language):
    [replies] = converse(stack.rasa_url, language, ["/start"])
    programme = load_organisation().programme_name
    assert texts(replies) == expected_text(language, "utter_greet", programme_name=programme)
    titles = [title for title, _ in buttons(replies)]
    assert "/ask_sleep" in [payload for _, payload in buttons(replies)]
    assert len(titles) == 11
    assert all(looks_written_in(language, title) for title in titles[:9])


def test_more_topics_lists_the_troubles_people_bring_in_the_persons_language(stack, language):
    more, grief = converse(stack.rasa_url, language, ['/show_menu{"page": 2}', '/show_menu{"topic": "grief"}'])
    assert texts(more) == expected_text(language, "utter_more_topics")
    topics = ["grief", "loneliness", "anger", "asylum_procedure", "child_sleep"]
    assert [payload for _, payload in buttons(more)] == [
        *(f'/show_menu{{"topic": "{topic}"}}' for topic in topics),
        "/show_menu",
    ]
    assert all(looks_written_in(language, title) for title, _ in buttons(more))
    assert article_title(language, "grief") in texts(grief)
    assert grief[-1].text == expected_text(language, "utter_next_step")
    assert grief[-1].buttons[0].payload == "/ask_hope", "the next exercise after grief"


@pytest.mark.parametrize("language", UNDERSTOOD)
def test_a_loss_told_in_own_words_gets_the_grief_article(stack, language):
    [replies] = converse(stack.rasa_url, language, [ASK[language]["grief"]])
    assert article_title(language, "grief") in texts(replies)
    assert "{" not in texts(replies), "every placeholder is filled"


@pytest.mark.parametrize("language", UNDERSTOOD)
def test_asking_about_sleep_in_own_words_serves_the_article_in_that_language(stack, language):
    [replies] = converse(stack.rasa_url, language, [ASK[language]["sleep"]])
    assert article_title(language, "sleep") in texts(replies)
    assert len(replies) >= 4, "an article of several short parts, then the next step"
    assert all(len(reply.text) < 4096 for reply in replies)
    next_step = replies[-1]
    assert next_step.text == expected_text(language, "utter_next_step")
    assert [button.payload for button in next_step.buttons] == [
        "/ask_stress",
        "/book_session",
        "/request_human",
        "/show_menu",
    ]
    assert looks_written_in(language, next_step.buttons[0].title)


@pytest.mark.parametrize("language", UNDERSTOOD)
def test_the_next_step_button_leads_to_another_exercise(stack, language):
    first, second = converse(stack.rasa_url, language, [ASK[language]["stress"], "/ask_good_moments"])
    assert article_title(language, "stress") in texts(first)
    assert "{" not in texts(first), "every placeholder is filled"
    assert article_title(language, "good_moments") in texts(second)


@pytest.mark.parametrize("language", UNDERSTOOD)
def test_booking_gives_the_link_and_what_to_expect(stack, language):
    [replies] = converse(stack.rasa_url, language, [ASK[language]["book"]])
    booking_url = load_organisation().booking_url_for(language)
    link, offer = replies
    assert link.text == expected_text(language, "utter_book_session")
    assert booking_url in link.text
    assert offer.text == expected_text(language, "utter_offer_booking_request")
    assert [button.payload for button in offer.buttons] == ["/request_booking"], "or ask for a talk in the chat"


@pytest.mark.parametrize("language", UNDERSTOOD)
def test_naming_a_language_switches_to_it_for_this_and_later_replies(stack, language):
    target = "ar" if language == "es" else "es"
    switched, later = converse(stack.rasa_url, language, [ASK[language]["switch"], "/ask_hope"])
    assert texts(switched) == expected_text(target, "utter_language", 0, language_name=native_name(target))
    assert article_title(target, "hope") in texts(later)


def test_the_language_menu_lists_every_language_in_its_own_script(stack):
    menu, chosen, greeting = converse(stack.rasa_url, "en", ["/language", "/language fa", "hello"])
    assert [title for title, _ in buttons(menu)] == [native_name(code) for code in SUPPORTED]
    assert native_name("fa") in texts(chosen)
    assert looks_written_in("fa", texts(greeting))


@pytest.mark.parametrize("language", UNDERSTOOD)
def test_two_misunderstood_messages_in_a_row_offer_a_volunteer(stack, language):
    # Ge'ez and Chinese letters mixed ("hello"): no language to recognise, and nothing Rasa's
    # intent model can read (the intent net's languages: test_reply_language.py).
    first, second = converse(stack.rasa_url, language, ["ሰላም 你好", "你好 ሰላም"])
    assert texts(first) == expected_text(language, "utter_fallback", 1)
    assert "/ask_sleep" in [payload for _, payload in buttons(first)]
    assert texts(second) == expected_text(language, "utter_fallback", 0)
    assert [payload for _, payload in buttons(second)] == ["/book_session", "/show_menu"]


@pytest.mark.parametrize(("message", "named"), [("ሰላም እንዴት ነህ", "አማርኛ"), ("我睡不着", ""), ("მე ვერ ვიძინებ", "")])
def test_a_message_in_a_language_the_bot_does_not_speak_gets_english_dutch_and_the_language_menu(stack, message, named):
    # Amharic, Chinese, Georgian: the bot says so, naming the language in its own
    # script when it knows it, and offers the languages it speaks.
    [replies] = converse(stack.rasa_url, "en", [message])
    [reply] = replies
    english = f"I cannot write in {named} yet." if named else "I cannot write in this language yet."
    assert reply.text.startswith(english)
    assert ("Ik kan nog niet in het " + named) in reply.text if named else "Ik kan nog niet in deze taal" in reply.text
    assert [title for title, _ in buttons(replies)] == [native_name(code) for code in SUPPORTED]


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "which pills should I take for my nerves"),
        ("nl", "welke pillen moet ik slikken voor mijn zenuwen"),
        ("ar", "شو الدوا اللي لازم آخده للأعصاب"),
        ("es", "qué pastillas tomo para los nervios"),
    ],
)
def test_medication_questions_get_a_kind_out_of_scope_answer(stack, language, message):
    [replies] = converse(stack.rasa_url, language, [message])
    assert texts(replies) == expected_text(language, "utter_out_of_scope")


@pytest.mark.parametrize(
    ("language", "message"), [("en", "wait, am I talking to a real human?"), ("uk", "стоп, я говорю з живою людиною?")]
)
def test_the_bot_says_honestly_that_it_is_automated(stack, language, message):
    [replies] = converse(stack.rasa_url, language, [message])
    assert texts(replies) == expected_text(language, "utter_iamabot")


def test_privacy_answer_names_what_is_not_shared(stack, language):
    [replies] = converse(stack.rasa_url, language, ["/privacy"])
    assert texts(replies) == expected_text(language, "utter_privacy")
    assert "IND" in texts(replies) and "COA" in texts(replies)


@pytest.mark.parametrize("language", UNDERSTOOD)
def test_group_programmes_are_found_with_two_questions_in_the_persons_language(stack, language):
    asked, where, who = converse(
        stack.rasa_url,
        language,
        [
            ASK[language]["groups"],
            '/ask_group_programmes{"place":"azc"}',
            '/ask_group_programmes{"place":"azc","who":"parent"}',
        ],
    )
    assert [button.payload for button in asked[-1].buttons] == [
        '/ask_group_programmes{"place":"azc"}',
        '/ask_group_programmes{"place":"home"}',
        '/ask_group_programmes{"place":"any"}',
    ]
    assert looks_written_in(language, asked[-1].text)
    assert '/ask_group_programmes{"place":"azc","who":"parent"}' in [button.payload for button in where[-1].buttons]
    found = texts(who)
    assert found.count("👥 ") >= 1 and "{" not in found
    assert looks_written_in(language, who[0].text)
    assert "/book_session" in [button.payload for button in who[-1].buttons]
