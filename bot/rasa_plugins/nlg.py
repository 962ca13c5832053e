"""Rasa's natural language generator, localized: renders every utter_* from the gettext catalogs.

Plugged into Rasa through endpoints.yml (`nlg: type: bot.rasa_plugins.nlg.CatalogNLG`), so it runs inside the
Rasa server. The response variation is chosen by Rasa's own templated generator; this class
translates its text and button titles, then fills {placeholders} from the organisation file,
the slots and the action's arguments. Changing a translation needs no retraining.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.core import languages
from bot.core.i18n import BUTTON_CONTEXT, Catalogs, default_catalogs
from bot.core.organisation import load_organisation
from bot.core.resources import load_resources
from bot.settings import retention_days


def localize_response(response: dict[str, Any], utter_action: str, language: str, catalogs: Catalogs) -> None:
    """Translates a response's text and button titles in place."""
    if response.get("text"):
        response["text"] = catalogs.pgettext(language, utter_action, response["text"])
    for button in response.get("buttons") or []:
        if button.get("title") and not str(button.get("payload", "")).startswith("/change_language{"):
            button["title"] = catalogs.pgettext(language, BUTTON_CONTEXT, button["title"])


def language_switched_this_turn(tracker: DialogueStateTracker) -> str | None:
    """The language an action set since the person's last message, if any."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return None
        if isinstance(event, SlotSet) and event.key == "language" and event.value:
            return str(event.value)
    return None


def reply_language(tracker: DialogueStateTracker, filled_slots: dict[str, Any], requested: str | None) -> str:
    """A language switched in this very turn, else the message metadata, else the slot, else English."""
    metadata = (tracker.latest_message.metadata or {}) if tracker.latest_message else {}
    return languages.resolve(
        requested,
        language_switched_this_turn(tracker),
        metadata.get("language"),
        filled_slots.get("language"),
    )


class CatalogNLG(TemplatedNaturalLanguageGenerator):
    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        domain: Domain | None = None,
        catalogs: Catalogs | None = None,
    ) -> None:
        super().__init__(domain.responses if domain else {})
        self.catalogs = catalogs or default_catalogs()
        self.organisation = load_organisation()
        #: Validated as the front end validates it (which refuses to start Rasa with a bad value).
        self.retention_days = str(retention_days(os.environ))

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        filled_slots = tracker.current_slot_values()
        language = reply_language(tracker, filled_slots, kwargs.pop("language", None))
        chosen = self._random_response_for(utter_action, output_channel, filled_slots)
        if chosen is None:
            return None
        response = copy.deepcopy(chosen)
        localize_response(response, utter_action, language, self.catalogs)
        variables = {
            **load_resources(),
            **self.organisation.variables(language),
            "language_name": languages.native_name(language),
            "retention_days": self.retention_days,
            **{key: value for key, value in filled_slots.items() if value is not None},
        }
        return self._fill_response(response, variables, **kwargs)
