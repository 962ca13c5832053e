"""Benchmark: how fast a crisis message is answered on Telegram while Rasa is busy or down.

    .venv/bin/python -m bench.crisis_latency [--crises 100]

1. Rasa saturated: 50 chats each send an ordinary message every second through the Telegram
   front end (more than Rasa can answer) while other chats send crisis messages; time from the
   crisis message posted to the stand-in until the first crisis reply is recorded there.
2. Rasa stopped: the same crisis messages with nothing listening where Rasa should be.
Goal: under 300 ms at p95 in both.

In the same runs, the time from each crisis message until its alert reaches the coordinators'
group (the hand-off). Goal: under 1 s at p95, also while Rasa is saturated.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from bench.latency import save, summary
from bench.telegram_latency import start
from tests.helpers import base_env, free_port
from tests.telegram_standin import TelegramStandIn

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-token"
CRISES = ["I want to die", "ik wil dood", "بدي موت", "میخوام بمیرم", "хочу померти", "quiero morirme"]


GROUP = -1001


def crisis_latencies(standin: TelegramStandIn, count: int, first_chat: int) -> tuple[list[float], list[float]]:
    """Per crisis message: until the person's first reply, and until the alert in the group."""
    replies, alerts = [], []
    for number in range(count):
        chat = first_chat + number
        alerted_before = len(standin.calls_to("sendMessage", GROUP))
        sent_at = time.monotonic()
        standin.send_text(chat, CRISES[number % len(CRISES)])
        deadline = time.monotonic() + 30
        while not standin.calls_to("sendMessage", chat) and time.monotonic() < deadline:
            time.sleep(0.001)
        calls = standin.calls_to("sendMessage", chat)
        replies.append((calls[0].at if calls else time.monotonic()) - sent_at)
        while len(standin.calls_to("sendMessage", GROUP)) <= alerted_before and time.monotonic() < deadline:
            time.sleep(0.001)
        group = standin.calls_to("sendMessage", GROUP)[alerted_before:]
        alerts.append((group[0].at if group else time.monotonic()) - sent_at)
        time.sleep(0.05)
    return replies, alerts


def background_load(standin: TelegramStandIn, stop: threading.Event) -> None:
    """50 chats, each sending an ordinary message every second: more than Rasa answers."""
    chats = range(20_000, 20_050)
    number = 0
    while not stop.is_set():
        for chat in chats:
            standin.send_text(chat, "I feel stressed" if number % 2 else "what is this programme")
        number += 1
        stop.wait(1.0)


def main(crises: int) -> dict:
    rasa_port, action_port = free_port(), free_port()
    run_dir = tempfile.mkdtemp(prefix="bench-run-")  # a fresh database: every crisis is a new escalation
    # Every chat here writes faster than a person: no per-person budget.
    shared = {"RUN_DIR": run_dir, "RASA_AUTH_TOKEN": "bench", "PSEUDONYM_SECRET": "bench-secret",
              "MESSAGES_PER_MINUTE": "100000"}  # fmt: skip
    servers = start(base_env(RASA_PORT=str(rasa_port), ACTION_PORT=str(action_port), **shared), "Ready after")
    standin = TelegramStandIn(TOKEN)
    standin.start()
    front_end = {**shared, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": standin.url,
                 "COORDINATOR_CHAT_ID": str(GROUP), "COORDINATOR_USER_IDS": "1"}  # fmt: skip
    bot = start(base_env(RASA_URL=f"http://127.0.0.1:{rasa_port}", **front_end), "Answering on Telegram")
    results: dict = {}
    try:
        stop = threading.Event()
        load = threading.Thread(target=background_load, args=(standin, stop), daemon=True)
        load.start()
        time.sleep(5)  # let the load build up
        replies, alerts = crisis_latencies(standin, crises, 30_000)
        results["rasa_saturated"] = summary(replies, 1)
        results["alert_rasa_saturated"] = summary(alerts, 1)
        stop.set()
        load.join(10)
    finally:
        # Killed, not stopped: a clean stop would first deliver the whole backlog of the load.
        for process in (bot, servers):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(60)
    down = start(base_env(RASA_URL=f"http://127.0.0.1:{free_port()}", **front_end), "Answering on Telegram")
    try:
        replies, alerts = crisis_latencies(standin, crises, 40_000)
        results["rasa_stopped"] = summary(replies, 1)
        results["alert_rasa_stopped"] = summary(alerts, 1)
    finally:
        os.killpg(down.pid, signal.SIGINT)
        down.wait(60)
        standin.stop()
    for result in results.values():
        result.pop("messages_per_s", None)
    return save("crisis_latency", results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crises", type=int, default=100, help="crisis messages per condition (default 100)")
    print(json.dumps(main(parser.parse_args().crises), indent=2))
