"""Gettext catalogs (compiled by Babel) for every language, with English as the fallback.

Every text the assistant shows is an English msgid with a context (msgctxt): the response name
for texts from domain/responses.yml, "button" for button titles, "bot" for the front end's own
texts. A missing or broken catalog never shows a raw key: the English text is used instead.
"""

from __future__ import annotations

import gettext
import logging
import os
import threading
import time
from pathlib import Path

from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from bot import PROJECT_ROOT

log = logging.getLogger(__name__)

DOMAIN = "messages"
BUTTON_CONTEXT = "button"  # msgctxt of button titles, shared by all responses
_RECHECK_SECONDS = 2.0


class Catalogs:
    """Loads each language's compiled catalog lazily and reloads it when the file changes."""

    def __init__(self, locales_dir: Path | None = None) -> None:
        self.locales_dir = Path(locales_dir or os.environ.get("LOCALES_DIR") or PROJECT_ROOT / "locales")
        self._cache: dict[str, tuple[float, gettext.NullTranslations]] = {}
        self._checked: dict[str, float] = {}
        self._lock = threading.Lock()

    def _mo_path(self, language: str) -> Path:
        return self.locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.mo"

    def translations(self, language: str) -> gettext.NullTranslations:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(language)
            if cached and now - self._checked.get(language, 0.0) < _RECHECK_SECONDS:
                return cached[1]
            self._checked[language] = now
            path = self._mo_path(language)
            try:
                mtime = path.stat().st_mtime
            except OSError:
                mtime = -1.0
            if cached and cached[0] == mtime:
                return cached[1]
            loaded = self._load(language, path, mtime)
            self._cache[language] = (mtime, loaded)
            return loaded

    @staticmethod
    def _load(language: str, path: Path, mtime: float) -> gettext.NullTranslations:
        if mtime < 0:
            if language != "en":
                log.warning("No compiled catalog for language %r at %s; English is shown", language, path)
            return NullTranslations()
        try:
            with path.open("rb") as handle:
                return Translations(fp=handle, domain=DOMAIN)
        except Exception as error:  # a corrupt .mo raises OSError, struct.error, UnicodeError...
            log.error("Catalog for %r is unreadable (%s); English is shown", language, type(error).__name__)
            return NullTranslations()

    def pgettext(self, language: str, context: str, message: str) -> str:
        """The translation of `message` in `context`, or the English `message` itself."""
        if language == "en" or not message:
            return message
        try:
            return self.translations(language).pgettext(context, message)
        except Exception as error:
            log.error("Translating in %r failed (%s); English is shown", language, type(error).__name__)
            return message

    def for_language(self, language: str) -> Translator:
        return Translator(self, language)

    def untranslated(self, languages: list[str], context: str) -> dict[str, int]:
        """How many texts of `context` (in locales/messages.pot) each language shows in English: not
        translated yet, fuzzy, or translated from an older English text."""
        try:
            with (self.locales_dir / f"{DOMAIN}.pot").open("rb") as handle:
                wanted = [message.id for message in read_po(handle) if message.id and message.context == context]
        except Exception as error:  # a missing or broken template: nothing to compare with
            log.error("The catalog template cannot be read (%s)", type(error).__name__)
            return {}
        missing = {
            language: sum(1 for text in wanted if self.pgettext(language, context, text) == text)
            for language in languages
            if language != "en"
        }
        return {language: count for language, count in missing.items() if count}


class Translator:
    """A catalog bound to one language: `t.pgettext("bot", "Hello")`, as Babel extracts it."""

    def __init__(self, catalogs: Catalogs, language: str) -> None:
        self.catalogs = catalogs
        self.language = language

    def pgettext(self, context: str, message: str) -> str:
        return self.catalogs.pgettext(self.language, context, message)


_default: Catalogs | None = None


def default_catalogs() -> Catalogs:
    global _default
    if _default is None:
        _default = Catalogs()
    return _default
