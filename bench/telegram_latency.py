"""Benchmark: what the Telegram layer adds to Rasa's own latency and throughput.

    .venv/bin/python -m bench.telegram_latency [--messages 200]

Starts the Rasa and action servers (python -m bot run, no token), then the Telegram front end
against the Bot API stand-in of the tests. Measures, for 1 chat and for 50 concurrent chats, the
time from a user message posted to the stand-in until the bot's first reply is recorded there;
then the same messages sent straight to Rasa's REST channel, in the same run.
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
from pathlib import Path

import httpx

from bench.latency import save, summary
from tests.conftest import StreamCollector, base_env, free_port
from tests.telegram_standin import TelegramStandIn

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-token"
# Messages answered with exactly one message, so "the first reply arrived" means "the reply arrived".
MESSAGES = ["hello", "thank you", "goodbye", "are you a bot?", "yes", "no"]


def start(command_env: dict[str, str], marker: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=command_env, stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    process.log = StreamCollector(process.stderr)
    process.log.wait_for(marker, 0, timeout=600)
    return process


def through_telegram(standin: TelegramStandIn, chats: int, per_chat: int) -> dict[str, float]:
    base = 10_000 + chats * 1000
    latencies: list[float] = []
    counts = {chat: 0 for chat in range(base, base + chats)}

    def delivered(chat: int) -> int:
        return len(standin.calls_to("sendMessage", chat))

    started = time.perf_counter()
    for round_number in range(per_chat):
        sent_at: dict[int, float] = {}
        for chat in counts:
            counts[chat] = delivered(chat)
            sent_at[chat] = time.monotonic()  # the stand-in stamps calls with time.monotonic() too
            standin.send_text(chat, MESSAGES[(chat - base + round_number) % len(MESSAGES)])
        waiting = set(counts)
        deadline = time.monotonic() + 120
        while waiting and time.monotonic() < deadline:
            for chat in list(waiting):
                calls = standin.calls_to("sendMessage", chat)
                if len(calls) > counts[chat]:
                    latencies.append(calls[counts[chat]].at - sent_at[chat])  # when the reply reached Telegram
                    waiting.discard(chat)
            time.sleep(0.002)
    return summary(latencies, time.perf_counter() - started)


async def straight_to_rasa(rasa_url: str, chats: int, per_chat: int) -> dict[str, float]:
    """The same load as through_telegram: each round, every chat sends one message at once."""
    run = uuid.uuid4().hex[:6]
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=rasa_url, timeout=120) as http:

        async def send(index: int, number: int) -> None:
            body = {"sender": f"direct-{run}-{index}", "message": MESSAGES[(index + number) % len(MESSAGES)],
                    "metadata": {"language": "en"}}  # fmt: skip
            before = time.perf_counter()
            (await http.post("/webhooks/bot/webhook", json=body)).raise_for_status()
            latencies.append(time.perf_counter() - before)

        started = time.perf_counter()
        for number in range(per_chat):
            await asyncio.gather(*(send(index, number) for index in range(chats)))
        return summary(latencies, time.perf_counter() - started)


def main(messages: int) -> dict:
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
    env = base_env(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=standin.url, RASA_URL=rasa_url, RUN_DIR=run_dir)
    bot = start(env, "Answering on Telegram")
    results: dict = {}
    try:
        through_telegram(standin, 1, 5)  # warm-up
        results["telegram_1_chat"] = through_telegram(standin, 1, messages)
        results["telegram_50_chats"] = through_telegram(standin, 50, max(1, messages // 50))
        results["rasa_1_chat"] = asyncio.run(straight_to_rasa(rasa_url, 1, messages))
        results["rasa_50_chats"] = asyncio.run(straight_to_rasa(rasa_url, 50, max(1, messages // 50)))
    finally:
        for process in (bot, servers):
            os.killpg(process.pid, signal.SIGINT)
            process.wait(60)
        standin.stop()
    results["p50_added_1_chat"] = round(results["telegram_1_chat"]["p50_ms"] / results["rasa_1_chat"]["p50_ms"] - 1, 3)
    results["throughput_ratio_50_chats"] = round(
        results["telegram_50_chats"]["messages_per_s"] / results["rasa_50_chats"]["messages_per_s"], 3
    )
    return save("telegram_latency", results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200, help="messages per load level (default 200)")
    print(json.dumps(main(parser.parse_args().messages), indent=2))
