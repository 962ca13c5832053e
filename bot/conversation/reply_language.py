"""Which language to answer a message in, and the few messages about languages themselves.

A language the person chose (/language, the language menu) stays until they choose another; when
they write in another language the bot speaks, it offers once to switch. Otherwise the answer
follows the language of the message when bot.core.language_id is confident, and that language is kept
for the next short or unclear message ("ok", "👍", a button). With nothing known and nothing
readable, the bot asks with the language menu. A language the bot does not speak gets one short
message in English and Dutch, with the menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import languages
from bot.core.i18n import Catalogs
from bot.core.language_id import Detection
from bot.core.protocol import Button
from bot.storage.users import LanguageState

#: The button that keeps the chosen language after the bot offered another.
KEEP_LANGUAGE = "/keep_language"
#: Text in a script none of the bot's languages uses, this long, is a language the bot does not speak.
MIN_LETTERS_OTHER_SCRIPT = 4


@dataclass(frozen=True)
class Decision:
    """`language`: the language of the answer, None when nothing is known (ask with the menu);
    `remember`: store it as the language in use; `offer`: offer to switch to this language;
    `unsupported`: the message is in a language the bot does not speak ("" when its name is unknown)."""

    language: str | None
    remember: bool = False
    offer: str | None = None
    unsupported: str | None = None


def decide(state: LanguageState, detection: Detection, supported: tuple[str, ...] = languages.SUPPORTED) -> Decision:
    found = detection.language
    if found is not None and found not in supported:
        return Decision(state.language, unsupported=found)
    if found is None and detection.script == "other":
        return Decision(state.language, unsupported="")
    if state.chosen and state.language:
        offer = found if found not in (None, state.language, state.offered) else None
        return Decision(state.language, offer=offer)
    if found is not None:
        return Decision(found, remember=found != state.language)
    return Decision(state.language)


def language_menu() -> list[Button]:
    """Every language the bot speaks, each named in its own script."""
    return [
        Button(languages.native_name(code), f'/change_language{{"language": "{code}"}}') for code in languages.SUPPORTED
    ]


def menu_question(catalogs: Catalogs) -> str:
    """ "Which language?" in every language the bot speaks, one per line, for someone whose
    language is not known yet."""
    lines = []
    for code in languages.SUPPORTED:
        t = catalogs.for_language(code)
        lines.append(t.pgettext("language", "Which language shall I write in?"))
    return "\n".join(dict.fromkeys(lines))


def unsupported_message(catalogs: Catalogs, code: str) -> str:
    """In English and Dutch: the bot does not speak this language (named in its own script when
    known), and which languages it speaks."""
    name = languages.native_name(code) if code else ""
    spoken = ", ".join(languages.native_name(c) for c in languages.SUPPORTED)
    parts = []
    for language in ("en", "nl"):
        t = catalogs.for_language(language)
        if name and name != code:
            parts.append(
                t.pgettext("language", "I cannot write in {name} yet. I can write in: {languages}.").format(
                    name=name, languages=spoken
                )
            )
        else:
            parts.append(
                t.pgettext("language", "I cannot write in this language yet. I can write in: {languages}.").format(
                    languages=spoken
                )
            )
    return "\n\n".join(parts)


def offer_message(catalogs: Catalogs, offered: str) -> str:
    """In the language the person just wrote in: shall the bot switch to it?"""
    t = catalogs.for_language(offered)
    return t.pgettext("language", "I see you wrote in {language}. Shall I write to you in {language}?").format(
        language=languages.native_name(offered)
    )


def offer_buttons(offered: str, current: str) -> list[Button]:
    return [
        Button(languages.native_name(offered), f'/change_language{{"language": "{offered}"}}'),
        Button(languages.native_name(current), KEEP_LANGUAGE),
    ]


def kept_message(catalogs: Catalogs, language: str) -> str:
    t = catalogs.for_language(language)
    return t.pgettext("language", "Okay. I will keep writing in {language}.").format(
        language=languages.native_name(language)
    )
