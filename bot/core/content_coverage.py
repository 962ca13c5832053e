"""`python -m bot content coverage [--markdown]`: how far each language is, in one table: the
bot's texts translated, the articles written, the intent examples (the intent with the fewest
names where a language is thin), the safety word lists and examples, the held-out sets, and the
entries a native speaker still has to review. Intent accuracy on the held-out set needs a trained
Rasa model: `make test` measures it (tests/measurements/test_rasa_checks.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from babel.messages.pofile import read_po

from bot import PROJECT_ROOT
from bot.core.content_check import intent_examples
from bot.core.languages import SUPPORTED

REVIEW_MARK = "needs review by a native speaker"


@dataclass(frozen=True)
class Row:
    language: str
    texts: str
    articles: str
    intents: str
    lexicon: int
    safety_examples: int
    heldout_nlu: int
    heldout_safety: int
    to_review: int


def yaml_of(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}


def examples_per_intent(folder: Path) -> Counter:
    """Per intent, the examples of one language (nlu/<lang>/: nlu.yml and more_topics.yml)."""
    return Counter(intent for path in sorted(folder.glob("*.yml")) for intent, _ in intent_examples(path))


def phrases(data: object) -> int:
    """The number of strings in a nested YAML structure (a word list or an examples file)."""
    if isinstance(data, str):
        return 1
    if isinstance(data, dict):
        return sum(phrases(value) for key, value in data.items() if key != "language")
    if isinstance(data, list):
        return sum(phrases(item) for item in data)
    return 0


def catalog(path: Path) -> list:
    with path.open("rb") as handle:
        return list(read_po(handle))


def row(language: str, root: Path) -> Row:
    template = {(m.context, m.id) for m in catalog(root / "locales" / "messages.pot") if m.id}
    if language == "en":
        texts = f"{len(template)}/{len(template)}"
    else:
        path = root / "locales" / language / "LC_MESSAGES" / "messages.po"
        done = (
            {(m.context, m.id) for m in catalog(path) if m.id and m.string and not m.fuzzy} if path.exists() else set()
        )
        texts = f"{len(template & done)}/{len(template)}"
    topics = list(yaml_of(root / "content" / "topics.yml").get("topics") or {})
    written = sum((root / "content" / language / f"{topic}.md").exists() for topic in topics)
    english = examples_per_intent(root / "nlu" / "en")
    own = examples_per_intent(root / "nlu" / language)
    if own:
        thinnest = min(english, key=lambda intent: own.get(intent, 0))
        intents = f"{sum(own.values())} (fewest: {own.get(thinnest, 0)}, {thinnest})"
    else:
        intents = "none"
    review = 0
    for path in [
        root / "locales" / language / "LC_MESSAGES" / "messages.po",
        *sorted((root / "content" / language).glob("*")),
    ]:
        if path.is_file():
            review += path.read_text(encoding="utf-8", errors="replace").count(REVIEW_MARK)
    heldout = [root / "tests" / "nlu" / f"{language}.yml", root / "tests" / "nlu" / "more_topics" / f"{language}.yml"]
    heldout_nlu = sum(1 for path in heldout if path.exists() for _ in intent_examples(path))
    return Row(
        language=language,
        texts=texts,
        articles=f"{written}/{len(topics)}",
        intents=intents,
        lexicon=phrases({k: v for k, v in yaml_of(root / "content" / "safety" / f"{language}.yml").items()}),
        safety_examples=phrases(yaml_of(root / "content" / "safety" / "examples" / f"{language}.yml")),
        heldout_nlu=heldout_nlu,
        heldout_safety=phrases(yaml_of(root / "tests" / "safety" / "heldout" / f"{language}.yml")),
        to_review=review,
    )


def languages(root: Path) -> list[str]:
    """The bot's languages, then those with only safety examples so far (Tigrinya, Somali, ...)."""
    planned = sorted(path.stem for path in (root / "content" / "safety" / "examples").glob("*.yml"))
    return [*SUPPORTED, *(code for code in planned if code not in SUPPORTED)]


HEADERS = (
    "lang",
    "texts translated",
    "articles",
    "intent examples",
    "safety word list",
    "safety examples",
    "held-out intents",
    "held-out safety",
    "to review",
)


def table(root: Path = PROJECT_ROOT) -> list[list[str]]:
    rows = [row(language, root) for language in languages(root)]
    return [
        [
            r.language,
            r.texts,
            r.articles,
            r.intents,
            str(r.lexicon),
            str(r.safety_examples),
            str(r.heldout_nlu),
            str(r.heldout_safety),
            str(r.to_review),
        ]
        for r in rows
    ]


def render(rows: list[list[str]], markdown: bool = False) -> str:
    if markdown:
        lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in rows])
    widths = [max(len(cells[i]) for cells in [list(HEADERS), *rows]) for i in range(len(HEADERS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        for cells in [list(HEADERS), *rows]
    )


def main(markdown: bool = False, root: Path = PROJECT_ROOT) -> int:
    print(render(table(root), markdown))
    return 0
