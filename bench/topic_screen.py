"""Benchmark: what the safety screen (without Rasa) does with messages that ask for the topics
behind "More topics" (grief, loneliness, anger, the asylum procedure, a child's sleep).

    .venv/bin/python -m bench.topic_screen

Messages: the held-out intent examples of those topics (tests/nlu/more_topics/<lang>.yml).
Such messages are heavy by nature, and the screen is built to err on the side of asking: a level
other than "none" means the person gets the safety question or a crisis reply before (or, after a
"no" to the question, together with) the article. Prints, per language and per topic, how many
messages get each level, and saves the figures to bench/out/topic_screen.json.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import yaml

from bench.latency import save
from bot.core.safety.nets import RiskScreen

ROOT = Path(__file__).resolve().parent.parent
TOPICS = ("grief", "loneliness", "anger", "asylum_procedure", "child_sleep")


def held_out(path: Path) -> list[tuple[str, str]]:
    """(intent, message) for the new topics' held-out examples of one language."""
    found = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if block.get("intent") in TOPICS:
            lines = block["examples"].splitlines()
            found += [(block["intent"], line.strip()[2:]) for line in lines if line.strip().startswith("- ")]
    return found


def main() -> None:
    screen = RiskScreen.load()
    if screen.problem:
        print(f"Note: {screen.problem}")
    by_language: dict[str, Counter] = defaultdict(Counter)
    by_topic: dict[str, Counter] = defaultdict(Counter)
    for path in sorted((ROOT / "tests" / "nlu" / "more_topics").glob("*.yml")):
        for intent, text in held_out(path):
            level = screen.assess(text).level.value
            by_language[path.stem][level] += 1
            by_topic[intent][level] += 1
    total = sum((counts for counts in by_language.values()), Counter())
    results = {
        "messages": sum(total.values()),
        "levels": dict(total),
        "by_language": {language: dict(counts) for language, counts in by_language.items()},
        "by_topic": {topic: dict(counts) for topic, counts in by_topic.items()},
    }
    print(json.dumps(save("topic_screen", results), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
