"""The Telegram front end end to end: the real python-telegram-bot client in `python -m bot run`,
a Telegram Bot API stand-in over HTTP, and the real Rasa and action servers."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time

import httpx
import pytest

from bot.core.i18n import Catalogs
from bot.core.languages import SUPPORTED
from bot.core.safety.responses import check_in as checking_in
from bot.telegram_front.sending import split_message
from tests.conversation import article_title, expected_text
from tests.helpers import (
    ROOT,
    TOKEN,
    base_env,
    free_port,
    keyboard_of,
    pressed,
    start_bot,
    start_rasa,
    stop_bot,
)
from tests.telegram_standin import TelegramStandIn


def test_commands_are_registered_in_every_language(telegram):
    calls = telegram.wait_for(
        lambda: len(telegram.calls_to("setMyCommands")) >= len(SUPPORTED) and telegram.calls_to("setMyCommands")
    )
    assert {call.params.get("language_code") for call in calls} == {None, *SUPPORTED} - {"en"}
    arabic = next(call for call in calls if call.params.get("language_code") == "ar")
    assert [command["command"] for command in arabic.params["commands"]][:2] == ["start", "help"]


def test_start_greets_in_the_telegram_language_with_a_keyboard(telegram):
    telegram.send_text(101, "/start", language_code="ar")
    [greeting] = telegram.wait_for(lambda: telegram.calls_to("sendMessage", 101))
    assert greeting.params["text"] == expected_text("ar", "utter_greet", programme_name="Emotional Support & Wellness")
    assert ("😴 النوم", "/ask_sleep") in keyboard_of(greeting)


def test_a_button_press_is_answered_its_keyboard_removed_and_its_payload_sent(telegram):
    telegram.send_text(102, "/start", language_code="ar")
    [greeting] = telegram.wait_for(lambda: telegram.calls_to("sendMessage", 102))
    message = {"message_id": 5, "date": 0, "chat": {"id": 102, "type": "private"}, "text": greeting.params["text"]}
    telegram.press(102, message, "/ask_sleep")
    telegram.wait_for(lambda: len(telegram.calls_to("sendMessage", 102)) >= 5)
    assert telegram.calls_to("answerCallbackQuery")
    assert any(str(c.params.get("chat_id")) == "102" for c in telegram.calls_to("editMessageReplyMarkup"))
    texts = telegram.wait_for(
        lambda: (t := telegram.texts_to(102)) and t[-1] == expected_text("ar", "utter_next_step") and t
    )
    assert any(text.startswith(article_title("ar", "sleep")) for text in texts)


def test_a_voice_note_gets_a_kind_answer_and_the_topics(telegram):
    telegram.send_voice(103)
    texts = telegram.wait_for(lambda: len(telegram.texts_to(103)) >= 2 and telegram.texts_to(103))
    assert texts[0] == "I can only read text messages. Please write to me in words."
    assert keyboard_of(telegram.calls_to("sendMessage", 103)[-1])


def test_a_sticker_gets_the_same_kind_answer(telegram):
    telegram.send_sticker(104)
    [text] = telegram.wait_for(lambda: telegram.texts_to(104))
    assert text == "I can only read text messages. Please write to me in words."


def test_a_429_storm_delays_but_never_drops_or_reorders_replies(telegram):
    telegram.fail("sendMessage", times=3, status=429, retry_after=1)
    telegram.send_text(105, "I am very stressed")
    texts = telegram.wait_for(
        lambda: (t := telegram.texts_to(105)) and t[-1] == expected_text("en", "utter_next_step") and t, 90
    )
    delivered = [text for text in texts if text]
    assert delivered[0].startswith(article_title("en", "stress"))
    assert len(delivered) == len(dict.fromkeys(delivered)), "no reply is sent twice"


def test_server_errors_are_retried(telegram):
    telegram.fail("sendMessage", times=2, status=502)
    telegram.send_text(106, "thank you")
    [text] = telegram.wait_for(lambda: telegram.texts_to(106) and [t for t in telegram.texts_to(106) if t][-1:], 60)
    assert text == expected_text("en", "utter_you_are_welcome")


def test_group_chats_are_declined_politely(telegram):
    telegram.send_text(107, "/start", chat_type="group")
    [text] = telegram.wait_for(lambda: telegram.texts_to(-100))
    assert text == "I only talk in private chats. Please write to me directly."


def test_a_crisis_is_answered_in_the_persons_language_while_rasa_is_down():
    standin = TelegramStandIn(TOKEN)
    standin.start()
    process = start_bot(standin)
    try:
        standin.send_text(201, "میخوام بمیرم", language_code="fa")
        texts = standin.wait_for(lambda: len(standin.texts_to(201)) >= 4 and standin.texts_to(201))
        assert "112" in texts[1] and "113.nl" in texts[1]
        assert texts[0] == Catalogs().pgettext(
            "fa",
            "safety",
            "Thank you for telling me. I am glad you wrote. You matter, and you do not have to go through this alone.",
        )
        standin.send_text(201, "سلام")
        trouble = Catalogs().pgettext("fa", "bot", "I am having trouble right now. Please try again in a moment.")
        standin.wait_for(lambda: trouble in standin.texts_to(201))
    finally:
        stop_bot(process)
        standin.stop()


def test_a_malformed_token_stops_start_up_with_its_name():
    env = base_env(TELEGRAM_BOT_TOKEN="not-a-token", RASA_URL="http://127.0.0.1:1")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "TELEGRAM_BOT_TOKEN" in result.stderr


def test_on_telegram_the_bot_refuses_to_start_without_a_pseudonym_secret_and_says_how_to_make_one():
    env = base_env(TELEGRAM_BOT_TOKEN=TOKEN, RASA_URL="http://127.0.0.1:1")
    env.pop("PSEUDONYM_SECRET", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "PSEUDONYM_SECRET must be set" in result.stderr and "secrets.token_hex" in result.stderr


def test_long_replies_are_split_at_paragraphs_under_the_limit():
    paragraphs = [f"Paragraph {n}. " + "Word " * 190 for n in range(8)]  # about 8 × 970 characters
    text = "\n\n".join(paragraphs)
    pieces = split_message(text)
    assert len(text) > 6000 and len(pieces) == 2
    assert all(len(piece) <= 4096 for piece in pieces)
    assert all(piece.startswith("Paragraph") for piece in pieces)
    assert "".join(pieces).replace("\n\n", "") == text.replace("\n\n", "")


def test_one_endless_sentence_is_split_at_words():
    pieces = split_message("word " * 2000)
    assert all(len(piece) <= 4096 for piece in pieces) and " ".join(pieces).split() == ["word"] * 2000


def test_webhook_mode_registers_the_webhook_and_checks_the_secret(stack):
    standin = TelegramStandIn(TOKEN)
    standin.start()
    port, secret = free_port(), "s3cret-token-for-tests"
    url = f"http://127.0.0.1:{port}/telegram"
    process = start_bot(
        standin,
        stack,
        TELEGRAM_WEBHOOK_URL=url,
        TELEGRAM_WEBHOOK_SECRET=secret,
        TELEGRAM_WEBHOOK_PORT=str(port),
    )
    try:
        [registered] = standin.wait_for(lambda: standin.calls_to("setWebhook"))
        assert registered.params["url"] == url and registered.params["secret_token"] == secret
        refused = httpx.post(
            url, json=standin.text_update(301, "hello"), headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        )
        assert refused.status_code == 403
        accepted = httpx.post(
            url, json=standin.text_update(302, "hello"), headers={"X-Telegram-Bot-Api-Secret-Token": secret}
        )
        assert accepted.status_code == 200
        [text] = standin.wait_for(lambda: standin.texts_to(302))
        assert text.startswith("Hello, welcome")
        assert standin.texts_to(301) == []
    finally:
        stop_bot(process)
        standin.stop()


def test_a_restart_in_mid_conversation_loses_no_message_and_answers_none_twice(stack):
    standin = TelegramStandIn(TOKEN)
    standin.start()
    first = start_bot(standin, stack)
    standin.send_text(401, "hello")
    time.sleep(0.1)  # fetched and being handled: Rasa takes longer than this
    stop_bot(first)
    standin.send_text(401, "thank you")  # arrives while the bot is down
    second = start_bot(standin, stack)
    try:
        standin.wait_for(lambda: expected_text("en", "utter_you_are_welcome") in standin.texts_to(401), 60)
        texts = standin.texts_to(401)
        assert sum(text.startswith("Hello, welcome") for text in texts) == 1
        assert texts.count(expected_text("en", "utter_you_are_welcome")) == 1
    finally:
        stop_bot(second)
        standin.stop()


def test_the_chosen_language_and_a_recent_crisis_survive_a_restart(stack):
    standin = TelegramStandIn(TOKEN)
    standin.start()
    first = start_bot(standin, stack)
    standin.send_text(402, "/language uk")
    standin.wait_for(lambda: standin.texts_to(402))
    standin.send_text(402, "я хочу померти")
    standin.wait_for(lambda: any("113" in text for text in standin.texts_to(402)))
    stop_bot(first)
    second = start_bot(standin, stack)
    try:
        standin.send_text(402, "/start", language_code="en")
        greeting = expected_text("uk", "utter_greet", programme_name="Emotional Support & Wellness")
        standin.wait_for(lambda: greeting in standin.texts_to(402), 60)
        check_in = checking_in(Catalogs(), "uk")[0][0].split(".")[0]
        for message in ("дякую", "привіт", "дякую ще раз"):
            standin.send_text(402, message)
        standin.wait_for(lambda: any(text.startswith(check_in) for text in standin.texts_to(402)), 60)
    finally:
        stop_bot(second)
        standin.stop()


def test_dropped_connections_are_retried(telegram):
    telegram.fail("sendMessage", times=2, status=0)
    telegram.send_text(108, "thanks a lot")
    standin_texts = telegram.wait_for(lambda: telegram.texts_to(108), 60)
    assert standin_texts == [expected_text("en", "utter_you_are_welcome")]


def test_start_choose_arabic_ask_for_sleep_get_the_arabic_article_and_next_step(telegram):
    telegram.send_text(109, "/start")
    telegram.wait_for(lambda: telegram.texts_to(109))
    pressed(telegram, 109, "/change_language")
    menu = telegram.wait_for(
        lambda: len(telegram.calls_to("sendMessage", 109)) >= 2 and telegram.calls_to("sendMessage", 109)
    )
    assert ("العربية", '/change_language{"language": "ar"}') in keyboard_of(menu[-1])
    pressed(telegram, 109, '/change_language{"language": "ar"}')
    telegram.wait_for(lambda: len(telegram.texts_to(109)) >= 3)
    telegram.send_text(109, "ما بقدر نام بالليل")
    texts = telegram.wait_for(
        lambda: (t := telegram.texts_to(109)) and t[-1] == expected_text("ar", "utter_next_step") and t
    )
    assert texts[2].startswith("حسنًا")
    assert any(text.startswith(article_title("ar", "sleep")) for text in texts)
    [next_step] = [c for c in telegram.calls_to("sendMessage", 109) if c.params["text"] == texts[-1]][-1:]
    assert ("➡️ تمرين آخر", "/ask_stress") in keyboard_of(next_step)


def test_rasa_stopped_mid_conversation(stack):
    rasa, rasa_url = start_rasa(stack)
    standin = TelegramStandIn(TOKEN)
    standin.start()
    bot = None
    try:
        bot = start_bot(standin, RASA_URL=rasa_url, COORDINATOR_CHAT_ID="-100")
        standin.send_text(501, "hello")
        standin.wait_for(lambda: standin.texts_to(501), 60)
        rasa.kill()
        rasa.wait(30)
        standin.send_text(501, "I want to end my life")
        standin.wait_for(lambda: len(standin.texts_to(501)) >= 6, 30)
        assert "112" in standin.texts_to(501)[3], "thanks, the coordinators were told, then the numbers"
        standin.send_text(501, "hello again")
        standin.wait_for(
            lambda: "I am having trouble right now. Please try again in a moment." in standin.texts_to(501), 30
        )
        standin.send_text(502, "/start", chat_type="group")  # the coordinators' group (-100): left to the hand-off
        standin.send_text(501, "thanks")
        standin.wait_for(lambda: standin.texts_to(501)[-1].startswith("I am having trouble"), 30)
        assert all(text.startswith("#") for text in standin.texts_to(-100)), "only alerts, no answer to /start"
    finally:
        rasa.kill()
        if bot:
            stop_bot(bot)
        standin.stop()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("COORDINATOR_CHAT_ID", "coordinators"),
        ("COORDINATOR_USER_IDS", "12,abc"),
        ("TELEGRAM_WEBHOOK_SECRET", "short"),
    ],
)
def test_malformed_telegram_settings_stop_start_up_with_their_name(setting, value):
    env = base_env(
        TELEGRAM_BOT_TOKEN=TOKEN, RASA_URL="http://127.0.0.1:1", TELEGRAM_WEBHOOK_URL="https://example.org/hook"
    )
    env.update({"TELEGRAM_WEBHOOK_SECRET": "a-long-enough-secret", setting: value})
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and setting in result.stderr


def test_a_6000_character_reply_reaches_telegram_as_two_whole_messages():
    from bot.conversation.replies import Reply
    from bot.telegram_front.application import build_application
    from bot.telegram_front.sending import Sender

    standin = TelegramStandIn(TOKEN)
    standin.start()
    paragraphs = [f"Part {n}: " + "Breathe in slowly, and out again. " * 22 for n in range(8)]
    text = "\n\n".join(paragraphs)

    async def go() -> None:
        app = build_application(TOKEN, standin.url)
        await app.initialize()
        try:
            await Sender(app.bot).send(601, [Reply(text, "en")])
        finally:
            await app.shutdown()

    try:
        asyncio.run(go())
        delivered = standin.texts_to(601)
        assert len(text) > 6000 and len(delivered) == 2
        assert all(len(piece) <= 4096 and piece.startswith("Part ") for piece in delivered)
        assert "\n\n".join(delivered) == text
    finally:
        standin.stop()


def test_replies_go_at_telegrams_pace_and_slow_to_30_a_second_once_telegram_pushes_back():
    from bot.conversation.replies import Reply
    from bot.telegram_front.application import build_application
    from bot.telegram_front.sending import Sender

    standin = TelegramStandIn(TOKEN)
    standin.start()

    async def answer_at_once(chats: range) -> None:
        await asyncio.gather(*(sender.send(chat, [Reply(f"Reply for {chat}", "en")]) for chat in chats))

    def spread(chats: range) -> float:
        calls = [standin.calls_to("sendMessage", chat) for chat in chats]
        assert all(len(call) == 1 and call[0].accepted for call in calls), "every person gets exactly one reply"
        arrivals = sorted(call[0].at for call in calls)
        return arrivals[-1] - arrivals[0]

    async def go() -> None:
        await app.initialize()
        try:
            await answer_at_once(range(900, 990))  # 90 people at once: three times 30 a second
            standin.fail("sendMessage", 1, status=429, retry_after=1)
            pushed_back = time.monotonic()
            await answer_at_once(range(990, 991))
            assert time.monotonic() - pushed_back >= 1, "the reply waited the retry_after Telegram named"
            await answer_at_once(range(1000, 1090))
        finally:
            await app.shutdown()

    app = build_application(TOKEN, standin.url)
    sender = Sender(app.bot)
    try:
        asyncio.run(go())
        # At 30 a second the last 60 of 90 would wait 2 s; the bounds leave the machine room either way.
        assert spread(range(900, 990)) < 1.0, "nobody waits for a budget while Telegram accepts the pace"
        assert standin.texts_to(990) == ["Reply for 990"], "the refused reply was sent again, once"
        assert spread(range(1000, 1090)) >= 1.5, "after the 429 the last 60 wait for the budget (60/30 s)"
    finally:
        standin.stop()


def test_typing_is_shown_only_while_an_answer_takes_a_moment():
    from bot.telegram_front.application import build_application
    from bot.telegram_front.sending import Sender

    standin = TelegramStandIn(TOKEN)
    standin.start()

    async def go() -> None:
        app = build_application(TOKEN, standin.url)
        await app.initialize()
        try:
            sender = Sender(app.bot)
            assert await sender.while_typing(701, asyncio.sleep(0.8, result="slow")) == "slow"
            assert await sender.while_typing(702, asyncio.sleep(0.01, result="quick")) == "quick"
        finally:
            await app.shutdown()

    try:
        asyncio.run(go())
        assert len(standin.calls_to("sendChatAction", 701)) == 1
        assert standin.calls_to("sendChatAction", 702) == []
    finally:
        standin.stop()


def test_a_crisis_message_overtakes_the_chats_own_backlog(telegram):
    for _ in range(8):
        telegram.send_text(801, "what is this programme")
    telegram.send_text(801, "I want to die")
    thanks = "Thank you for telling me. I am glad you wrote. You matter, and you do not have to go through this alone."
    telegram.wait_for(lambda: thanks in telegram.texts_to(801), 30)
    next_steps_so_far = telegram.texts_to(801).count(expected_text("en", "utter_next_step"))
    assert next_steps_so_far < 8, "the crisis reply came before the chat's earlier messages were all answered"
    telegram.wait_for(lambda: telegram.texts_to(801).count(expected_text("en", "utter_next_step")) == 8, 120)


def test_someone_flooding_is_asked_kindly_to_wait_while_risk_is_still_answered_and_others_are_not_held_up(telegram):
    notice = "You are writing faster than I can read. Please wait a moment, then send your message again."
    for _ in range(14):
        telegram.send_text(811, "what is this programme")
    telegram.wait_for(lambda: notice in telegram.texts_to(811), 60)
    telegram.send_text(811, "I want to die")
    telegram.wait_for(lambda: any("113" in text for text in telegram.texts_to(811)), 30)
    telegram.send_text(812, "what is this programme")
    telegram.wait_for(lambda: telegram.texts_to(812), 30)
    assert telegram.texts_to(811).count(notice) == 1, "told once, not once per message"


async def _busy_with_everyone_else(stop: asyncio.Event) -> None:
    """A turn of other people's work on the event loop, over and over (a replica at its limit)."""
    while not stop.is_set():
        time.sleep(0.005)
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def sender_with_urgent_lane(standin: TelegramStandIn, lane_api: str | None = None):
    """The bot's Sender as the app builds it: the main bot and the urgent lane (to `lane_api`, by
    default the stand-in), started; yields (sender, rate limiter)."""
    from bot.telegram_front.application import build_application
    from bot.telegram_front.sending import Sender
    from bot.telegram_front.urgent_lane import UrgentLane

    app = build_application(TOKEN, standin.url)
    limiter = app.bot.rate_limiter
    sender = Sender(app.bot, UrgentLane(TOKEN, lane_api or standin.url, limiter.note_push_back))
    await app.initialize()
    await sender.start()
    try:
        yield sender, limiter
    finally:
        await sender.stop()
        await app.shutdown()


