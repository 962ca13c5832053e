"""Benchmark: throughput with one and with two replicas of each, on this machine.

    .venv/bin/python -m bench.replicas [--chats 200]

The same set-up as tests/end_to_end/test_replicas.py (tests/replicas.py: PostgreSQL, Redis, nginx,
bot replicas in webhook mode, Rasa servers, action servers), once with one of each and once with
two. Each of `--chats` people sends "hello", waits for the answer, then "I can't sleep at night"
(an article of several messages), all at once: the figure is messages answered per second from
the first message to the last answer, and each message's wait for its first reply (p50, p95).

On a machine with two cores, two replicas of each share the same two cores: the figure shows
what replication costs there (more processes, Redis round trips), not what it gains. Each bot
replica and each Rasa server is single-threaded Python (one core at most), so on a machine with
at least as many cores as processes the throughput grows with the replicas until PostgreSQL is
the limit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from tests.helpers import TOKEN
from tests.replicas import start_replicas
from tests.telegram_standin import TelegramStandIn

OUT = Path(__file__).resolve().parent / "out" / "replicas.json"
STEPS = ["hello", "I can't sleep at night"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(count: int, chats: int) -> dict:
    standin = TelegramStandIn(TOKEN)
    standin.start()
    replicas = start_replicas(standin, count=count)
    try:
        people = range(9000, 9000 + chats)
        waits: list[float] = []
        started = time.monotonic()
        answered = 0
        for text in STEPS:
            before = {chat: len(standin.texts_to(chat)) for chat in people}
            sent = {}
            for chat in people:
                sent[chat] = time.monotonic()
                standin.send_text(chat, text)
            firsts = standin.wait_for_messages({chat: before[chat] + 1 for chat in people}, timeout=600)
            waits += [firsts[chat].at - sent[chat] for chat in people]
            time.sleep(2)  # the rest of each answer
            answered += chats
        elapsed = time.monotonic() - started - 2 * len(STEPS)
        return {
            "replicas_of_each": count,
            "chats": chats,
            "messages": answered,
            "messages_per_second": round(answered / elapsed, 1),
            "first_reply_p50_ms": round(statistics.median(waits) * 1000),
            "first_reply_p95_ms": round(percentile(waits, 0.95) * 1000),
        }
    finally:
        replicas.stop()
        standin.stop()


def main(chats: int) -> dict:
    results = {"one": run(1, chats), "two": run(2, chats)}
    results["two_over_one"] = round(results["two"]["messages_per_second"] / results["one"]["messages_per_second"], 2)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=200)
    print(json.dumps(main(parser.parse_args().chats), indent=2))
