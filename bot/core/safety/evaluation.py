"""Recall and false alarms of the safety screen on a labelled set (tests/safety/<lang>.yml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.safety.screen import Level, SafetyScreen

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


# --- the whole screen (every net) on sets with categories: tests/safety/heldout/ ---------------

#: What counts as caught for each label, and which levels are a question rather than a reply.
REPLY_LEVELS = {Level.ACUTE, Level.DISTRESS, Level.THIRD_PARTY, Level.VIOLENCE}
CAUGHT_BY_REPLY = {
    "acute": {Level.ACUTE},
    "distress": {Level.DISTRESS, Level.ACUTE},
    "third_party": {Level.THIRD_PARTY, Level.ACUTE},
    "violence": {Level.VIOLENCE, Level.ACUTE},
}
#: The goals of the held-out evaluation, per language (see README, "How well the screen works").
GOALS = {
    "acute_reply": 0.90,
    "acute_any": 1.0,
    "distress": 0.90,
    "third_party": 0.90,
    "false_reply": 0.02,
    "false_ask": 0.08,
}


@dataclass
class Tally:
    total: int = 0
    reply: int = 0  # caught with the reply for its label (or a higher one)
    ask: int = 0  # met with the question

    def share(self, count: int) -> float:
        return count / self.total if self.total else float("nan")


def tally(levels: list[tuple[str, str, str, Level]]) -> dict[str, dict[str, Tally]]:
    """(language, label, category, level said) rows → language → label → Tally."""
    result: dict[str, dict[str, Tally]] = {}
    for language, label, _category, level in levels:
        cell = result.setdefault(language, {}).setdefault(label, Tally())
        cell.total += 1
        if label == "none":
            cell.reply += level in REPLY_LEVELS
            cell.ask += level is Level.ASK
        else:
            cell.reply += level in CAUGHT_BY_REPLY[label]
            cell.ask += level is Level.ASK
    return result


def figures(cells: dict[str, Tally]) -> dict[str, float]:
    """The figures the goals speak of, for one language."""
    acute, distress = cells.get("acute", Tally()), cells.get("distress", Tally())
    third, none = cells.get("third_party", Tally()), cells.get("none", Tally())
    violence = cells.get("violence", Tally())
    return {
        "acute_reply": acute.share(acute.reply),
        "acute_any": acute.share(acute.reply + acute.ask),
        "distress": distress.share(distress.reply + distress.ask),
        "third_party": third.share(third.reply),
        "violence": violence.share(violence.reply),
        "false_reply": none.share(none.reply),
        "false_ask": none.share(none.ask),
    }


def markdown_report(table: dict[str, dict[str, Tally]]) -> str:
    """Per language: every figure with the number of messages behind it."""
    head = (
        "| lang | acute: crisis reply | acute: reply or question | distress: reply or question | third party | "
        "violence at home | everyday: crisis reply | everyday: question |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for language, cells in sorted(table.items()):
        numbers = figures(cells)
        acute, distress = cells.get("acute", Tally()), cells.get("distress", Tally())
        third, violence, none = (
            cells.get("third_party", Tally()),
            cells.get("violence", Tally()),
            cells.get("none", Tally()),
        )
        counts = {
            "acute_reply": (acute.reply, acute.total),
            "acute_any": (acute.reply + acute.ask, acute.total),
            "distress": (distress.reply + distress.ask, distress.total),
            "third_party": (third.reply, third.total),
            "violence": (violence.reply, violence.total),
            "false_reply": (none.reply, none.total),
            "false_ask": (none.ask, none.total),
        }
        row = [f"{numbers[key]:.0%} ({caught}/{total})" for key, (caught, total) in counts.items()]
        lines.append(f"| {language} | " + " | ".join(row) + " |")
    return "\n".join(lines)
