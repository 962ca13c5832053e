"""Benchmark: what the Telegram layer adds to Rasa's own latency and throughput.

    .venv/bin/python -m bench.telegram_latency [--conversations 30]

Starts the Rasa and action servers (python -m bot run, no token), then the Telegram front end
against the Bot API stand-in of the tests. Measures, for 1 chat and for 50 concurrent chats, the
time from a user message posted to the stand-in until the bot's first reply is recorded there,
and the same messages sent straight to Rasa's REST channel, round by round in turn.
Every conversation is new (a fresh database) and 20 messages long: 1 chat is 30 conversations one
after another, 50 chats are 50 conversations at once. Last, for comparison with earlier figures,
1 chat in one conversation of 200 messages (Rasa takes longer as a conversation grows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.latency import save, summary
from tests.helpers import StreamCollector, base_env, free_port
from tests.telegram_standin import TelegramStandIn

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-token"
# Messages answered with exactly one message, so "the first reply arrived" means "the reply arrived".
TURNS = 20
MESSAGES = ["hello", "thank you", "goodbye", "are you a bot?", "yes", "no"]


def start(command_env: dict[str, str], marker: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=command_env, stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    process.log = StreamCollector(process.stderr)
    process.log.wait_for(marker, 0, timeout=600)
    return process


@dataclass
class Timings:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: Timings) -> None:
        self.latencies += other.latencies
        self.seconds += other.seconds

    def summary(self) -> dict[str, float]:
        return summary(self.latencies, self.seconds)


async def telegram_round(standin: TelegramStandIn, chats: range, number: int, timings: Timings) -> None:
    """Every chat posts one message to the stand-in at once; waits until each has its reply."""
    expected = {chat: len(standin.calls_to("sendMessage", chat)) + 1 for chat in chats}
    started = time.perf_counter()
    sent_at: dict[int, float] = {}
    for chat in chats:
        sent_at[chat] = time.monotonic()  # the stand-in stamps calls with time.monotonic() too
        standin.send_text(chat, message(chat - chats.start + number))
    # Blocks on the stand-in's condition in a thread: polling would take CPU from the bot and Rasa.
    replies = await asyncio.to_thread(standin.wait_for_messages, expected)
    timings.seconds += time.perf_counter() - started
    timings.latencies += [replies[chat].at - sent_at[chat] for chat in chats]  # when each reached Telegram


async def rasa_round(http: aiohttp.ClientSession, url: str, senders: list[str], number: int, timings: Timings) -> None:
    """The same: every sender posts one message straight to Rasa's REST channel at once."""

    async def send(index: int) -> None:
        body = {"sender": senders[index], "message": message(index + number), "metadata": {"language": "en"}}
        before = time.perf_counter()
        async with http.post(url, json=body, raise_for_status=True) as response:
            await response.read()
        timings.latencies.append(time.perf_counter() - before)

    started = time.perf_counter()
    await asyncio.gather(*(send(index) for index in range(len(senders))))
    timings.seconds += time.perf_counter() - started


async def compare(standin: TelegramStandIn, rasa_url: str, chat_ids: range, turns: int) -> tuple[Timings, Timings]:
    """Conversations of `turns` messages in `chat_ids` at once. Each turn goes through Telegram,
    then the same turn straight to Rasa, so both meet the same conditions (conversation length,
    database size, what else the machine is doing)."""
    telegram, rasa = Timings(), Timings()
    senders = [f"direct-{uuid.uuid4().hex[:6]}-{index}" for index in range(len(chat_ids))]
    url = f"{rasa_url}/webhooks/bot/webhook"
    # aiohttp, the quickest client here: Rasa's own figure carries as little client time as possible.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        for number in range(turns):
            await telegram_round(standin, chat_ids, number, telegram)
            await rasa_round(http, url, senders, number, rasa)
    return telegram, rasa


async def one_chat(standin: TelegramStandIn, rasa_url: str, conversations: int) -> tuple[Timings, Timings]:
    """One person at a time, each for a conversation of TURNS messages."""
    telegram, rasa = Timings(), Timings()
    for conversation in range(conversations):
        through_telegram, straight = await compare(
            standin, rasa_url, range(2_000 + conversation, 2_001 + conversation), TURNS
        )
        telegram.add(through_telegram)
        rasa.add(straight)
    return telegram, rasa


def message(number: int) -> str:
    return MESSAGES[number % len(MESSAGES)]


def main(conversations: int) -> dict:
    rasa_port, action_port = free_port(), free_port()
    # A fresh database: every chat starts a new conversation, as the senders sent straight to Rasa do.
    run_dir = tempfile.mkdtemp(prefix="bench-run-")
    servers = start(
        base_env(RASA_PORT=str(rasa_port), ACTION_PORT=str(action_port), RASA_AUTH_TOKEN="bench", RUN_DIR=run_dir),
        "Ready after",
    )
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    standin = TelegramStandIn(TOKEN)
    standin.start()
    env = base_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=standin.url,
        RASA_URL=rasa_url,
        RUN_DIR=run_dir,
        PSEUDONYM_SECRET="bench-secret",
        MESSAGES_PER_MINUTE="100000",  # every chat here writes faster than a person: no budget
    )
    bot = start(env, "Answering on Telegram")
    try:
        asyncio.run(compare(standin, rasa_url, range(1_000, 1_001), 5))  # warm-up
        one = asyncio.run(one_chat(standin, rasa_url, conversations))
        many = asyncio.run(compare(standin, rasa_url, range(3_000, 3_050), TURNS))
        # The measure of earlier sessions: one conversation of 200 messages, where Rasa is slower.
        long = asyncio.run(compare(standin, rasa_url, range(4_000, 4_001), 200))
    finally:
        stop(bot)
        stop(servers)
        standin.stop()
    telegram_one, rasa_one = (timings.summary() for timings in one)
    telegram_many, rasa_many = (timings.summary() for timings in many)
    telegram_long, rasa_long = (timings.summary() for timings in long)
    results = {
        "telegram_1_chat": telegram_one,
        "rasa_1_chat": rasa_one,
        "telegram_50_chats": telegram_many,
        "rasa_50_chats": rasa_many,
        "p50_added_1_chat": round(telegram_one["p50_ms"] / rasa_one["p50_ms"] - 1, 3),
        "throughput_ratio_50_chats": round(telegram_many["messages_per_s"] / rasa_many["messages_per_s"], 3),
        "telegram_1_chat_200_turns": telegram_long,
        "rasa_1_chat_200_turns": rasa_long,
        "p50_added_1_chat_200_turns": round(telegram_long["p50_ms"] / rasa_long["p50_ms"] - 1, 3),
    }
    return save("telegram_latency", results)


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGINT)
    process.wait(60)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--conversations", type=int, default=30, help="conversations one after another in the 1-chat run (default 30)"
    )
    print(json.dumps(main(parser.parse_args().conversations), indent=2))
