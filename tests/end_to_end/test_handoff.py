"""The coordinator hand-off end to end: the bot on the Telegram stand-in, the real Rasa and action
server, and the coordinators' group. Alerts, Claim → relay both ways → Release, reminders, races,
refusals, Telegram failing and a restart with an open escalation."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import httpx
import pytest

from bot.core.identity import pseudonym
from tests.conversation import article_title
from tests.helpers import (
    ANNA,
    BOB,
    GROUP,
    REMIND_AFTER,
    ROOT,
    STRANGER,
    alerts,
    base_env,
    bot_on_standin,
    coordinator_settings,
    escalation_id,
    keyboard_of,
    start_bot,
    stop_bot,
    wait_for_alert,
)
from tests.telegram_standin import Call, TelegramStandIn


@pytest.fixture(scope="module")
def group(stack):
    with bot_on_standin(stack, **coordinator_settings()) as standin:
        yield standin


def escalations_cli(stack, *args: str) -> subprocess.CompletedProcess:
    env = base_env(DATABASE_URL=stack.database_url, RUN_DIR=str(stack.run_dir))
    return subprocess.run(
        [sys.executable, "-m", "bot", "escalations", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def answers_to_buttons(standin: TelegramStandIn) -> list[str]:
    return [call.params.get("text", "") for call in standin.calls_to("answerCallbackQuery")]


def test_an_acute_message_gets_the_crisis_reply_and_an_urgent_alert_in_the_group(group, stack):
    group.send_text(801, "I want to kill myself tonight")
    texts = group.wait_for(lambda: len(group.texts_to(801)) >= 5 and group.texts_to(801))
    assert "I have let a coordinator of the programme know" in texts[1]
    assert any("113" in text for text in texts)
    alert = wait_for_alert(group, "I want to kill myself tonight")
    first_line = alert.params["text"].split("\n")[0]
    assert "🚨 URGENT" in first_line and "acute risk" in first_line
    assert "Language: English (en)" in alert.params["text"]
    assert [title for title, _ in keyboard_of(alert)] == ["✋ Claim", "✅ Resolve", "📝 Add note"]
    # The escalation was stored: the command-line log shows it, without any Telegram id or name.
    listed = json.loads(escalations_cli(stack, "list", "--format", "json").stdout)
    row = next(item for item in listed if item["id"] == escalation_id(alert))
    assert (row["level"], row["status"]) == ("acute", "open")
    assert "801" not in json.dumps(listed) and "Test" not in json.dumps(listed)


def test_claim_connects_a_coordinator_both_ways_and_release_gives_the_chat_back(group, stack):
    group.send_text(802, "can I talk to a real person please")
    group.wait_for(lambda: any("I have asked a coordinator" in text for text in group.texts_to(802)))
    alert = wait_for_alert(group, "asked for a person")
    number = escalation_id(alert)

    group.press(ANNA, alert.message, f"esc:claim:{number}", first_name="Anna")
    joined = group.wait_for(lambda: [t for t in group.texts_to(802) if "has joined this chat" in t])
    assert joined
    edited = group.wait_for(
        lambda: [c for c in group.calls_to("editMessageText", GROUP) if f"#{number} " in c.params["text"]]
    )
    assert "Claimed by Anna" in edited[-1].params["text"]
    sender = pseudonym("telegram", 802, "s")

    # The person writes: it reaches the group, not Rasa.
    before = len(group.texts_to(802))
    group.send_text(802, "I feel so alone here")
    relayed = group.wait_for(
        lambda: [
            c for c in group.calls_to("sendMessage", GROUP) if c.params["text"] == f"#{number} ▸\nI feel so alone here"
        ]
    )
    # The coordinator answers by replying to it: it reaches the person.
    group.send_group_text(GROUP, ANNA, "I am here with you. Shall we talk?", reply_to=relayed[0].message)
    group.wait_for(lambda: "🙋 I am here with you. Shall we talk?" in group.texts_to(802))
    # An old button pressed meanwhile also reaches the coordinator, by its title, not Rasa.
    old = {"message_id": 9, "date": 0, "chat": {"id": 802, "type": "private"}, "text": "…",
           "reply_markup": {"inline_keyboard": [[{"text": "😴 Sleep", "callback_data": "/ask_sleep"}]]}}  # fmt: skip
    group.press(802, old, "/ask_sleep")
    group.wait_for(
        lambda: any(c.params["text"] == f"#{number} ▸\n[😴 Sleep]" for c in group.calls_to("sendMessage", GROUP))
    )
    assert len(group.texts_to(802)) == before + 1, "the bot itself said nothing meanwhile"
    tracker = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.auth_token}).json()
    said_to_rasa = [event.get("text") for event in tracker["events"] if event["event"] == "user"]
    assert "I feel so alone here" not in said_to_rasa, "what the person tells a coordinator never reaches Rasa"
    assert tracker["paused"] is False, "Rasa is never paused, so a failed resume cannot leave anyone unanswered"
    # /privacy is for the bot, even now: it answers, and the coordinator does not see the command.
    group.send_text(802, "/privacy")
    group.wait_for(lambda: any(text.startswith("Your privacy matters") for text in group.texts_to(802)))
    assert not any(c.params["text"] == f"#{number} ▸\n/privacy" for c in group.calls_to("sendMessage", GROUP))

    # Release: Rasa takes over again and greets the person back.
    group.press(ANNA, alert.message, f"esc:release:{number}", first_name="Anna")
    group.wait_for(lambda: any("left the chat" in text for text in group.texts_to(802)))
    tracker = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.auth_token}).json()
    assert tracker["paused"] is False
    group.send_text(802, "I can't sleep at night")
    group.wait_for(lambda: any(text.startswith(article_title("en", "sleep")) for text in group.texts_to(802)))
    history = escalations_cli(stack, "show", str(number), "--format", "json")
    kinds = [event["kind"] for event in json.loads(history.stdout)["history"]]
    assert kinds[:4] == ["created", "alerted", "claimed", "released"]


def test_nobody_claims_in_time_so_the_alert_comes_again_and_the_person_is_told(group):
    group.send_text(803, "I have not slept for days and I cannot stop crying")
    alert = wait_for_alert(group, "I cannot stop crying")
    number = escalation_id(alert)
    overdue = group.wait_for(
        lambda: [c for c in alerts(group, "OVERDUE") if escalation_id(c) == number], timeout=REMIND_AFTER + 30
    )
    assert "🚨" not in overdue[0].params["text"].split("\n")[0], "severe distress is not marked urgent"
    texts = group.wait_for(lambda: [t for t in group.texts_to(803) if "as soon as possible" in t])
    assert texts
    # And the crisis numbers again, right after it (the two messages arrive one after the other).
    group.wait_for(lambda: any("113" in text for text in group.texts_to(803)[-2:]))


def test_two_coordinators_pressing_claim_at_once_exactly_one_wins(group):
    group.send_text(804, "I have a rope and I am going to use it")
    alert = wait_for_alert(group, "I have a rope")
    number = escalation_id(alert)
    answered = len(group.calls_to("answerCallbackQuery"))
    threads = [
        threading.Thread(
            target=group.press, args=(who, alert.message, f"esc:claim:{number}"), kwargs={"first_name": name}
        )
        for who, name in ((ANNA, "Anna"), (BOB, "Bob"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    group.wait_for(lambda: len(group.calls_to("answerCallbackQuery")) >= answered + 2)
    answers = answers_to_buttons(group)[answered:]
    assert sum("is yours" in answer for answer in answers) == 1
    assert sum("already claimed" in answer for answer in answers) == 1
    assert len([t for t in group.texts_to(804) if "has joined this chat" in t]) == 1


def test_someone_who_is_not_a_coordinator_cannot_claim_and_is_audited(group, stack):
    group.send_text(805, "I want to end my life")
    alert = wait_for_alert(group, "I want to end my life")
    number = escalation_id(alert)
    group.press(STRANGER, alert.message, f"esc:claim:{number}", first_name="Eve")
    refusal = group.wait_for(
        lambda: [a for a in group.calls_to("answerCallbackQuery") if "Only coordinators" in a.params.get("text", "")]
    )
    assert refusal[-1].params.get("show_alert") in (True, "true")
    group.send_group_text(GROUP, STRANGER, "/escalations")
    group.wait_for(lambda: any("Only coordinators" in t for t in group.texts_to(GROUP)))
    listed = json.loads(escalations_cli(stack, "show", str(number), "--format", "json").stdout)
    assert listed["status"] == "open", "the refused claim changed nothing"
    import sqlite3

    with sqlite3.connect(stack.database_url.removeprefix("sqlite:///")) as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit")]
    assert "button claim" in actions and "/escalations" in actions


def test_coordinators_list_and_read_escalations_in_the_group(group):
    group.send_text(806, "I don't want to live anymore")
    alert = wait_for_alert(group, "I don't want to live anymore")
    number = escalation_id(alert)
    group.send_group_text(GROUP, BOB, "/escalations open")
    listing = group.wait_for(lambda: [t for t in group.texts_to(GROUP) if t.startswith("Escalations (open)")])
    assert f"#{number} · open · acute risk" in listing[-1]
    group.send_group_text(GROUP, BOB, f"/escalation {number}")
    shown = group.wait_for(lambda: [t for t in group.texts_to(GROUP) if t.startswith(f"#{number} · open")])
    assert "created" in shown[-1] and "alerted" in shown[-1]
    # Add note → reply to the prompt → saved in the history.
    group.press(BOB, alert.message, f"esc:note:{number}", first_name="Bob")
    prompt = group.wait_for(
        lambda: [c for c in group.calls_to("sendMessage", GROUP) if c.params["text"].startswith(f"#{number} ✎")]
    )
    group.send_group_text(GROUP, BOB, "Called the person's GP together", reply_to=prompt[-1].message)
    group.wait_for(lambda: f"#{number} 📝 Note saved." in group.texts_to(GROUP))
    group.press(BOB, alert.message, f"esc:resolve:{number}", first_name="Bob")
    group.wait_for(lambda: any("Resolved by Bob" in c.params["text"] for c in group.calls_to("editMessageText", GROUP)))


def test_an_alert_telegram_refuses_is_sent_once_it_recovers_and_the_person_is_answered_at_once(group):
    group.fail("sendMessage", times=8, status=502, chat_id=GROUP)
    group.send_text(807, "tonight I will take all my pills")
    texts = group.wait_for(lambda: len(group.texts_to(807)) >= 5 and group.texts_to(807), 15)
    assert any("113" in text for text in texts), "the person's crisis reply does not wait for the group"
    alert = wait_for_alert(group, "take all my pills", timeout=90)
    first_alerts = [call for call in alerts(group, "take all my pills") if "OVERDUE" not in call.params["text"]]
    assert len(first_alerts) == 1, "sent once, not once per retry"
    assert escalation_id(alert) > 0


def test_a_restart_with_an_open_escalation_loses_nothing(group, stack):
    group.fail("sendMessage", times=200, status=502, chat_id=GROUP)  # the group is unreachable for now
    group.send_text(808, "I am going to jump off the bridge")
    group.wait_for(lambda: len(group.texts_to(808)) >= 5, 15)
    stop_bot(group.bot)
    group.faults.clear()
    group.bot = start_bot(group, stack, **coordinator_settings())
    alert = wait_for_alert(group, "jump off the bridge", timeout=60)
    number = escalation_id(alert)
    group.press(ANNA, alert.message, f"esc:claim:{number}", first_name="Anna")
    group.wait_for(lambda: any("has joined this chat" in text for text in group.texts_to(808)))


def claim_and_relay(group: TelegramStandIn, person: int, number: int, alert: Call, words: str) -> Call:
    """Anna claims the alert and the person writes `words`; returns the post relaying them."""
    group.press(ANNA, alert.message, f"esc:claim:{number}", first_name="Anna")
    group.wait_for(lambda: [t for t in group.texts_to(person) if "has joined this chat" in t])
    group.send_text(person, words)
    [relayed] = group.wait_for(lambda: [c for c in group.calls_to("sendMessage", GROUP) if words in c.params["text"]])
    return relayed


def erase_in_chat(group: TelegramStandIn, person: int) -> None:
    """/delete (to the bot, not relayed to the coordinator), then the confirming button."""
    group.send_text(person, "/delete")
    question = group.wait_for(
        lambda: [
            c for c in group.calls_to("sendMessage", person) if "/erase_confirmed" in dict(keyboard_of(c)).values()
        ]
    )[-1]
    group.press(person, question.message, "/erase_confirmed")


def test_erasing_while_talking_to_a_coordinator_clears_the_persons_words_from_the_group(group):
    person = 871
    group.send_text(person, "I have not slept for a week and I cannot stop shaking")
    alert = wait_for_alert(group, "I cannot stop shaking")
    number = escalation_id(alert)
    relayed = claim_and_relay(group, person, number, alert, "my room is number 14 in the azc")
    erase_in_chat(group, person)

    deleted = group.wait_for(
        lambda: [
            c
            for c in group.calls_to("deleteMessage", GROUP)
            if str(c.params["message_id"]) == str(relayed.result["message_id"])
        ]
    )
    assert deleted
    # The alert is shown again without the person's words, and keeps its buttons.
    shown = group.wait_for(
        lambda: [
            c
            for c in group.calls_to("editMessageText", GROUP)
            if f"#{number} " in c.params["text"] and "cannot stop shaking" not in c.params["text"]
        ]
    )
    assert keyboard_of(shown[-1]), "and keeps its buttons"
    assert not any("/delete" in c.params["text"] for c in group.calls_to("sendMessage", GROUP))


def test_only_the_coordinator_who_claimed_writes_to_the_person_until_a_colleague_takes_over(group):
    person = 872
    group.send_text(person, "I keep seeing the soldiers from the checkpoint, flashbacks all day, I cannot cope")
    alert = wait_for_alert(group, "soldiers from the checkpoint")
    number = escalation_id(alert)
    group.press(ANNA, alert.message, f"esc:claim:{number}", first_name="Anna")
    group.wait_for(lambda: [t for t in group.texts_to(person) if "has joined this chat" in t])
    group.send_text(person, "hello, are you there?")
    [relayed] = group.wait_for(
        lambda: [
            c for c in group.calls_to("sendMessage", GROUP) if c.params["text"] == f"#{number} ▸\nhello, are you there?"
        ]
    )

    group.send_group_text(GROUP, BOB, "Hi, this is Bob", reply_to=relayed.message, first_name="Bob")
    group.wait_for(
        lambda: [
            c
            for c in group.calls_to("sendMessage", GROUP)
            if f"#{number} is claimed by a colleague" in c.params["text"]
        ]
    )
    assert "🙋 Hi, this is Bob" not in group.texts_to(person)

    claimed = [c for c in group.calls_to("editMessageText", GROUP) if f"#{number} " in c.params["text"]][-1]
    assert ("🤝 Take over", f"esc:takeover:{number}") in keyboard_of(claimed)
    group.press(BOB, alert.message, f"esc:takeover:{number}", first_name="Bob")
    group.wait_for(
        lambda: [c for c in group.calls_to("editMessageText", GROUP) if "Taken over by Bob" in c.params["text"]]
    )
    group.send_group_text(GROUP, BOB, "Hi, this is Bob", reply_to=relayed.message, first_name="Bob")
    group.wait_for(lambda: "🙋 Hi, this is Bob" in group.texts_to(person))
    group.send_group_text(GROUP, BOB, f"/escalation {number}", first_name="Bob")
    group.wait_for(lambda: [c for c in group.calls_to("sendMessage", GROUP) if "taken_over" in c.params["text"]])


def test_after_48_hours_the_persons_relayed_words_are_overwritten_since_telegram_refuses_deleting(group):
    person = 873
    group.send_text(person, "my heart races every night, I have panic attacks and cannot breathe")
    alert = wait_for_alert(group, "my heart races every night")
    number = escalation_id(alert)
    relayed = claim_and_relay(group, person, number, alert, "I live on the second floor, door 7")
    group.advance_clock(49 * 3600)
    try:
        erase_in_chat(group, person)
        overwritten = group.wait_for(
            lambda: [
                c
                for c in group.calls_to("editMessageText", GROUP)
                if str(c.params["message_id"]) == str(relayed.result["message_id"])
            ]
        )
    finally:
        group.advance_clock(-49 * 3600)
    assert overwritten[-1].params["text"] == "🗑️ Erased at the person's request."
    refused = [c for c in group.calls_to("deleteMessage", GROUP) if not c.accepted]
    assert refused, "Telegram refused to delete it first"


def test_report_in_the_group_posts_the_programmes_picture_as_a_photo(group):
    group.send_text(807, "I want to end my life")
    wait_for_alert(group, "I want to end my life")
    group.send_group_text(GROUP, BOB, "/report 4")
    [photo] = group.wait_for(lambda: group.calls_to("sendPhoto", GROUP))
    assert photo.accepted and photo.params["photo"][:8] == b"\x89PNG\r\n\x1a\n"
    caption = photo.params["caption"]
    assert caption.startswith("📊 ") and "escalations" in caption and "booking requests" in caption
