"""Safety lexicons (content/safety/<lang>.yml), compiled into regular expressions.

Pattern syntax, for editors:
  - words separated by spaces:       kill myself
  - a word ending in * matches any ending:   suicid*   (suicide, suicidal)
  - ~ between words allows up to three other words there:   want ~ die
Arabic-script words also match with attached prefixes (و, ب, ال...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.languages import ARABIC_SCRIPT
from bot.core.safety.normalize import normalize

LEVELS = ("acute", "third_party", "distress")


class LexiconError(ValueError):
    """A lexicon file is missing something or has a malformed pattern."""


def _word(stem: str, wildcard: bool) -> str:
    left = "" if ARABIC_SCRIPT.match(stem) else r"(?<!\w)"
    right = r"\w*" if wildcard else r"(?!\w)"
    return left + re.escape(stem) + right


def compile_pattern(pattern: str) -> str:
    """One phrase as a regular expression over normalized text (see the module docstring)."""
    parts: list[str] = []
    for token in pattern.replace("~", " ~ ").split():
        if token == "~":
            if not parts:
                raise LexiconError(f"pattern {pattern!r} starts with ~")
            parts.append(r"(?:\s+\S+){0,3}")
            continue
        wildcard = token.endswith("*")
        words = normalize(token.rstrip("*")).split()
        for index, word in enumerate(words):
            piece = _word(word, wildcard and index == len(words) - 1)
            parts.append(r"\s+" + piece if parts else piece)
        if not words and wildcard:  # a lone * stands for any one word
            parts.append(r"\s+\S+" if parts else r"\S+")
    if not parts:
        raise LexiconError(f"pattern {pattern!r} is empty")
    return "".join(parts)


def compile_patterns(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{compile_pattern(p)})" for p in patterns)) if patterns else None


@dataclass
class Lexicon:
    language: str
    categories: dict[str, dict[str, re.Pattern[str]]] = field(default_factory=dict)  # level → category → regex
    not_risk: re.Pattern[str] | None = None
    negations: re.Pattern[str] | None = None
    generic: set[str] = field(default_factory=set)  # categories that name no person ("suicide")
    yes_answers: set[str] = field(default_factory=set)  # whole messages that answer the question with yes

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise LexiconError(f"{path} cannot be read: {error}") from error
        lexicon = cls(language=data.get("language") or path.stem)
        for level in LEVELS:
            for category, patterns in (data.get(level) or {}).items():
                if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
                    raise LexiconError(f"{path}: {level}.{category} must be a list of phrases")
                try:
                    lexicon.categories.setdefault(level, {})[category] = compile_patterns(patterns)
                except (re.error, LexiconError) as error:
                    raise LexiconError(f"{path}: {level}.{category}: {error}") from error
        lexicon.categories = {
            level: {name: regex for name, regex in found.items() if regex}
            for level, found in lexicon.categories.items()
        }
        for key in ("not_risk", "negations"):
            if not all(isinstance(p, str) for p in data.get(key) or []):
                raise LexiconError(f"{path}: every entry of {key} must be text (quote words like no, yes, on)")
        lexicon.not_risk = compile_patterns(data.get("not_risk") or [])
        negations = data.get("negations") or []
        # A negation counts only right before the risk phrase: "I would never kill myself".
        lexicon.negations = (
            re.compile(f"(?:{'|'.join(compile_pattern(p) for p in negations)})\\s*$") if negations else None
        )
        lexicon.generic = set(data.get("generic_categories") or [])
        lexicon.yes_answers = {normalize(str(answer)).strip() for answer in data.get("yes_answers") or []}
        return lexicon
