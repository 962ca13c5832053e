"""Folds the ways people type the same words into one form, for lexicon matching.

Lexicon patterns go through the same function, so editors write words the natural way.
"""

from __future__ import annotations

import re
import unicodedata

# Zero-width characters, direction marks, and the Arabic tatweel (ـ) that stretches words.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u0640"), None)

# Arabic and Persian letter variants, and apostrophes.
_VARIANTS = str.maketrans(
    {
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
        "ى": "ي", "ی": "ي", "ئ": "ي",
        "ک": "ك", "ة": "ه", "ۀ": "ه", "ؤ": "و",
        "’": "'", "‘": "'", "`": "'", "ʼ": "'",
        "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4", "۵": "5", "۶": "6", "۷": "7", "۸": "8", "۹": "9",
        "٠": "0", "١": "1", "٢": "2", "٣": "3", "٤": "4", "٥": "5", "٦": "6", "٧": "7", "٨": "8", "٩": "9",
    }
)  # fmt: skip

_PUNCTUATION = re.compile(r"[^\w\s']+")
_REPEATS = re.compile(r"([^\W\d_])\1+")  # letters only: "dieeee" and "die" meet as "die", "kill" as "kil"
_PERSIAN_MI = re.compile(r"(?<!\S)(ن?مي) (?=\S)")  # "مي خوام" and "ميخوام" → "ميخوام"
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower case, no accents or vowel marks, one letter form, single spaces, padded with spaces."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_INVISIBLE)
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    text = text.translate(_VARIANTS)
    text = _PUNCTUATION.sub(" ", text)
    text = _REPEATS.sub(r"\1", text)
    text = _PERSIAN_MI.sub(r"\1", text)
    return " " + _SPACES.sub(" ", text).strip() + " "
