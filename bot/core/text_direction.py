"""Right-to-left text in a client that lays out each line by the Unicode bidirectional algorithm.

Telegram lays out a line left to right when its first strong character is Latin, so an Arabic
line that begins with "113 Zelfmoordpreventie" or a link is shown in the wrong order. Catalogs and
articles are checked for such lines (`starts_left_to_right`).

Numbers need help too: after Arabic or Persian letters, the algorithm reads digits as Arabic
numbers, and "0800-0113 / +31-800-0113" falls apart into "0113-0800 / 0113-800-31+". A
left-to-right mark on both sides of every run of digits keeps it whole and in reading order, and
keeps "113 Zelfmoordpreventie" together (`mark_right_to_left`, for every reply in a right-to-left
language).
"""

from __future__ import annotations

import re
import unicodedata

RLM, LRM = "\u200f", "\u200e"
_RIGHT_TO_LEFT = {"R", "AL"}
#: A number as people copy it: digits with - / + . : and spaces between them ("0800-0113 / +31-800-0113").
_NUMBER = re.compile(r"(?<![\w./:@-])\+?\d(?:[\d\-/+.: ]*\d)?(?![\w/@]|\.\w)")  # not inside a link


def first_strong_direction(line: str) -> str | None:
    """ "L" or "R" for the first character with a strong direction; None when there is none.
    A `{placeholder}` counts as left to right: it is filled with Latin text or digits."""
    for char in line:
        if char == "{":
            return "L"
        direction = unicodedata.bidirectional(char)
        if direction == "L":
            return "L"
        if direction in _RIGHT_TO_LEFT:
            return "R"
    return None


def starts_left_to_right(line: str) -> bool:
    return first_strong_direction(line) == "L"


def _has_right_to_left(line: str) -> bool:
    return any(unicodedata.bidirectional(char) in _RIGHT_TO_LEFT for char in line)


def mark_right_to_left(text: str) -> str:
    """The text laid out for a right-to-left reader: numbers between left-to-right marks, and a
    right-to-left mark before a line that would otherwise start left to right. A line wholly in
    Latin letters (an English text shown for lack of a translation) is left as it is."""
    lines = []
    for line in text.split("\n"):
        if _has_right_to_left(line):
            line = _NUMBER.sub(lambda number: LRM + number.group() + LRM, line)
            if starts_left_to_right(line):
                line = RLM + line
        lines.append(line)
    return "\n".join(lines)
