"""Babel extraction method for Rasa domain files: every response text and button title.

Used by `pybabel extract` through babel.cfg. A response's text gets the response name as its
context; button titles get the context "button", so "Menu" is translated once for all responses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml

from bot.core.i18n import BUTTON_CONTEXT

LANGUAGE_PAYLOAD = "/change_language{"

Message = tuple[int, str, tuple[str, str], list[str]]


def _line_of(raw: str, needle: str) -> int:
    for number, line in enumerate(raw.splitlines(), start=1):
        if needle in line:
            return number
    return 0


def extract_domain(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[Message]:
    raw = fileobj.read().decode("utf-8")
    data = yaml.safe_load(raw) or {}
    for name, variations in (data.get("responses") or {}).items():
        for variation in variations or []:
            text = variation.get("text")
            if text:
                yield _line_of(raw, name + ":"), "pgettext", (name, text), [f"Response {name}"]
            for button in variation.get("buttons") or []:
                if str(button.get("payload", "")).startswith(LANGUAGE_PAYLOAD):
                    continue  # a language's name in its own script: never translated
                if button.get("title"):
                    yield _line_of(raw, button["title"]), "pgettext", (BUTTON_CONTEXT, button["title"]), []
