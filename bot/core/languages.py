"""The languages the assistant speaks, their names, and which one a reply should use."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError

#: Order is the order of the language menu.
SUPPORTED: tuple[str, ...] = ("en", "nl", "ar", "fa", "uk", "es", "ti", "so", "ru")
DEFAULT = "en"
#: The languages Rasa's intent model has examples for (nlu/<lang>/nlu.yml). People who write in the
#: others get every reply, article, button and crisis text in their language, and the safety screen
#: reads them, but a question in their own words is not understood yet: they get the menu.
UNDERSTOOD: tuple[str, ...] = ("en", "nl", "ar", "fa", "uk", "es")

# Telegram and phones send codes such as "fa-AF", "prs" (Dari) or "pt_BR".
_ALIASES = {
    "prs": "fa", "per": "fa", "dari": "fa", "ukr": "uk", "ara": "ar", "spa": "es", "dut": "nl",
    "tir": "ti", "som": "so", "tur": "tr", "rus": "ru",
}  # fmt: skip

# Names people type that Babel's CLDR data does not list (dialect names, short forms).
_EXTRA_NAMES = {
    "ar": ["عربي", "عربى", "arabi", "3arabi"],
    "fa": ["دری", "دري", "farsi", "dari", "parsi", "persian", "فارسي", "پارسی", "фарсі", "дарі"],
    "uk": ["українською", "по-українськи", "ukrainian", "украинский", "اوكراني", "أوكراني", "اوکراینی"],
    "nl": ["nederlands", "hollands", "dutch", "هولندي", "هلندی"],
    "es": ["español", "espanol", "castellano", "spanish", "اسباني", "إسباني", "اسپانیولی"],
    "en": ["english", "inglés", "ingles", "انجليزي", "انگلیسی", "англійською"],
    "ti": ["tigrinya", "tigrigna", "tigrina", "ትግርኛ", "ትግሪኛ", "tigrinja"],
    "so": ["somali", "soomaali", "af soomaali", "af-soomaali", "afsoomaali"],
    "tr": ["türkçe", "turkce", "turkish", "turks", "تركي", "ترکی"],
    "ru": ["русский", "по-русски", "по русски", "russian", "russisch", "російською", "روسي", "روسی"],
}

ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF]")
CYRILLIC = re.compile(r"[\u0400-\u04FF]")
ETHIOPIC = re.compile(r"[\u1200-\u137F]")
#: The adjective endings of language names in Ukrainian and Russian ("іспанська", "испанский").
_CYRILLIC_ENDING = re.compile(r"(ии|ыи|ои|ая|а)$")  # names are folded: й is и there

# Shown in the language menu; Persian speakers from Afghanistan call their language Dari.
_NATIVE_NAME_OVERRIDES = {"fa": "فارسی / دری"}


def normalize(code: str | None) -> str | None:
    """Maps a language tag ("fa-AF", "prs", "EN_us") to a supported code, or None."""
    if not code:
        return None
    base = re.split(r"[-_]", code.strip().lower())[0]
    base = _ALIASES.get(base, base)
    return base if base in SUPPORTED else None


def resolve(*candidates: str | None) -> str:
    """The first supported language among the candidates, else English."""
    for candidate in candidates:
        code = normalize(candidate)
        if code:
            return code
    return DEFAULT


def language_of(metadata: Mapping[str, Any] | None, slot_value: str | None) -> str:
    """The language of a reply: the message metadata, then the `language` slot, then English."""
    return resolve((metadata or {}).get("language"), slot_value)


@cache
def native_name(code: str) -> str:
    """The language's name in its own script, e.g. "العربية" for "ar"."""
    if code in _NATIVE_NAME_OVERRIDES:
        return _NATIVE_NAME_OVERRIDES[code]
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def is_rtl(code: str) -> bool:
    try:
        return Locale.parse(code).text_direction == "rtl"
    except (UnknownLocaleError, ValueError):
        return False


def fold(text: str) -> str:
    """Lower case without accents, for matching names people type."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def _name_index() -> tuple[tuple[str, str], ...]:
    """(folded name, code) for every supported language named in every supported language."""
    pairs: set[tuple[str, str]] = set()
    for code in SUPPORTED:
        names: Iterable[str] = [Locale.parse(shown_in).languages.get(code, "") for shown_in in SUPPORTED]
        for name in [*names, *_EXTRA_NAMES.get(code, [])]:
            if name:
                pairs.add((fold(name), code))
    # Longest first, so "فارسی (افغانستان)" wins over a shorter name inside it.
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def find_language_name(text: str) -> str | None:
    """The supported language a message names ("can we speak Arabic?" gives "ar"), or None. When it
    names several, the first one named counts ("Spanish or English" gives "es")."""
    folded = fold(text)
    found: list[tuple[int, int, str]] = []
    for name, code in _name_index():
        # Arabic script attaches prefixes to the name ("بالعربي", "وفارسی"), and Ge'ez script too
        # ("ብትግርኛ"), so no word boundary there.
        # Ukrainian and Russian decline the name ("іспанською", "по-испански", "на испанском"): match
        # the stem. Latin-script names end at a word boundary, so "Darija" (Moroccan Arabic) is not "Dari".
        if ARABIC_SCRIPT.match(name) or ETHIOPIC.match(name):
            pattern = re.escape(name)
        elif CYRILLIC.match(name):
            pattern = r"(?<!\w)" + re.escape(_CYRILLIC_ENDING.sub("", name))
        else:
            pattern = r"(?<!\w)" + re.escape(name) + r"(?!\w)"
        match = re.search(pattern, folded)
        if match:
            found.append((match.start(), -len(name), code))
    return min(found)[2] if found else None
