"""Recall and false alarms of the safety screen on a labelled set (tests/safety/<lang>.yml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.safety.screen import Level, SafetyScreen

#: A message of this label counts as caught when the screen says one of these levels.
CAUGHT_AS = {
    "acute": {Level.ACUTE},
    "distress": {Level.DISTRESS, Level.ACUTE},  # a higher level is a safe answer
    "third_party": {Level.THIRD_PARTY, Level.ACUTE},
}


@dataclass
class LanguageResult:
    language: str
    caught: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    false_alarms: int = 0
    negatives: int = 0
    missed: list[tuple[str, str, str]] = field(default_factory=list)  # (label, message, level said)

    def recall(self, label: str) -> float:
        return self.caught.get(label, 0) / self.total[label] if self.total.get(label) else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.negatives if self.negatives else 0.0


def evaluate(screen: SafetyScreen, directory: Path) -> dict[str, LanguageResult]:
    results = {}
    for path in sorted(directory.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        result = LanguageResult(language=path.stem)
        for label, wanted in CAUGHT_AS.items():
            for message in data.get(label) or []:
                level = screen.assess(message).level
                result.total[label] = result.total.get(label, 0) + 1
                if level in wanted:
                    result.caught[label] = result.caught.get(label, 0) + 1
                else:
                    result.missed.append((label, message, level.value))
        for message in data.get("none") or []:
            level = screen.assess(message).level
            result.negatives += 1
            if level is not Level.NONE:
                result.false_alarms += 1
                result.missed.append(("none", message, level.value))
        results[path.stem] = result
    return results


def report(results: dict[str, LanguageResult]) -> str:
    lines = [f"{'lang':5} {'acute':>12} {'distress':>12} {'third party':>12} {'false alarms':>14}"]
    for result in results.values():
        cells = [
            f"{result.recall(label):.0%} ({result.caught.get(label, 0)}/{result.total.get(label, 0)})"
            for label in CAUGHT_AS
        ]
        alarms = f"{result.false_alarm_rate:.0%} ({result.false_alarms}/{result.negatives})"
        lines.append(f"{result.language:5} {cells[0]:>12} {cells[1]:>12} {cells[2]:>12} {alarms:>14}")
    for result in results.values():
        for label, message, level in result.missed:
            lines.append(f"  missed [{result.language}] {label} → {level}: {message}")
    return "\n".join(lines)
