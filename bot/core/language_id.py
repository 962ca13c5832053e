"""Which language a message is written in, read from its text alone, offline, in well under a
millisecond.

The script decides first: Ge'ez is Tigrinya (or Amharic), Cyrillic and Arabic script have letters
that tell their languages apart (і ї є ґ are Ukrainian, ы э ё Russian; ک ی پ ژ Persian, ٹ ڈ ڑ Urdu,
ښ ږ Pashto, ڕ ڵ ێ Sorani). Where the letters do not decide, and for Latin script, the
language-identification model of `lingua-language-detector` (pinned; its models are inside the
wheel) compares the languages of that script. It also knows languages the bot does not speak, so
that French is recognised as French, and a message that no language explains well (Arabic or
Persian in Latin letters, one word, two languages mixed) is reported as not confident: the caller
then keeps the language in use. Measured on short chat messages in bench/language_id.py and the
README.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

#: The languages the model compares, per script: the bot's languages (now and planned) and the
#: languages people in the Netherlands write that are easily taken for them.
#: Languages the model compares but never names: Arabic and Persian in Latin letters resemble
#: them more than any of ours, so a message they win is reported as not confident (the language
#: in use stays). Afrikaans is left out: Dutch learners' Dutch looks like it.
STAND_INS = ("id", "ms", "tl", "sw", "da", "sv", "nb", "ca", "hr", "cy")
LATIN = ("en", "nl", "es", "tr", "so", "fr", "de", "pt", "it", "pl", "ro", "sq", *STAND_INS)
ARABIC = ("ar", "fa")  # Urdu, Pashto and Sorani have letters of their own
CYRILLIC = ("uk", "ru", "bg")

#: Letters only one language of its script uses (or one group that none of ours belongs to).
_PASHTO = set("ټډړږښګڼۍېځڅ")
_SORANI = set("ڕڵۆێە")
_URDU = set("ٹڈڑںےھہۃ")
_PERSIAN = set("کیپژ")  # Arabic keyboards give ك ي instead; چ and گ are Iraqi and Gulf Arabic too
_UKRAINIAN = set("іїєґ")
_RUSSIAN = set("ыэё")
#: Kurmanji (Kurdish in Latin letters) writes ê and û, Turkish never does.
_KURMANJI = set("êû")
_TURKISH = set("ığ")
#: Tigrinya writes ኣ where Amharic writes አ, and has ቐ ቑ ... (q' with a breath) of its own.
_TIGRINYA = set("ኣቐቑቒቓቔቕቖ")
_AMHARIC_WORDS = ("ነው", "አለ", "እንዴት", "ምን", "የለም", "እባክ", "አመሰግናለሁ", "ናቸው")

#: Arabic or Persian written in Latin letters uses digits for the sounds Latin lacks ("3am", "7abibi").
_ARABIZI = re.compile(r"(?<![\d])[a-z]*[235789][a-z]+|[a-z]+[235789](?![\d])", re.IGNORECASE)

_SCRIPTLESS_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]+")
#: Dutch words that people of every language use for the asylum procedure, left out for the model.
_LOANWORDS = re.compile(r"\b(azc|ind|coa|huisarts|gemeente|gehoor|ggz|ter apel|vreemdelingenpolitie)\b", re.IGNORECASE)

#: How sure the model must be, and how far ahead of the next language, to name a language.
#: A message of one or two words gives the model little to go on, so it must be surer then.
MIN_CONFIDENCE, MIN_RATIO = 0.15, 1.3
MIN_CONFIDENCE_SHORT, MIN_RATIO_SHORT = 0.2, 1.5
#: How sure the model must be to read Arabic-script text without Persian letters as Persian.
PERSIAN_WITHOUT_ITS_LETTERS = 0.8
#: The first this many characters tell the language as well as the whole message, in bounded time.
MAX_CHARS = 160
#: A message this short (in letters) is not enough for the model ("ok", "hi").
MIN_LETTERS = 3


@dataclass(frozen=True)
class Detection:
    """`language`: an ISO 639-1 code (or "ckb"), None when the text does not tell; it may be a
    language the bot does not speak. `script`: latin, arabic, cyrillic, ethiopic, other or none."""

    language: str | None
    script: str
    confidence: float = 0.0
    reason: str = ""

    @property
    def confident(self) -> bool:
        return self.language is not None


UNSURE = Detection(None, "none")


def script_of(ch: str) -> str:
    name = unicodedata.name(ch, "")
    for script in ("LATIN", "ARABIC", "CYRILLIC", "ETHIOPIC"):
        if name.startswith(script):
            return script.lower()
    return "other"


def detect(text: str) -> Detection:
    """The language of one message; see the module's docstring."""
    text = text[:MAX_CHARS]
    letters = [ch for ch in text.casefold() if ch.isalpha()]
    if not letters:
        return UNSURE
    scripts = Counter(script_of(ch) for ch in letters)
    script, count = scripts.most_common(1)[0]
    if script != "latin" and count + scripts["latin"] == len(letters) and count >= 0.5 * len(letters):
        # Words in Latin letters inside Arabic, Cyrillic or Ge'ez text are nearly always Dutch
        # names of places and offices ("الhuisarts", "мой huisarts"); the rest tells the language.
        text = " ".join(word for word in _SCRIPTLESS_LATIN.sub(" ", text).split())
        letters = [ch for ch in letters if script_of(ch) == script]
    elif count < 0.8 * len(letters):
        return Detection(None, "mixed", reason="two scripts")
    else:
        text = _LOANWORDS.sub(" ", text)
    present = set(letters)
    if script == "ethiopic":
        amharic = sum(text.count(word) for word in _AMHARIC_WORDS) + text.count("አ")
        tigrinya = sum(text.count(ch) for ch in _TIGRINYA)
        return Detection("am" if amharic > tigrinya else "ti", script, 1.0, "letters")
    if script == "arabic":
        for letters_of, code in ((_PASHTO, "ps"), (_SORANI, "ckb"), (_URDU, "ur")):
            if present & letters_of:
                return Detection(code, script, 1.0, "letters")
        if present & _PERSIAN:
            return Detection("fa", script, 1.0, "letters")
        found = _by_model(text, script, ARABIC, len(letters))
        if found.language != "ar" and found.confidence < PERSIAN_WITHOUT_ITS_LETTERS:
            # Persian typed without ک ی پ ژ (an Arabic keyboard) is rarer than Arabic dialect the
            # model has seen little of ("ازيك عامل ايه"): only a clear verdict counts.
            return Detection(None, script, found.confidence, f"model unsure ({found.language})")
        return found
    if script == "cyrillic":
        ukrainian, russian = present & _UKRAINIAN, present & _RUSSIAN
        if ukrainian and not russian:
            return Detection("uk", script, 1.0, "letters")
        if russian and not ukrainian:
            return Detection("ru", script, 1.0, "letters")
        if ukrainian and russian:
            return Detection(None, script, reason="Ukrainian and Russian letters")
        return _by_model(text, script, CYRILLIC, len(letters))
    if script == "latin":
        if _ARABIZI.search(text):
            return Detection(None, script, reason="digits for letters")
        if present & _KURMANJI and not present & _TURKISH:
            return Detection("ku", script, 1.0, "letters")
        return _by_model(text, script, LATIN, len(letters))
    return Detection(None, script, reason="a script the bot does not read")


