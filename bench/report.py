"""The benchmarks' one report: every figure in bench/out/*.json beside its goal, with plots.

    .venv/bin/python -m bench.report        # `make bench` runs it last

Writes bench/results/report.md and its PNG plots. A benchmark that has not run yet is listed as
missing, so the report says what it does not know. The goals are the issues' (issue 17 and the
safety screen's), in GOALS below; a figure without a goal is shown as measured.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
RESULTS = BENCH / "results"

#: Each benchmark's file in bench/out and what it measures, in the report's order.
BENCHMARKS = {
    "safety_speed": "the safety screen per message",
    "language_id": "language recognition per message",
    "latency": "one and 20 users through bot → Rasa, beside a stock `rasa init` bot",
    "telegram_latency": "what the Telegram layer adds (1 and 50 chats)",
    "crisis_latency": "crisis reply and alert while Rasa is saturated or stopped",
    "slow_database": "replies while the SQLite file is locked",
    "flood": "50 people while one floods the bot",
    "replicas": "one and two replicas of each server",
}


@dataclass(frozen=True)
class Goal:
    path: str  # dotted path in the benchmark's JSON
    text: str
    holds: Callable[[float], bool]


def at_most(limit: float) -> Callable[[float], bool]:
    return lambda value: operator.le(value, limit)


def at_least(limit: float) -> Callable[[float], bool]:
    return lambda value: operator.ge(value, limit)


GOALS: dict[str, list[Goal]] = {
    "safety_speed": [Goal("every_net.p99_ms", "under 15 ms at p99", at_most(15))],
    "language_id": [Goal("speed.p99_ms", "under 1 ms at p99", at_most(1))],
    "latency": [
        Goal("p50_ratio_1_user", "at most the stock bot's p50 (ratio ≤ 1)", at_most(1)),
        Goal("p50_ratio_20_users", "at most the stock bot's p50 (ratio ≤ 1)", at_most(1)),
    ],
    "telegram_latency": [
        Goal("throughput_ratio_50_chats", "Telegram keeps Rasa's throughput (≥ 0.98)", at_least(0.98)),
    ],
    "crisis_latency": [
        Goal("rasa_saturated.p95_ms", "crisis reply under 300 ms at p95", at_most(300)),
        Goal("rasa_stopped.p95_ms", "crisis reply under 300 ms at p95", at_most(300)),
    ],
    "slow_database": [
        Goal("locked.longest_loop_stall_ms", "no stall over 50 ms", at_most(50)),
        Goal("locked.crisis_reply.p95_ms", "crisis reply under 300 ms at p95", at_most(300)),
    ],
    "replicas": [Goal("two_over_one", "two replicas of each at least as fast as one", at_least(1.0))],
}


def leaves(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every figure of a benchmark's JSON, as (dotted path, value)."""
    if isinstance(data, dict):
        return [item for key, value in data.items() for item in leaves(value, f"{prefix}{key}.")]
    return [(prefix.rstrip("."), data)]


def lookup(data: dict, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def section(name: str, data: dict) -> list[str]:
    lines = [f"## {name}: {BENCHMARKS.get(name, '')}", ""]
    goals = GOALS.get(name, [])
    if goals:
        lines += ["| goal | measured | met |", "|---|---|---|"]
        for goal in goals:
            value = lookup(data, goal.path)
            met = "?" if not isinstance(value, (int, float)) else ("yes" if goal.holds(value) else "**no**")
            lines.append(f"| {goal.text} (`{goal.path}`) | {value} | {met} |")
        lines.append("")
    for key, value in leaves(data.get("goals", {})):
        lines.append(f"- {key}: {'met' if value is True else '**not met**' if value is False else value}")
    lines += ["<details><summary>every figure</summary>", "", "| figure | value |", "|---|---|"]
    lines += [f"| `{key}` | {value} |" for key, value in leaves(data) if not key.startswith("goals")]
    lines += ["", "</details>", ""]
    return lines


def plot_latencies(results: dict[str, dict]) -> str | None:
    """p50 and p95 of every measured latency, one bar pair each (log scale: µs to seconds)."""
    bars = []
    for name, data in results.items():
        for key, value in leaves(data):
            if key.endswith(".p50_ms") and isinstance(value, (int, float)):
                p95 = lookup(data, key.removesuffix("p50_ms") + "p95_ms")
                if isinstance(p95, (int, float)):
                    bars.append((f"{name}: {key.removesuffix('.p50_ms')}", value, p95))
    if not bars:
        return None
    figure, axes = plt.subplots(figsize=(10, 0.35 * len(bars) + 1.5))
    labels = [label for label, _, _ in bars]
    positions = range(len(bars))
    axes.barh([p + 0.2 for p in positions], [p50 for _, p50, _ in bars], height=0.4, label="p50")
    axes.barh([p - 0.2 for p in positions], [p95 for _, _, p95 in bars], height=0.4, label="p95")
    axes.set_yticks(list(positions), labels, fontsize=7)
    axes.set_xscale("log")
    axes.set_xlabel("milliseconds (log scale)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(RESULTS / "latencies.png", dpi=110)
    plt.close(figure)
    return "latencies.png"


def plot_replicas(data: dict) -> str | None:
    runs = [data.get("one"), data.get("two")]
    if not all(isinstance(run, dict) for run in runs):
        return None
    figure, axes = plt.subplots(figsize=(5, 3.2))
    axes.bar(["one of each", "two of each"], [run["messages_per_second"] for run in runs], color="#4c72b0")
    axes.set_ylabel("messages answered per second")
    axes.set_title(f"{runs[0]['chats']} people at once, {runs[0]['messages']} messages", fontsize=9)
    figure.tight_layout()
    figure.savefig(RESULTS / "replicas.png", dpi=110)
    plt.close(figure)
    return "replicas.png"


def main() -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = {
        name: json.loads((OUT / f"{name}.json").read_text()) for name in BENCHMARKS if (OUT / f"{name}.json").exists()
    }
    missing = [name for name in BENCHMARKS if name not in results]
    lines = [f"# Benchmarks ({date.today().isoformat()})", ""]
    lines.append("Every figure from `bench/out/`, beside its goal where an issue sets one. `make bench` measures them.")
    lines.append("")
    if missing:
        lines += [f"Not measured yet (run `python -m bench.<name>`): {', '.join(missing)}.", ""]
    for plot in (plot_latencies(results), plot_replicas(results.get("replicas", {}))):
        if plot:
            lines += [f"![{plot}]({plot})", ""]
    for name, data in results.items():
        lines += section(name, data)
    report = RESULTS / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report


if __name__ == "__main__":
    print(main())
