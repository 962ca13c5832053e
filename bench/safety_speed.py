"""Benchmark: time the safety screen takes per message: the lexicon net alone (every language's
word lists), and the whole screen (lexicons and the model net, one encoder thread).

    .venv/bin/python -m bench.safety_speed

Messages: the lexicons' evaluation set and every NLU example (everyday messages), and a
5,000-character message. Goals: the lexicons under 1 ms at p99; every net under 15 ms at p99.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import yaml

from bench.latency import save
from bot.core.safety import SafetyScreen
from bot.core.safety.nets import RiskScreen

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


def timed(assess, texts: list[str], rounds: int) -> list[float]:
    for text in texts[:50]:
        assess(text)  # warm-up
    timings = []
    for _ in range(rounds):
        for text in texts:
            before = time.perf_counter()
            assess(text)
            timings.append(time.perf_counter() - before)
    return sorted(timings)


def summary(timings: list[float], unit: float, name: str) -> dict:
    return {
        "messages": len(timings),
        f"p50_{name}": round(statistics.median(timings) * unit, 2),
        f"p99_{name}": round(timings[int(0.99 * (len(timings) - 1))] * unit, 2),
        f"max_{name}": round(timings[-1] * unit, 2),
    }


def main() -> dict:
    started = time.perf_counter()
    lexicons = SafetyScreen.load()
    load_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    whole = RiskScreen.load(use_model=True)
    whole_load_ms = (time.perf_counter() - started) * 1000
    texts = messages()
    sample = texts[:: max(1, len(texts) // 1000)] + texts[-1:]  # the model net on about 1,000 messages
    return save(
        "safety_speed",
        {
            "lexicons": {
                "loaded_ms": round(load_ms, 1),
                **summary(timings=timed(lexicons.assess, texts, 5), unit=1e6, name="us"),
            },
            "every_net": {
                "loaded_ms": round(whole_load_ms, 1),
                "model_net": whole.net is not None,
                **summary(timings=timed(whole.assess, sample, 1), unit=1e3, name="ms"),
            },
        },
    )


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