def test_a_crisis_reply_reaches_telegram_at_once_while_the_event_loop_is_busy_with_everyone_else(standin):
    """With 200 tasks taking turns, each turn of the loop lasts about a second. Sent from the main
    loop, a crisis reply took 3 s to reach Telegram on this machine; through the urgent lane it
    leaves at once (the main loop hears back later; the person has the message already)."""
    from bot.conversation.replies import Reply

    async def go() -> float:
        stop = asyncio.Event()
        async with sender_with_urgent_lane(standin) as (sender, _):
            await sender.send(620, [Reply("An everyday reply before", "en")])
            others = [asyncio.ensure_future(_busy_with_everyone_else(stop)) for _ in range(200)]
            try:
                await asyncio.sleep(0.5)
                started = time.monotonic()
                crisis = [Reply("Please call 113 now.", "en", urgent=True), Reply("You matter.", "en", urgent=True)]
                await sender.send(621, crisis)
            finally:
                stop.set()
                await asyncio.gather(*others)
        return standin.calls_to("sendMessage", 621)[0].at - started

    arrived = asyncio.run(go())
    assert standin.texts_to(621) == ["Please call 113 now.", "You matter."], "both, once, in order"
    assert arrived < 0.5, f"the crisis reply reached Telegram after {arrived:.2f} s"


