"""Benchmark: time the safety screen takes per message, with every language's lexicon loaded.

    .venv/bin/python -m bench.safety_speed

Messages: the safety evaluation set and every NLU example (everyday messages), five rounds.
The goal is under 1 ms per message at p99.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import yaml

from bot.safety import SafetyScreen

ROOT = Path(__file__).resolve().parent.parent


def messages() -> list[str]:
    found: list[str] = []
    for path in (ROOT / "tests" / "safety").glob("*.yml"):
        for items in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).values():
            found += items
    for path in [*ROOT.glob("nlu/*/nlu.yml"), *ROOT.glob("tests/nlu/*.yml")]:
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            found += [line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")]
    found.append("I feel very stressed about my interview. " * 120)  # a 5,000-character message
    return found


def main() -> dict:
    started = time.perf_counter()
    screen = SafetyScreen.load()
    load_ms = (time.perf_counter() - started) * 1000
    texts = messages()
    for text in texts[:200]:
        screen.assess(text)  # warm-up
    timings = []
    for _ in range(5):
        for text in texts:
            before = time.perf_counter()
            screen.assess(text)
            timings.append(time.perf_counter() - before)
    timings.sort()
    return {
        "messages": len(timings),
        "lexicons_loaded_ms": round(load_ms, 1),
        "p50_us": round(statistics.median(timings) * 1e6, 1),
        "p99_us": round(timings[int(0.99 * (len(timings) - 1))] * 1e6, 1),
        "max_us": round(timings[-1] * 1e6, 1),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
