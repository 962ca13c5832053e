"""Benchmark: how well and how fast bot.core.language_id tells the language of short chat messages.

    .venv/bin/python -m bench.language_id [DIR ...]

DIR holds <lang>.yml files (`language:` and `messages:`), and optionally unsupported.yml
(`unsupported: {code: [messages]}`), latin_transliterated.yml (`arabizi:`, `finglish:`) and
mixed.yml (`mixed:`). Default: the frozen held-out set, tests/language_id/heldout/. Prints one
JSON report: per language, accuracy on messages of three words or more (goal 97%) and on shorter
ones, messages answered in the wrong script (goal 0), languages the bot does not speak taken for
one it does, and the time per message (goal: well under 1 ms at p99).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from bench.latency import save
from bot.core import language_id

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "language_id" / "heldout"

#: The bot's languages, now and planned, and the script each is written in.
SCRIPTS = {
    "en": "latin",
    "nl": "latin",
    "es": "latin",
    "tr": "latin",
    "so": "latin",
    "ar": "arabic",
    "fa": "arabic",
    "uk": "cyrillic",
    "ru": "cyrillic",
    "ti": "ethiopic",
}
OTHER_SCRIPTS = {
    "ps": "arabic",
    "ckb": "arabic",
    "ur": "arabic",
    "am": "ethiopic",
    "bg": "cyrillic",
    "mk": "cyrillic",
    "sr": "cyrillic",
    "be": "cyrillic",
}


def words(text: str) -> int:
    return len(text.split())


def load(directory: Path) -> dict[str, dict]:
    sets: dict[str, dict] = {}
    for path in sorted(directory.glob("*.yml")):
        sets[path.stem] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return sets


def script_of_code(code: str | None) -> str | None:
    if code is None:
        return None
    return SCRIPTS.get(code) or OTHER_SCRIPTS.get(code) or "latin"


def evaluate(directory: Path) -> dict:
    sets = load(directory)
    report: dict[str, dict] = {"languages": {}}
    wrong_script = []
    for name, data in sets.items():
        if name not in SCRIPTS:
            continue
        long_ok = long_n = short_ok = short_unsure = short_n = 0
        confusions: Counter[str] = Counter()
        for text in data.get("messages") or []:
            found = language_id.detect(text).language
            if found is not None and script_of_code(found) != SCRIPTS[name]:
                wrong_script.append((name, found))
            if words(text) >= 3:
                long_n += 1
                long_ok += found == name
            else:
                short_n += 1
                short_ok += found == name
                short_unsure += found is None
            if found != name:
                confusions[str(found)] += 1
        report["languages"][name] = {
            "three_words_or_more": f"{long_ok}/{long_n}",
            "accuracy_3plus": round(100 * long_ok / max(long_n, 1), 1),
            "short": f"{short_ok} right, {short_unsure} unsure, {short_n - short_ok - short_unsure} wrong of {short_n}",
            "instead": dict(confusions.most_common(4)),
        }
    report["wrong_script"] = len(wrong_script)
    unsupported = (sets.get("unsupported") or {}).get("unsupported") or {}
    if unsupported:
        taken: Counter[str] = Counter()
        total = 0
        for code, texts in unsupported.items():
            for text in texts:
                total += 1
                found = language_id.detect(text).language
                if found in SCRIPTS:
                    taken[f"{code}->{found}"] += 1
        report["unsupported_taken_for_ours"] = f"{sum(taken.values())}/{total}"
        report["unsupported_confusions"] = dict(taken.most_common(8))
    for file, key in (("latin_transliterated", "arabizi"), ("latin_transliterated", "finglish"), ("mixed", "mixed")):
        texts = (sets.get(file) or {}).get(key) or []
        if texts:
            found = Counter(str(language_id.detect(text).language) for text in texts)
            report[key] = {"unsure": f"{found.get('None', 0)}/{len(texts)}", "named": dict(found.most_common(5))}
    report["speed"] = speed([t for data in sets.values() for t in data.get("messages") or []])
    return report


def speed(texts: list[str], rounds: int = 20) -> dict:
    language_id.warm_up()
    timings = []
    for _ in range(rounds):
        for text in texts:
            before = time.perf_counter()
            language_id.detect(text)
            timings.append(time.perf_counter() - before)
    timings.sort()
    return {
        "messages": len(timings),
        "p50_ms": round(statistics.median(timings) * 1000, 3),
        "p99_ms": round(timings[int(0.99 * (len(timings) - 1))] * 1000, 3),
    }


def main() -> None:
    directories = [Path(arg) for arg in sys.argv[1:]] or [HELDOUT]
    for directory in directories:
        report = {"set": str(directory), **evaluate(directory)}
        if directory == HELDOUT:
            save("language_id", report)
        print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
