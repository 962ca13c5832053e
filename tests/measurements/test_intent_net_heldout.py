"""The intent net on the held-out NLU examples of the languages it reads (tests/nlu/<lang>.yml,
written blind and never trained on): how often its reading is right, how often it is sure
enough to answer, and how often a sure reading is wrong (the person gets the wrong topic; an
unsure reading gets "I did not understand" with the topic menu instead)."""

from __future__ import annotations

import pytest
import yaml

from bot.core.content_check import intent_examples
from bot.core.intent_net import NOT_SURE, READ_BY_NET, TOPIC_MODEL_PATH, IntentNet, net_topics
from bot.core.languages import SUPPORTED
from bot.core.safety.encoder import E5Encoder
from tests.helpers import ROOT

FLOORS = yaml.safe_load((ROOT / "tests" / "measurements" / "intent_net_floors.yml").read_text(encoding="utf-8"))
MORE_TOPICS = ROOT / "tests" / "nlu" / "more_topics"


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


@pytest.fixture(scope="module")
def topic_readings() -> dict[str, list[tuple[str, str | None]]]:
    """(true intent, the topic net's reading) for the held-out messages of the topics behind "More
    topics" (tests/nlu/more_topics/) and for each language's other held-out messages."""
    net, encoder = IntentNet.load(TOPIC_MODEL_PATH), E5Encoder.load()
    result = {}
    for language in SUPPORTED:
        examples = intent_examples(MORE_TOPICS / f"{language}.yml")
        examples += intent_examples(ROOT / "tests" / "nlu" / f"{language}.yml")
        vectors = encoder.embed([text for _, text in examples])
        result[language] = [(intent, net.topic(vector)) for (intent, _), vector in zip(examples, vectors, strict=True)]
    return result


@pytest.mark.parametrize("language", SUPPORTED)
def test_the_topic_net_reads_the_topics_rasa_does_not_learn_in_every_language(topic_readings, language, capsys):
    """Grief, loneliness, anger, the asylum procedure, a child's sleep: read right at least as often
    as the floor, and few other messages taken for one of them (the reading overrules Rasa's model)."""
    topics = [(truth, reading) for truth, reading in topic_readings[language] if truth in net_topics()]
    others = [(truth, reading) for truth, reading in topic_readings[language] if truth not in net_topics()]
    right = sum(truth == reading for truth, reading in topics)
    taken = sum(reading is not None for _, reading in others)
    with capsys.disabled():
        print(f"\nTopic net, {language}: right {right}/{len(topics)}; other messages taken {taken}/{len(others)}")
    floors = FLOORS["more_topics"]
    assert right / len(topics) >= floors[language], f"{language}: right {right}/{len(topics)}"
    assert taken <= floors["others_taken_at_most"] * len(others), f"{language}: {taken}/{len(others)} taken"
