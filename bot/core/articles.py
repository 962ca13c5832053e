"""Self-care articles and exercises from content/<language>/<topic>.md.

An article file starts with a `# Title` line; its parts are separated by a line with `---`, and
each part is sent as one message. content/topics.yml says which intent asks for which topic and
which topic to offer next. A missing translation falls back to English.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot import PROJECT_ROOT
from bot.core.organisation import load_organisation
from bot.core.resources import load_resources

log = logging.getLogger(__name__)

FALLBACK_LANGUAGE = "en"
MAX_PART_CHARS = 3500  # one Telegram message holds 4,096 characters; leave room for formatting


class _KeepUnknown(dict):
    """Leaves a {placeholder} that has no value as it is, instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill_placeholders(text: str, language: str) -> str:
    """Fills {crisis_line_phone}, {programme_name} and the like into an article's text."""
    values = _KeepUnknown({**load_resources(), **load_organisation().variables(language)})
    try:
        return text.format_map(values)
    except (ValueError, IndexError):  # a stray "{" in an article: show it as written
        return text


class ContentError(Exception):
    """The content for a topic is missing or cannot be read."""


@dataclass(frozen=True)
class Article:
    topic: str
    language: str
    title: str
    parts: tuple[str, ...]


#: The topics behind "More topics" are not Rasa intents of their own: they are the menu asked for by
#: name, /show_menu{"topic": "grief"}, and the menu's second page, /show_menu{"page": 2}, is "More topics".
MENU_INTENT = "show_menu"


def menu_payload(entities: dict[str, str | int]) -> str:
    """A button's payload that asks for the menu with these entities."""
    return f"/{MENU_INTENT}{json.dumps(entities)}"


@dataclass(frozen=True)
class Topic:
    name: str
    intent: str | None  # the Rasa intent that asks for it; None: asked for by name (`payload`)
    next_topic: str

    @property
    def payload(self) -> str:
        """What a button sends to ask for this topic."""
        return f"/{self.intent}" if self.intent else menu_payload({"topic": self.name})


def content_dir() -> Path:
    return Path(os.environ.get("CONTENT_DIR") or PROJECT_ROOT / "content")


def parse_article(topic: str, language: str, text: str, max_part_chars: int | None = MAX_PART_CHARS) -> Article:
    """An article's title and parts; `max_part_chars=None` leaves the parts' length to the caller."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ContentError(f"{language}/{topic}.md must start with a '# Title' line")
    title = lines[0][2:].strip()
    body = "\n".join(lines[1:])
    parts = tuple(part.strip() for part in body.split("\n---\n") if part.strip())
    if not title or not parts:
        raise ContentError(f"{language}/{topic}.md has a title but no text")
    too_long = [index + 1 for index, part in enumerate(parts) if max_part_chars and len(part) > max_part_chars]
    if too_long:
        raise ContentError(f"{language}/{topic}.md: part(s) {too_long} are longer than {max_part_chars} characters")
    return Article(topic=topic, language=language, title=title, parts=parts)


class Library:
    """Reads articles from disk on each request, so editors' changes show at once."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or content_dir()

    def topics(self) -> dict[str, Topic]:
        path = self.root / "topics.yml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            return {
                name: Topic(name=name, intent=(entry or {}).get("intent"), next_topic=(entry or {}).get("next", name))
                for name, entry in data["topics"].items()
            }
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
            raise ContentError(f"{path} cannot be read: {type(error).__name__}") from error

    def topic_for_intent(self, intent: str) -> Topic:
        for topic in self.topics().values():
            if topic.intent == intent:
                return topic
        raise ContentError(f"no topic in topics.yml for intent {intent!r}")

    def read(self, topic: str, language: str) -> Article:
        path = self.root / language / f"{topic}.md"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as error:
            raise ContentError(f"{language}/{topic}.md does not exist") from error
        except (OSError, UnicodeDecodeError) as error:
            raise ContentError(f"{language}/{topic}.md cannot be read: {type(error).__name__}") from error
        return parse_article(topic, language, fill_placeholders(text, language))

    def article(self, topic: str, language: str) -> Article:
        """The article in `language`, else in English. Raises ContentError if neither works."""
        try:
            return self.read(topic, language)
        except ContentError as error:
            if language == FALLBACK_LANGUAGE:
                raise
            log.warning("Content problem, serving English instead: %s", error)
            return self.read(topic, FALLBACK_LANGUAGE)
