"""Right-to-left text in a client that picks each line's direction from its first letter.

Telegram lays out a line left to right when its first strong character is Latin, so an Arabic
line that begins with "113 Zelfmoordpreventie" or a link is shown in the wrong order. Catalogs and
articles are checked for such lines (`starts_left_to_right`), and replies in a right-to-left
language get a right-to-left mark before any line that still starts so, and their international
phone numbers a left-to-right isolate (`mark_right_to_left`).
"""

from __future__ import annotations

import re
import unicodedata

RLM = "\u200f"
#: Left-to-right isolate: "+31-800-0113" in a right-to-left line would otherwise show "31-800-0113+".
LRI, PDI = "\u2066", "\u2069"
_INTERNATIONAL_NUMBER = re.compile(r"\+\d[\d\- ]*\d")
_RIGHT_TO_LEFT = {"R", "AL"}


def first_strong_direction(line: str) -> str | None:
    """ "L" or "R" for the first character with a strong direction; None when there is none.
    A `{placeholder}` counts as left to right: it is filled with Latin text or digits."""
    for char in line:
        if char == "{":
            return "L"
        direction = unicodedata.bidirectional(char)
        if direction == "L":
            return "L"
        if direction in _RIGHT_TO_LEFT or char == RLM:
            return "R"
    return None


def starts_left_to_right(line: str) -> bool:
    return first_strong_direction(line) == "L"


def _has_right_to_left(line: str) -> bool:
    return any(unicodedata.bidirectional(char) in _RIGHT_TO_LEFT for char in line)


def mark_right_to_left(text: str) -> str:
    """The text with a right-to-left mark before each right-to-left line that starts with Latin
    text; a line wholly in Latin letters (an English text shown for lack of a translation) is left
    as it is. International phone numbers are kept left to right inside the line."""
    lines = []
    for line in text.split("\n"):
        if _has_right_to_left(line):
            line = _INTERNATIONAL_NUMBER.sub(lambda number: LRI + number.group() + PDI, line)
            if starts_left_to_right(line):
                line = RLM + line
        lines.append(line)
    return "\n".join(lines)