def _by_model(text: str, script: str, candidates: tuple[str, ...], letters: int) -> Detection:
    if letters < MIN_LETTERS:
        return Detection(None, script, reason="too short")
    values = _detector(candidates).compute_language_confidence_values(text)
    best, second = values[0], values[1] if len(values) > 1 else None
    confidence = best.value
    ratio = confidence / max(second.value if second else 0.0, 1e-9)
    code = best.language.iso_code_639_1.name.lower()
    short = len(text.split()) < 3
    least, ratio_needed = (MIN_CONFIDENCE_SHORT, MIN_RATIO_SHORT) if short else (MIN_CONFIDENCE, MIN_RATIO)
    if confidence < least or ratio < ratio_needed or code in STAND_INS:
        return Detection(None, script, confidence, f"model unsure ({code})")
    return Detection(code, script, confidence, "model")


@cache
def _detector(candidates: tuple[str, ...]) -> LanguageDetector:
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in candidates]
    # High accuracy mode: clearly better on short messages than the trigram-only low accuracy
    # mode (bench/language_id.py); its models take about 600 MB, loaded once.
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()


def warm_up() -> None:
    """Loads every model now, so the first message does not wait for it."""
    for candidates in (LATIN, ARABIC, CYRILLIC):
        _detector(candidates).compute_language_confidence_values("warm up")
