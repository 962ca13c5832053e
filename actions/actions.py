"""Custom actions: serving content, switching language, and the two-step fallback."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.content import ContentError, Library
from bot import languages

log = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
MISSES_BEFORE_OFFERING_A_VOLUNTEER = 2


def reply_language(tracker: Tracker) -> str:
    return languages.language_of(tracker.latest_message.get("metadata"), tracker.get_slot("language"))


class ActionShowContent(Action):
    """Sends the article for the topic the person asked about, then offers a next step."""

    def __init__(self, library: Library | None = None) -> None:
        self.library = library or Library()

    def name(self) -> str:
        return "action_show_content"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        language = reply_language(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        try:
            topics = self.library.topics()
            topic = self.library.topic_for_intent(intent)
            next_intent = topics[topic.next_topic].intent if topic.next_topic in topics else topic.intent
            article = self.library.article(topic.name, language)
        except ContentError as error:
            log.error("Cannot serve content for intent %s in %s: %s", intent, language, error)
            dispatcher.utter_message(response="utter_content_unavailable")
            return []
        if article.language != language:
            dispatcher.utter_message(response="utter_content_in_english")
        first, *rest = article.parts
        dispatcher.utter_message(text=f"{article.title}\n\n{first}")
        for part in rest:
            dispatcher.utter_message(text=part)
        dispatcher.utter_message(response="utter_next_step", next_intent=next_intent)
        return []


class ActionChangeLanguage(Action):
    """Switches to the language the person named, or shows the language menu."""

    def name(self) -> str:
        return "action_change_language"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        entity = next(tracker.get_latest_entity_values("language"), None)
        chosen = languages.normalize(entity) or languages.find_language_name(tracker.latest_message.get("text") or "")
        if chosen is None:
            buttons = [
                {"title": languages.native_name(code), "payload": f'/change_language{{"language": "{code}"}}'}
                for code in languages.SUPPORTED
            ]
            dispatcher.utter_message(response="utter_choose_language", buttons=buttons)
            return []
        # The front end stores the choice when it sees `set_language` in the reply.
        dispatcher.utter_message(response="utter_language_changed", language=chosen, custom={"set_language": chosen})
        return [SlotSet("language", chosen)]


class ActionHandleFallback(Action):
    """Asks to rephrase; after two misses in a row, offers a volunteer instead."""

    def name(self) -> str:
        return "action_handle_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        misses = 0
        for event in reversed(tracker.events):
            if event.get("event") != "user":
                continue
            if ((event.get("parse_data") or {}).get("intent") or {}).get("name") != FALLBACK_INTENT:
                break
            misses += 1
        if misses >= MISSES_BEFORE_OFFERING_A_VOLUNTEER:
            dispatcher.utter_message(response="utter_offer_volunteer")
        else:
            dispatcher.utter_message(response="utter_please_rephrase")
        return []
