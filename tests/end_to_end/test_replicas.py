"""Scaled out for real on loopback: two bot replicas in webhook mode, two Rasa servers and two action
servers, each pair behind nginx, sharing PostgreSQL and Redis (tests/replicas.py). 200 chats write
while one bot replica and then one Rasa server are killed; the stand-in delivers webhooks again
until they are answered, as Telegram does.

Every chat must read exactly what a chat on a quiet system reads, in order: nothing lost, nothing
twice. Every crisis is answered within CRISIS_BUDGET, and the coordinators get one alert for each.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter

import httpx
import pytest

from bot.core.identity import pseudonym
from tests.helpers import GROUP, TOKEN, alerts, coordinator_settings
from tests.replicas import PSEUDONYM_SECRET, RASA_TOKEN, SCRIPTS, reference_replies, script_of, start_replicas
from tests.telegram_standin import TelegramStandIn

CHATS = range(5000, 5200)
#: Each step's 200 messages arrive over four seconds: as fast as one machine answers (about 50 a
#: second, bench/telegram_latency.py), so losing a replica halves the capacity under full load.
OFFERED_PER_SECOND = 50
#: A crisis reply reaches the person within this, also when the replica that had the message died
#: (its claim lapses after deliveries.CLAIM_SECONDS, then Telegram's next delivery is handled).
CRISIS_BUDGET = 10.0
#: The step during which a bot replica is killed, and the one during which a Rasa server is.
KILL_BOT_AT, KILL_RASA_AT = 1, 2


@pytest.fixture(scope="module")
def replicas():
    standin = TelegramStandIn(TOKEN)
    standin.start()
    # No reminder during the run: what each chat reads would then depend on how long it waited.
    started = start_replicas(standin, **{**coordinator_settings(), "ESCALATION_REMIND_AFTER": "3600"})
    try:
        yield started
    finally:
        started.stop()
        standin.stop()


def heard_by_rasa(replicas, chat: int) -> list[tuple[str, str]]:
    """The user messages in Rasa's conversation with this chat: (message id, intent)."""
    key = pseudonym("telegram", chat, PSEUDONYM_SECRET)
    tracker = httpx.get(
        f"{replicas.pools['rasa'].url}/conversations/{key}/tracker", params={"token": RASA_TOKEN}, timeout=30
    ).json()
    return [
        (event.get("message_id"), event.get("parse_data", {}).get("intent", {}).get("name"))
        for event in tracker["events"]
        if event["event"] == "user"
    ]


def difference(expected: list[str], read: list[str]) -> str:
    if len(read) > len(expected) and all(text in expected for text in read):
        return "a message twice"
    if len(read) < len(expected) and all(text in expected for text in read):
        return "a message missing"
    return "other texts"


def test_two_replicas_of_each_lose_no_message_and_answer_none_twice_while_one_of_each_dies(replicas):
    standin = replicas.standin
    [registered] = standin.calls_to("setWebhook")[-1:]
    assert registered.params["url"] == replicas.webhook_url
    reference = reference_replies(standin, first_chat=4000)
    assert all(all(step for step in steps) for steps in reference.values()), "every step of every script is answered"
    expected = {chat: [] for chat in CHATS}
    crisis_sent: dict[int, float] = {}
    for step in range(3):
        started = time.monotonic()
        for index, chat in enumerate(CHATS):
            name = script_of(chat)
            expected[chat] += reference[name][step]
            if name == "crisis" and step == 1:
                crisis_sent[chat] = time.monotonic()
            standin.send_text(chat, SCRIPTS[name][step])
            if index == len(CHATS) // 3 and step in (KILL_BOT_AT, KILL_RASA_AT):
                # A third of the step's messages sent, and the replicas busy with them.
                replicas.kill(replicas.bots[0] if step == KILL_BOT_AT else replicas.rasa[0])
            time.sleep(max(0.0, started + (index + 1) / OFFERED_PER_SECOND - time.monotonic()))
        standin.wait_for_messages({chat: len(expected[chat]) for chat in CHATS}, timeout=240)
    time.sleep(3)  # anything sent twice would arrive now

    # A message on its way to Telegram at the very moment its replica died may come twice (the
    # replica that takes over cannot know it arrived); it is never lost. At most one per update
    # taken over.
    taken_over = sum(int(n) for bot in replicas.bots for n in re.findall(r"Took over (\d+) update", bot.log.buffer))
    repeated, wrong = 0, {}
    for chat in CHATS:
        read = standin.texts_to(chat)
        once = [text for index, text in enumerate(read) if index == 0 or text != read[index - 1]]
        repeated += len(read) - len(once)
        if once != expected[chat]:
            wrong[chat] = read
    if wrong:
        kinds = Counter(difference(expected[chat], texts) for chat, texts in wrong.items())
        examples = {}
        for chat, texts in wrong.items():
            examples.setdefault(script_of(chat), (chat, texts))
        lines = [
            f"chat {chat} ({name}): expected {[t[:40] for t in expected[chat]]}, read {[t[:40] for t in texts]}; "
            f"Rasa heard {heard_by_rasa(replicas, chat)}"
            for name, (chat, texts) in examples.items()
        ]
        pytest.fail(
            f"{len(wrong)} chats read something else than on a quiet system: {dict(kinds)}\n" + "\n".join(lines)
        )
    assert repeated <= taken_over, f"{repeated} messages came twice, with {taken_over} updates taken over"
    print(f"\n{taken_over} updates taken over from the killed replica; {repeated} messages arrived twice")

    waits = []
    for chat, sent in crisis_sent.items():
        first = next(call for call in standin.calls_to("sendMessage", chat) if "113" in call.params.get("text", ""))
        waits.append(first.at - sent)
    assert max(waits) <= CRISIS_BUDGET, f"a crisis reply took {max(waits):.1f} s"
    print(f"\n{len(waits)} crisis replies: median {statistics.median(waits):.2f} s, worst {max(waits):.2f} s")

    crisis_chats = [chat for chat in CHATS if script_of(chat) == "crisis"]
    posted = alerts(standin)
    assert len(posted) == len(crisis_chats) + 1, "one alert per crisis chat (and the reference chat's)"
    assert all(call.params["chat_id"] in (GROUP, str(GROUP)) for call in posted)
    redelivered = [update for update, statuses in standin.deliveries.items() if len(statuses) > 1]
    print(f"{len(redelivered)} updates were delivered more than once; each was handled once")


def test_rasa_answers_a_message_it_had_before_from_the_conversation_and_hears_it_once(stack):
    """A replica sent the message to Rasa and died before passing the answer on; the next one sends
    it again, marked as redelivered: the same answer, and the conversation has the message once."""
    sender, url = "replica-redelivery", f"{stack.rasa_url}/webhooks/bot/webhook"
    body = {"sender": sender, "message": "I can't sleep", "metadata": {"language": "en"}, "message_id": "tg-77-1"}
    first = httpx.post(url, json=body, timeout=30).json()
    again = httpx.post(url, json={**body, "redelivered": True}, timeout=30).json()
    assert first and again == first
    tracker = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.auth_token}).json()
    heard = [event for event in tracker["events"] if event["event"] == "user"]
    assert [event["message_id"] for event in heard] == ["tg-77-1"]
    new = httpx.post(url, json={**body, "message_id": "tg-78-1", "redelivered": True}, timeout=30).json()
    assert new, "a redelivered message Rasa never had is handled as usual"
