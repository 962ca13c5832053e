"""The lexicon net: a message's risk level from every language's word lists (fast, explainable,
editable). bot/core/safety/nets.py combines it with the model net."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from bot import PROJECT_ROOT
from bot.core import languages
from bot.core.safety.lexicon import Lexicon, LexiconError
from bot.core.safety.normalize import normalize


class Level(str, Enum):
    NONE = "none"
    ASK = "ask"  # uncertain: ask the person directly whether they think of ending their life
    VIOLENCE = "violence"  # violence at home
    DISTRESS = "distress"
    THIRD_PARTY = "third_party"
    ACUTE = "acute"


@dataclass(frozen=True)
class Assessment:
    level: Level
    categories: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # the lexicons that matched: the language to answer in
    nets: tuple[str, ...] = ()  # which nets fired: "lexicon", "model", "context", "rasa"
    scores: tuple[tuple[str, float], ...] = ()  # the model net's probabilities, when it ran
    negated: bool = False  # a lexicon phrase matched right after a negation ("I would never ...")
    #: The message is an acute phrase of the word lists and little else ("quiero morirme"): no
    #: words around it that could make it an idiom, so the model net cannot overrule it.
    direct: bool = False

    @property
    def is_risk(self) -> bool:
        return self.level is not Level.NONE

    def to_json(self) -> str:
        return json.dumps(
            {
                "level": self.level.value,
                "categories": list(self.categories),
                "languages": list(self.languages),
                "nets": list(self.nets),
                "scores": {label: round(score, 3) for label, score in self.scores},
            },
            ensure_ascii=False,
        )


def safety_dir() -> Path:
    return Path(os.environ.get("SAFETY_DIR") or PROJECT_ROOT / "content" / "safety")


class SafetyScreen:
    def __init__(self, lexicons: dict[str, Lexicon]) -> None:
        self.lexicons = lexicons
        # An idiom is no risk whichever lexicon would otherwise match a word in it.
        self.idioms = [lexicon.not_risk for lexicon in lexicons.values() if lexicon.not_risk]

    @classmethod
    def load(cls, directory: Path | None = None) -> SafetyScreen:
        """Loads every supported language's lexicon; a missing or broken one stops start-up."""
        directory = directory or safety_dir()
        lexicons = {}
        for code in languages.SUPPORTED:
            path = directory / f"{code}.yml"
            if not path.exists():
                raise LexiconError(f"{path} is missing: every supported language needs a safety lexicon")
            lexicons[code] = Lexicon.load(path)
        return cls(lexicons)

    def is_yes(self, text: str) -> bool:
        """True when the whole message is a "yes" in one of the languages."""
        answer = normalize(text or "").strip()
        return any(answer in lexicon.yes_answers for lexicon in self.lexicons.values())

    def assess(self, text: str) -> Assessment:
        normalized = normalize(text or "")
        for idioms in self.idioms:
            normalized = _blank(idioms, normalized)
        found: dict[Level, set[str]] = {level: set() for level in Level}
        generic: set[str] = set()
        negated = False
        spans: list[tuple[int, int]] = []  # where specific acute phrases matched
        matched_languages: list[str] = []
        for code, lexicon in self.lexicons.items():
            searchable = normalized
            hit = False
            for level_name, categories in lexicon.categories.items():
                level = Level(level_name)
                for category, regex in categories.items():
                    match = regex.search(searchable)
                    if not match:
                        continue
                    hit = True
                    if level is Level.ACUTE and _negated(lexicon, searchable, match.start()):
                        found[Level.DISTRESS].add(f"{category}_negated")
                        negated = True
                    else:
                        found[level].add(category)
                        if category in lexicon.generic:
                            generic.add(category)
                        elif level is Level.ACUTE:
                            spans.append(match.span())
            if hit:
                matched_languages.append(code)
        if found[Level.THIRD_PARTY]:
            # "My friend talks about suicide": the word names no person, the sentence names someone else.
            found[Level.ACUTE] -= generic
        for level in (Level.ACUTE, Level.THIRD_PARTY, Level.DISTRESS):
            if found[level]:
                categories = sorted(
                    set().union(*(found[lv] for lv in (Level.ACUTE, Level.THIRD_PARTY, Level.DISTRESS)))
                )
                only_negated = level is Level.DISTRESS and all(c.endswith("_negated") for c in found[level])
                direct = level is Level.ACUTE and not negated and _little_else(normalized, spans)
                return Assessment(
                    level,
                    tuple(categories),
                    tuple(matched_languages),
                    ("lexicon",),
                    negated=negated and only_negated,
                    direct=direct,
                )
        return Assessment(Level.NONE)


#: Words a message may have besides its acute phrases and still be "direct" ("I want to die now").
DIRECT_EXTRA_WORDS = 2


def _little_else(text: str, spans: list[tuple[int, int]]) -> bool:
    """True when, without the matched phrases, at most DIRECT_EXTRA_WORDS words are left."""
    if not spans:
        return False
    rest = list(text)
    for start, end in spans:
        rest[start:end] = " " * (end - start)
    return len([word for word in "".join(rest).split() if any(ch.isalnum() for ch in word)]) <= DIRECT_EXTRA_WORDS


def _blank(pattern: re.Pattern[str], text: str) -> str:
    """Replaces idioms that are not risk ("the battery is dead") with spaces."""
    return pattern.sub(lambda match: " " * len(match.group()), text)


def _negated(lexicon: Lexicon, text: str, start: int) -> bool:
    """True when a negation ends right before the match ("I would never | kill myself")."""
    return bool(lexicon.negations and lexicon.negations.search(text[max(0, start - 40) : start]))