def test_a_429_on_a_crisis_reply_is_waited_out_and_slows_everyday_replies_down_too(standin):
    from bot.conversation.replies import Reply

    async def go() -> tuple[float, bool]:
        async with sender_with_urgent_lane(standin) as (sender, limiter):
            assert not limiter.slowed_down()
            standin.fail("sendMessage", 1, status=429, retry_after=1, chat_id=631)
            started = time.monotonic()
            await sender.send(631, [Reply("Please call 113 now.", "en", urgent=True)])
            return time.monotonic() - started, limiter.slowed_down()

    took, slowed = asyncio.run(go())
    assert standin.texts_to(631) == ["Please call 113 now."], "sent again after the retry_after, once"
    assert took >= 1, "it waited the retry_after Telegram named"
    assert slowed, "everyday replies keep under Telegram's pace after the push-back"


def test_a_crisis_reply_goes_out_from_the_main_loop_when_the_urgent_lane_could_not_start(standin):
    from bot.conversation.replies import Reply

    async def go() -> bool:
        nowhere = f"http://127.0.0.1:{free_port()}"  # the lane's Telegram cannot be reached at start
        async with sender_with_urgent_lane(standin, nowhere) as (sender, _):
            await sender.send(641, [Reply("Please call 113 now.", "en", urgent=True)])
            return sender.urgent.running

    assert not asyncio.run(go()), "the lane did not start"
    assert standin.texts_to(641) == ["Please call 113 now."]
