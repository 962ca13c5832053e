"""Benchmark: one person flooding the bot does not slow everyone else, and every alert arrives.

    .venv/bin/python -m bench.flood [--seconds 60] [--chats 50]

Starts the Rasa and action servers (python -m bot run, no token), then the Telegram front end
with a coordinators' group, against the Bot API stand-in of the tests. Two runs of the same
length: 50 people chatting normally (each sends a message, waits for the answer, then the next),
once alone and once while one person sends 20 messages a second. In both, a few other people
write a crisis message now and then; each must get its alert in the group.

Goal: the 50 people's p95 in the flooded run within 20% of the run without the flood; every
alert arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from bench.telegram_latency import TURNS, Timings, start, telegram_round
from tests.helpers import GROUP, alerts, base_env, coordinator_settings, free_port
from tests.telegram_standin import TelegramStandIn

OUT = Path(__file__).resolve().parent / "out" / "flood.json"
TOKEN = "123456:BENCH-token"
FLOODER = 99_000
CRISIS = "I have decided to end my life tonight"


def flood(standin: TelegramStandIn, stop: threading.Event, per_second: float = 20.0) -> int:
    sent = 0
    while not stop.is_set():
        standin.send_text(FLOODER, f"hello hello {sent}")
        sent += 1
        time.sleep(1 / per_second)
    return sent


async def chatting(standin: TelegramStandIn, first: int, chats: int, seconds: float, crisis_chats: range) -> Timings:
    """Rounds of `chats` people writing at once, until `seconds` have passed; a crisis now and then.
    Ten groups of people take turns, so each person writes about once every ten rounds, as people do."""
    timings = Timings()
    end = time.monotonic() + seconds
    number = 0
    crises = iter(crisis_chats)
    while time.monotonic() < end:
        if number % 5 == 2:
            chat = next(crises, None)
            if chat is not None:
                standin.send_text(chat, CRISIS)
        group = first + (number % 10) * chats
        await telegram_round(standin, range(group, group + chats), (number // 10) % TURNS, timings)
        number += 1
    return timings


def run(seconds: float, chats: int, flood_first: bool = False) -> dict:
    run_dir = Path(tempfile.mkdtemp(prefix="flood-"))
    rasa_port, action_port = free_port(), free_port()
    common = {"RUN_DIR": str(run_dir), "PSEUDONYM_SECRET": "bench", "RASA_AUTH_TOKEN": "bench-token"}
    servers = start(
        base_env(RASA_PORT=str(rasa_port), ACTION_PORT=str(action_port), LOG_LEVEL="WARNING", **common), "Ready after"
    )
    standin = TelegramStandIn(TOKEN)
    standin.start()
    settings = {**coordinator_settings(), "ESCALATION_REMIND_AFTER": "3600"}
    front = start(
        base_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=standin.url,
            RASA_URL=f"http://127.0.0.1:{rasa_port}",
            LOG_LEVEL="WARNING",
            **common,
            **settings,
        ),
        "Answering on Telegram",
    )
    results: dict = {"order": "flooded minute first" if flood_first else "quiet minute first"}

    def quiet_minute() -> Timings:
        return asyncio.run(chatting(standin, 10_000, chats, seconds, range(5000, 5010)))

    def flooded_minute() -> Timings:
        stop = threading.Event()
        flooder = threading.Thread(target=lambda: results.setdefault("flood_messages", flood(standin, stop)))
        flooder.start()
        try:
            return asyncio.run(chatting(standin, 20_000, chats, seconds, range(6000, 6010)))
        finally:
            stop.set()
            flooder.join()

    try:
        if flood_first:  # the second run gains from the warm-up: both orders, to see how much
            flooded = flooded_minute()
            quiet = quiet_minute()
        else:
            quiet = quiet_minute()
            flooded = flooded_minute()
        time.sleep(5)  # the last alerts
        sent_crises = [chat for chat in (*range(5000, 5010), *range(6000, 6010)) if standin.texts_to(chat)]
        results.update(
            without_flood=quiet.summary(),
            with_flood=flooded.summary(),
            crisis_messages=len(sent_crises),
            alerts_in_group=len(alerts(standin, "end my life")),
            flooder_replies=len(standin.texts_to(FLOODER)),
            group_messages=len(standin.texts_to(GROUP)),
        )
    finally:
        for process in (front, servers):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(60)
        standin.stop()
    p95_quiet, p95_flooded = results["without_flood"]["p95_ms"], results["with_flood"]["p95_ms"]
    results["goals"] = {
        "others' p95 within 20% of the run without the flood": p95_flooded <= 1.2 * p95_quiet,
        "every alert arrived": results["alerts_in_group"] == results["crisis_messages"],
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--flood-first", action="store_true", help="the flooded minute before the quiet one")
    args = parser.parse_args()
    results = run(args.seconds, args.chats, args.flood_first)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
