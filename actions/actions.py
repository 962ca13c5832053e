"""Custom actions. Each one sets slots; the rules then send the matching response.

action_show_content also sends the article itself (one message per part) and, when the article
is not translated yet, a short note in the person's language.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.core import languages, protocol
from bot.core.articles import ContentError, Library
from bot.core.i18n import default_catalogs
from bot.core.protocol import Request
from bot.core.safety.net import RISK_INTENTS
from bot.core.safety.screen import Level

log = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
MISSES_BEFORE_OFFERING_A_VOLUNTEER = 2


def reply_language(tracker: Tracker) -> str:
    return languages.language_of(tracker.latest_message.get("metadata"), tracker.get_slot("language"))


class ActionShowContent(Action):
    """Sends the article for the topic the person asked about and picks the next exercise."""

    def __init__(self, library: Library | None = None) -> None:
        self.library = library or Library()

    def name(self) -> str:
        return "action_show_content"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        language = reply_language(tracker)
        t = default_catalogs().for_language(language)
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        named = next(
            (e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "topic"), None
        )  # /show_menu{"topic": "grief"}: the topics behind "More topics" are asked for by name
        try:
            topics = self.library.topics()
            topic = topics[named] if named in topics else self.library.topic_for_intent(intent)
            article = self.library.article(topic.name, language)
        except ContentError as error:
            log.error("Cannot serve content for intent %s in %s: %s", intent, language, error)
            dispatcher.utter_message(
                text=t.pgettext(
                    "content",
                    "Sorry, I cannot show this text right now. Please choose another topic, or try again later.",
                )
            )
            return [SlotSet("next_intent", "show_menu")]
        if article.language != language:
            dispatcher.utter_message(
                text=t.pgettext("content", "This text is not yet available in your language, so here it is in English.")
            )
        first, *rest = article.parts
        dispatcher.utter_message(text=f"{article.title}\n\n{first}")
        for part in rest:
            dispatcher.utter_message(text=part)
        following = topics.get(topic.next_topic, topic)
        return [SlotSet("next_intent", following.payload.removeprefix("/"))]


class ActionChangeLanguage(Action):
    """Switches to the language the person named; otherwise the language menu follows."""

    def name(self) -> str:
        return "action_change_language"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        entity = next(tracker.get_latest_entity_values("language"), None)
        chosen = languages.normalize(entity) or languages.find_language_name(tracker.latest_message.get("text") or "")
        if chosen is None:
            return [SlotSet("language_switched", False)]
        # The front end stores the choice when it sees `set_language` in the reply.
        dispatcher.utter_message(json_message=protocol.language_chosen(chosen))
        return [SlotSet("language", chosen), SlotSet("language_switched", True)]


class ActionHandleFallback(Action):
    """Counts the misunderstood messages in a row, so the response can offer a volunteer, and tells
    the front end (which answers warmly instead in the day after a crisis)."""

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
        dispatcher.utter_message(json_message=protocol.not_understood())
        return [SlotSet("fallback_repeated", misses >= MISSES_BEFORE_OFFERING_A_VOLUNTEER)]


class ActionFlagRisk(Action):
    """The safety screen's second net: tells the front end the model heard risk in this message.

    The front end answers with its own crisis replies, the same as when its lexicons match.
    """

    def name(self) -> str:
        return "action_flag_risk"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        level = RISK_INTENTS.get(intent, Level.DISTRESS)
        dispatcher.utter_message(json_message=protocol.risk_heard(level.value))
        return []


class FrontEndAction(Action, ABC):
    """Asks the front end to do something Rasa cannot: it holds the database and the Telegram chat."""

    @property
    @abstractmethod
    def request(self) -> Request: ...

    def name(self) -> str:
        return f"action_{self.request.value}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        dispatcher.utter_message(json_message=protocol.request(self.request))
        return []


class ActionRequestHuman(FrontEndAction):
    """The person asked for a person: the front end opens an escalation for the coordinators."""

    request = Request.REQUEST_HUMAN


class ActionRequestErasure(FrontEndAction):
    """The person wants their data deleted: the front end asks them to confirm, then erases it."""

    request = Request.REQUEST_ERASURE
