"""Privacy as the person meets it on Telegram: /privacy explains, /delete erases after a confirmation,
and no message text or Telegram id ever reaches a log."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from bot.core.identity import pseudonym
from tests.helpers import bot_on_standin, keyboard_of

PERSON = 901
WORDS = "my neighbour Karim keeps me awake"  # text that must never reach a log


@pytest.fixture(scope="module")
def chat(stack):
    with bot_on_standin(stack) as standin:
        yield standin
    for log in (standin.bot.log.buffer, *(path.read_text() for path in (stack.run_dir / "logs").glob("*.log"))):
        assert WORDS not in log, "message text reached a log"
        assert str(PERSON) not in log, "a Telegram id reached a log"


def rows(stack, query: str, *args) -> list[tuple]:
    with sqlite3.connect(stack.database_url.removeprefix("sqlite:///")) as db:
        return db.execute(query, args).fetchall()


def test_privacy_explains_what_is_kept_for_how_long_and_who_sees_it(chat):
    chat.send_text(PERSON + 1, "/privacy")
    [text] = chat.wait_for(lambda: chat.texts_to(PERSON + 1))
    assert "30 days" in text, "the retention period the Rasa server was started with (the default)"
    assert "Only coordinators" in text and "COA, IND" in text and "/delete" in text
    assert "emergency number 112" in text, "when the one exception to 'nothing is shared' applies"
    assert "coordinators' chat" in text and "may already have read them" in text


def test_delete_asks_first_then_erases_everything_and_the_bots_messages(chat, stack):
    chat.send_text(PERSON, "/language nl")
    chat.send_text(PERSON, WORDS)
    chat.wait_for(lambda: len(chat.texts_to(PERSON)) >= 2)
    key = pseudonym("telegram", PERSON, "s")
    assert rows(stack, "SELECT language FROM users WHERE key = ?", key) == [("nl",)]
    assert rows(stack, "SELECT count(*) FROM events WHERE sender_id = ?", key)[0][0] > 0
    sent_before = [call.result["message_id"] for call in chat.calls_to("sendMessage", PERSON) if call.accepted]

    chat.send_text(PERSON, "/delete")
    question = chat.wait_for(
        lambda: [c for c in chat.calls_to("sendMessage", PERSON) if "verwijder" in c.params["text"].lower()]
    )[-1]
    assert [payload for _, payload in keyboard_of(question)] == ["/erase_confirmed", "/erase_cancelled"]
    chat.press(PERSON, question.message, "/erase_confirmed")

    done = chat.wait_for(lambda: [t for t in chat.texts_to(PERSON) if t.startswith("Klaar. Ik heb verwijderd:")])
    assert "ons gesprek" in done[-1] and "je taal en waar je woont" in done[-1]
    deleted = {call.params["message_id"] for call in chat.calls_to("deleteMessage", PERSON)}
    assert set(sent_before) <= {int(m) for m in deleted}, "the bot's earlier messages are deleted from the chat"
    assert rows(stack, "SELECT count(*) FROM users WHERE key = ?", key) == [(0,)]
    assert rows(stack, "SELECT count(*) FROM events WHERE sender_id = ? AND type_name = 'user'", key) == [(0,)]
    chat.send_text(PERSON, "/privacy")  # the bot forgot the chosen Dutch too: it answers in the app's language
    chat.wait_for(lambda: chat.texts_to(PERSON)[-1].startswith("Your privacy matters to us."))


def test_saying_no_deletes_nothing(chat, stack):
    chat.send_text(PERSON + 2, "/language es")
    chat.wait_for(lambda: chat.texts_to(PERSON + 2))
    chat.send_text(PERSON + 2, "please forget me and delete my data")
    question = chat.wait_for(
        lambda: [c for c in chat.calls_to("sendMessage", PERSON + 2) if keyboard_of(c) and "borre" in c.params["text"]]
    )[-1]
    chat.press(PERSON + 2, question.message, "/erase_cancelled")
    chat.wait_for(lambda: "No se ha borrado nada." in chat.texts_to(PERSON + 2))
    key = pseudonym("telegram", PERSON + 2, "s")
    assert rows(stack, "SELECT language FROM users WHERE key = ?", key) == [("es",)]
    assert not chat.calls_to("deleteMessage", PERSON + 2)


def test_rasa_keeps_its_conversations_in_the_shared_database(stack):
    """The tracker store is SQL: what Rasa knows about a conversation is in the shared database."""
    sender = pseudonym("telegram", PERSON + 3, "s")
    httpx.post(f"{stack.rasa_url}/webhooks/bot/webhook", json={"sender": sender, "message": "/ask_sleep"}, timeout=30)
    assert rows(stack, "SELECT count(*) FROM events WHERE sender_id = ?", sender)[0][0] > 0
