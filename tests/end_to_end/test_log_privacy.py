"""Logs hold no message text, Telegram ids or secrets, at DEBUG too (bot.core.log_privacy)."""

from __future__ import annotations

import logging

from bot.core.log_privacy import RedactingFormatter, redact
from tests.helpers import TOKEN, start_bot, stop_bot
from tests.telegram_standin import TelegramStandIn

WORDS = "my neighbour Karim in room 12 keeps me awake"
PERSON = 5550123456


def test_tokens_secrets_and_telegram_ids_are_replaced_and_the_rest_stays():
    token = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # the shape of a real bot token
    line = f"POST https://api.telegram.org/bot{token}/sendMessage chat_id={PERSON} -1001234567890 port 5005 secret-xyz"
    cleaned = redact(line, ["secret-xyz"])
    assert token not in cleaned and str(PERSON) not in cleaned and "1001234567890" not in cleaned
    assert "secret-xyz" not in cleaned
    assert "sendMessage" in cleaned and "port 5005" in cleaned


def test_a_traceback_goes_through_the_same_redaction():
    formatter = RedactingFormatter(["s3cret-value"])
    try:
        raise ValueError(f"chat {PERSON} refused with s3cret-value")
    except ValueError as error:
        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "failed", (), (type(error), error, None))
    text = formatter.format(record)
    assert "ValueError" in text and str(PERSON) not in text and "s3cret-value" not in text


def test_at_debug_the_bot_logs_no_message_text_no_telegram_id_and_no_token(stack):
    standin = TelegramStandIn(TOKEN)
    standin.start()
    process = start_bot(standin, stack, LOG_LEVEL="DEBUG")
    try:
        standin.send_text(PERSON, WORDS)
        standin.wait_for(lambda: standin.texts_to(PERSON))
        standin.send_text(PERSON, "/start")
        standin.wait_for(lambda: len(standin.texts_to(PERSON)) >= 2)
    finally:
        stop_bot(process)
        standin.stop()
    log = process.log.buffer
    assert "DEBUG" in log, "the bot did log at DEBUG"
    assert WORDS not in log and "Karim" not in log
    assert str(PERSON) not in log
    assert TOKEN.split(":")[1] not in log
