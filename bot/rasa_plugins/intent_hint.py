"""An intent classifier for Rasa's pipeline that takes the front end's reading of a message
(`metadata.intent`, from the intent net: bot/core/intent_net.py) in place of the n-gram model's
guess. The front end sends it for languages the n-gram model has no examples of (Tigrinya,
Somali, Russian), and in every language for the topics the n-gram model does not learn: the
topic net's reading is the menu asked for by name (show_menu with the entity topic, e.g. "grief",
or page 2 for "More topics"); every other message passes through untouched.

The net's reading already passed its own threshold (or is `nlu_fallback`), so it is given with
confidence 1 and the FallbackClassifier after this component leaves it as it is. The words stay
in the message, so forms still fill their slots from the text."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class IntentHint(GraphComponent, IntentClassifier):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IntentHint:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            hint = (message.get("metadata") or {}).get("intent")
            if not isinstance(hint, dict) or not isinstance(hint.get(INTENT_NAME_KEY), str):
                continue
            reading = {INTENT_NAME_KEY: hint[INTENT_NAME_KEY], PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, reading, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [reading], add_to_output=True)
            named = hint.get("entities") or {}
            if isinstance(named, dict) and named:  # a topic the topic net read: {"topic": "grief"}
                found = [
                    {ENTITY_ATTRIBUTE_TYPE: name, ENTITY_ATTRIBUTE_VALUE: value, EXTRACTOR: "IntentHint"}
                    for name, value in named.items()
                ]
                message.set(ENTITIES, [*message.get(ENTITIES, []), *found], add_to_output=True)
        return messages
