"""The intent net (bot/core/intent_net.py): how its threshold is chosen, how it reads, and that the
front end sends its reading to Rasa only for the languages Rasa's own model does not read."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from bot.core import intent_net
from bot.core.intent_net import NOT_SURE, READ_BY_NET, IntentNet, choose_threshold
from bot.core.languages import SUPPORTED, UNDERSTOOD
from tests.fast.conftest import Parts


def test_the_threshold_is_the_lowest_that_keeps_sure_readings_right_often_enough() -> None:
    # Ten readings, most confident first; the two least confident are wrong.
    confidence = np.linspace(0.9, 0.0, 10)
    probabilities = np.stack([confidence, np.zeros(10)], axis=1)  # the best reading's probability first
    right = [True] * 8 + [False, False]
    predicted = ["a" if ok else "b" for ok in right]
    threshold = choose_threshold(probabilities, predicted, ["a"] * 10)
    kept = probabilities.max(axis=1) >= threshold
    assert np.mean(np.array(right)[kept]) >= intent_net.PRECISION_GOAL
    assert 0.1 <= threshold <= 0.2  # the eight right ones, not the wrong ones, and no higher


def test_a_reading_under_the_threshold_is_not_sure_and_a_saved_net_reads_the_same(tmp_path) -> None:
    net = IntentNet(["ask_sleep", "greet"], np.array([[4.0, 0.0], [0.0, 4.0]]), np.zeros(2), 0.8, "x")
    assert net.read(np.array([1.0, 0.0]))[0] == "ask_sleep"
    assert net.read(np.array([0.2, 0.2]))[0] == NOT_SURE
    net.save(tmp_path / "net.npz")
    loaded = IntentNet.load(tmp_path / "net.npz")
    assert loaded.intents == net.intents and loaded.threshold == pytest.approx(0.8)
    assert loaded.read(np.array([0.0, 1.0]))[0] == "greet"


def test_the_intent_net_reads_exactly_the_languages_rasas_model_does_not() -> None:
    assert set(READ_BY_NET) == set(SUPPORTED) - set(UNDERSTOOD) == {"ti", "so", "ru"}


def test_the_makefile_trains_rasa_on_the_languages_it_reads() -> None:
    makefile = (intent_net.PROJECT_ROOT / "Makefile").read_text()
    [line] = [line for line in makefile.splitlines() if line.startswith("RASA_LANGUAGES")]
    assert line.split(":=")[1].split() == list(UNDERSTOOD)


def test_every_language_the_net_reads_has_examples_of_every_intent() -> None:
    examples = intent_net.training_examples()
    english = {example.intent for example in examples if example.language == "en"}
    for language in READ_BY_NET:
        assert {example.intent for example in examples if example.language == language} == english, language


def test_a_somali_question_goes_to_rasa_with_the_nets_reading_and_an_english_one_without(parts: Parts) -> None:
    asyncio.run(parts.assistant.handle_text("person-so", "habeenkii ma seexan karo, maxaan sameeyaa?"))
    assert parts.rasa.sent[-1][2] == "so"
    intent, confidence = parts.rasa.intents[-1]
    assert intent == "ask_sleep" and confidence >= parts.assistant.intents.threshold
    asyncio.run(parts.assistant.handle_text("person-en", "I cannot sleep at night, what can I do?"))
    assert parts.rasa.sent[-1][2] == "en" and parts.rasa.intents[-1] is None
