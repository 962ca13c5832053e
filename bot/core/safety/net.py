"""The second net: the Rasa model's risk intents, for paraphrases that no lexicon phrase covers.

In conversation, a rule runs action_flag_risk for these intents and the front end answers with its
crisis replies. `python -m bot safety-check` makes the same decision from Rasa's parse endpoint.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import httpx
import yaml

from bot import PROJECT_ROOT
from bot.core.safety.screen import Assessment, Level

RISK_INTENTS = {"express_acute_risk": Level.ACUTE, "express_distress": Level.DISTRESS}


@lru_cache(maxsize=1)
def confidence_threshold() -> float:
    """The FallbackClassifier threshold: below it, Rasa predicts nlu_fallback and no rule fires."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    return next(float(step["threshold"]) for step in config["pipeline"] if step["name"] == "FallbackClassifier")


def from_parse(parse: dict[str, Any]) -> Assessment:
    intent = parse.get("intent") or {}
    level = RISK_INTENTS.get(intent.get("name", ""))
    if level is None or float(intent.get("confidence", 0)) < confidence_threshold():
        return Assessment(Level.NONE)
    return Assessment(level, (f"model_{level.value}",), nets=("rasa",))


def parse(rasa_url: str, token: str, text: str) -> dict[str, Any] | None:
    """Rasa's parse of a message, or None when Rasa cannot be reached."""
    try:
        response = httpx.post(f"{rasa_url}/model/parse", params={"token": token}, json={"text": text}, timeout=10)
        response.raise_for_status()
        return response.json()
    except httpx.HTTPError:
        return None
