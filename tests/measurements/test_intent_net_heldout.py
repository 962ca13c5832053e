"""The intent net on the held-out NLU examples of the languages it reads (tests/nlu/<lang>.yml,
written blind and never trained on): how often its reading is right, how often it is sure
enough to answer, and how often a sure reading is wrong (the person gets the wrong topic; an
unsure reading gets "I did not understand" with the topic menu instead)."""

from __future__ import annotations

import pytest
import yaml

from bot.core.content_check import intent_examples
from bot.core.intent_net import NOT_SURE, READ_BY_NET, IntentNet
from bot.core.safety.encoder import E5Encoder
from tests.helpers import ROOT

FLOORS = yaml.safe_load((ROOT / "tests" / "measurements" / "intent_net_floors.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def readings() -> dict[str, list[tuple[str, str, float]]]:
    """(true intent, the net's reading, its confidence) per language."""
    net, encoder = IntentNet.load(), E5Encoder.load()
    result = {}
    for language in READ_BY_NET:
        examples = intent_examples(ROOT / "tests" / "nlu" / f"{language}.yml")
        vectors = encoder.embed([text for _, text in examples])
        result[language] = [(intent, *net.read(vector)) for (intent, _), vector in zip(examples, vectors, strict=True)]
    return result


@pytest.mark.parametrize("language", READ_BY_NET)
def test_the_intent_net_reads_held_out_messages_within_its_floors(readings, language, capsys):
    rows = readings[language]
    sure = [(truth, reading) for truth, reading, _ in rows if reading != NOT_SURE]
    right = sum(truth == reading for truth, reading in sure)
    wrong = len(sure) - right
    with capsys.disabled():
        print(
            f"\nIntent net, held-out {language} ({len(rows)}): answered {len(sure) / len(rows):.1%}, "
            f"right {right / len(rows):.1%}, wrong topic {wrong / len(rows):.1%}, "
            f"right when answered {right / max(1, len(sure)):.1%}"
        )
    floors = FLOORS[language]
    assert right / len(rows) >= floors["right"], f"{language}: right {right}/{len(rows)}"
    assert wrong / len(rows) <= floors["wrong_at_most"], f"{language}: wrong {wrong}/{len(rows)}"
