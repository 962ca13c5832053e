"""The group-programme finder: two questions with buttons (where the person lives; whether they
are a woman, a man, a parent or from Ukraine), then the few programmes that fit
(bot/core/programmes.py), in the person's language, with how to ask for them.

The answers travel in the buttons' payloads (`/ask_group_programmes{"place":"azc","who":"parent"}`,
at most 64 bytes as Telegram requires), so nothing about the person is kept in a slot.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.lists import format_list
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import reply_language
from bot.core import programmes
from bot.core.i18n import Translator, default_catalogs
from bot.core.programmes import Place, Profile, Programme, ProgrammesError, Who

log = logging.getLogger(__name__)

INTENT = "ask_group_programmes"


def payload(**answers: str | int) -> str:
    return f"/{INTENT}{json.dumps(answers, separators=(',', ':'))}" if answers else f"/{INTENT}"


def page_asked(tracker: Tracker) -> int:
    value = next(tracker.get_latest_entity_values("page"), None)
    try:
        return max(1, int(value)) if value is not None else 1
    except (TypeError, ValueError):
        return 1


def answer(tracker: Tracker, entity: str, kind: type[Place] | type[Who]) -> Any:
    value = next(tracker.get_latest_entity_values(entity), None)
    try:
        return kind(value) if value is not None else None
    except ValueError:
        return None


def language_names(codes: tuple[str, ...], language: str) -> str:
    try:
        locale = Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en")
    names = [locale.languages.get(code, code) for code in codes]
    return format_list(names, locale=locale) if names else ""


def where_question(t: Translator) -> tuple[str, list[dict[str, str]]]:
    text = t.pgettext(
        "programmes",
        "Group programmes are meetings with other people with a refugee background, led by trained people, "
        "about stress, sleep, strength and more. Two short questions help me find the ones that fit you; you "
        "do not have to answer them.\n\nWhere do you live?",
    )
    return text, [
        {"title": t.pgettext("programmes", "🏢 In an asylum centre (azc)"), "payload": payload(place="azc")},
        {"title": t.pgettext("programmes", "🏠 In my own home"), "payload": payload(place="home")},
        {"title": t.pgettext("programmes", "🤐 I'd rather not say"), "payload": payload(place="any")},
    ]


def who_question(t: Translator, place: Place) -> tuple[str, list[dict[str, str]]]:
    text = t.pgettext("programmes", "Does one of these fit you? Some groups are made for them.")
    choices = [
        (Who.WOMAN, t.pgettext("programmes", "👩 I am a woman")),
        (Who.MAN, t.pgettext("programmes", "👨 I am a man")),
        (Who.PARENT, t.pgettext("programmes", "👪 I am a parent")),
        (Who.UKRAINIAN, t.pgettext("programmes", "🇺🇦 I came from Ukraine")),
        (Who.ANY, t.pgettext("programmes", "➖ None of these, or rather not say")),
    ]
    return text, [{"title": title, "payload": payload(place=place.value, who=who.value)} for who, title in choices]


def how_to_join(t: Translator, programme: Programme, language: str) -> str:
    routes = {
        "gp": t.pgettext("programmes", "your doctor (huisarts)"),
        "reception_centre": t.pgettext("programmes", "the health centre at your azc (GZA)"),
        "municipality": t.pgettext("programmes", "your municipality (gemeente)"),
        "organisation": t.pgettext("programmes", "the organisation that runs it"),
    }
    named = [routes[route] for route in programme.join if route in routes] or [routes["gp"]]
    try:
        listed = format_list(named, style="or", locale=language)
    except (UnknownLocaleError, ValueError):
        listed = ", ".join(named)
    return t.pgettext("programmes", "How to join: ask {routes}.").format(routes=listed)


def describe(t: Translator, programme: Programme, about: dict[str, str], language: str) -> str:
    title = f"👥 {programme.name}" + (f" ({programme.organisation})" if programme.organisation else "")
    lines = [title, about.get(programme.id, programme.about)]
    spoken = language_names(programme.spoken, language)
    if spoken and programme.interpreter:
        with_interpreter = t.pgettext("programmes", "🗣️ Languages: {languages}; also with an interpreter.")
        lines.append(with_interpreter.format(languages=spoken))
    elif spoken:
        lines.append(t.pgettext("programmes", "🗣️ Languages: {languages}.").format(languages=spoken))
    elif programme.interpreter:
        lines.append(t.pgettext("programmes", "🗣️ With an interpreter."))
    else:
        lines.append(t.pgettext("programmes", "🗣️ My list does not say in which languages; please ask."))
    lines.append(how_to_join(t, programme, language))
    lines += [f"🔗 {site}" for site in programme.websites[:1]]
    return "\n".join(lines)


def closing_buttons(t: Translator, more: dict[str, str | int] | None = None) -> list[dict[str, str]]:
    """`more`: the answers and the next page, when there are more programmes to show."""
    more_button = [{"title": t.pgettext("programmes", "➡️ More programmes"), "payload": payload(**more)}] if more else []
    return [
        *more_button,
        {"title": t.pgettext("programmes", "🔄 Other answers"), "payload": payload()},
        {"title": t.pgettext("programmes", "💬 Talk to a volunteer"), "payload": "/book_session"},
        {"title": t.pgettext("programmes", "📋 Menu"), "payload": "/show_menu"},
    ]


class ActionFindProgrammes(Action):
    """Asks the two questions the answers do not hold yet, then suggests the programmes that fit."""

    def name(self) -> str:
        return "action_find_programmes"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        language = reply_language(tracker)
        t = default_catalogs().for_language(language)
        place, who = answer(tracker, "place", Place), answer(tracker, "who", Who)
        if place is None:
            text, choices = where_question(t)
            dispatcher.utter_message(text=text, buttons=choices)
            return []
        if who is None:
            text, choices = who_question(t, place)
            dispatcher.utter_message(text=text, buttons=choices)
            return []
        try:
            found = programmes.suggestions(programmes.load(), Profile(language, place, who))
            about = programmes.translated_about(language)
        except ProgrammesError as error:
            log.error("Cannot read the group programmes: %s", error)
            dispatcher.utter_message(
                text=t.pgettext(
                    "programmes",
                    "Sorry, I cannot show the group programmes right now. Your doctor (huisarts) or the staff "
                    "where you live can tell you about groups near you.",
                ),
                buttons=closing_buttons(t),
            )
            return []
        if not found:
            dispatcher.utter_message(
                text=t.pgettext(
                    "programmes",
                    "I did not find a group programme in my list that fits these answers. Your doctor "
                    "(huisarts), the staff where you live or your municipality may know other groups near you.",
                ),
                buttons=closing_buttons(t),
            )
            return []
        page = min(page_asked(tracker), (len(found) - 1) // programmes.MAX_SUGGESTIONS + 1)
        shown = found[(page - 1) * programmes.MAX_SUGGESTIONS : page * programmes.MAX_SUGGESTIONS]
        more = {"place": place.value, "who": who.value, "page": page + 1}
        if page * programmes.MAX_SUGGESTIONS >= len(found):
            more = None
        if page == 1:
            dispatcher.utter_message(text=t.pgettext("programmes", "These group programmes may fit you:"))
        for programme in shown:
            dispatcher.utter_message(text=describe(t, programme, about, language))
        dispatcher.utter_message(
            text=t.pgettext(
                "programmes",
                "Not every programme runs everywhere or all the time. Your doctor (huisarts), the staff where you "
                "live or your municipality can tell you which one runs near you. The free talks with a volunteer "
                "are there for you too.",
            ),
            buttons=closing_buttons(t, more),
        )
        return []
