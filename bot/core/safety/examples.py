"""Labelled safety messages: the model net's training data (content/safety/examples/<lang>.yml)
and the frozen held-out evaluation set (tests/safety/heldout/<lang>.yml).

Both use the labels and categories of content/safety/taxonomy.yml:

    language: en
    acute:
      plan:
        - "tonight when everyone sleeps"
    none:
      idiom:
        - "this queue is killing me"
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot import PROJECT_ROOT

#: The labels, in the order of the model's outputs; "none" first.
LABELS = ("none", "acute", "distress", "third_party", "violence")

EXAMPLES_DIR = PROJECT_ROOT / "content" / "safety" / "examples"
HELDOUT_DIR = PROJECT_ROOT / "tests" / "safety" / "heldout"
TAXONOMY = PROJECT_ROOT / "content" / "safety" / "taxonomy.yml"


class ExamplesError(ValueError):
    """An examples file does not have the expected shape; the message names file and place."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    category: str
    language: str


def taxonomy() -> dict[str, dict[str, str]]:
    return yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))


def load_file(path: Path, known: dict[str, dict[str, str]] | None = None) -> list[Example]:
    """Reads one language's file; categories must be those of the taxonomy."""
    known = known if known is not None else taxonomy()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ExamplesError(f"{path} cannot be read: {error}") from error
    language = str(data.get("language") or path.stem)
    examples = []
    for label, categories in data.items():
        if label == "language":
            continue
        if label not in LABELS:
            raise ExamplesError(f"{path}: unknown label {label!r}; use one of {', '.join(LABELS)}")
        if not isinstance(categories, dict):
            raise ExamplesError(f"{path}: {label} must list categories, each with its messages")
        for category, messages in categories.items():
            if category not in known.get(label, {}):
                raise ExamplesError(f"{path}: {label}.{category} is not a category of {TAXONOMY.name}")
            if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
                raise ExamplesError(f"{path}: {label}.{category} must be a list of quoted messages")
            examples += [Example(m.strip(), label, category, language) for m in messages if m.strip()]
    return examples


def load_dir(directory: Path) -> list[Example]:
    known = taxonomy()
    return [example for path in sorted(directory.glob("*.yml")) for example in load_file(path, known)]


#: The Rasa intents whose examples are risk; every other intent's examples are everyday messages.
NLU_RISK_INTENTS = {"express_acute_risk": "acute", "express_distress": "distress"}


def nlu_examples(per_intent: int = 1000) -> list[Example]:
    """The training examples of every Rasa intent (nlu/<lang>/, never the held-out tests/nlu/):
    the questions people bring to the bot ("I keep waking up at night") are its everyday topics and
    must get the article, not an alarm."""
    examples = []
    for path in sorted((PROJECT_ROOT / "nlu").glob("*/*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" not in block or (block.get("metadata") or {}).get("safety_net") == "skip":
                continue  # not an intent, or not (yet) among the model net's examples: see the block's comment
            lines = [
                line.strip()[2:].strip() for line in block["examples"].splitlines() if line.strip().startswith("- ")
            ]
            chosen = sorted(lines, key=lambda line: hashlib.sha256(line.encode()).hexdigest())[:per_intent]
            label = NLU_RISK_INTENTS.get(block["intent"], "none")
            examples += [Example(line, label, f"nlu_{block['intent']}", path.parent.name) for line in chosen]
    return examples


def fingerprint(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.label}\t{example.text}\n".encode())
    return digest.hexdigest()[:16]
