"""The second net: paraphrases the lexicons miss are caught by the Rasa model, in conversation
and in `python -m bot safety-check`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.core.safety import SafetyScreen
from bot.core.safety.nets import RiskScreen
from bot.core.safety.responses import ANSWER_NO
from tests.conversation import article_title, converse, texts
from tests.helpers import ROOT, base_env

SCREEN = SafetyScreen.load()

# Held-out examples (tests/nlu/; the Russian pair written for this test): the model never saw
# them, and no lexicon phrase matches them.
PARAPHRASES = {
    "en": ("I think the world would be better without me in it", "it's all too much and I'm so scared"),
    "nl": ("ik ben van plan om alles te beëindigen", "het is allemaal te veel en ik ben zo bang"),
    "ar": ("الدنيا احسن من دوني", "كل شي كتير وانا خايف كتير"),
    "fa": ("دنیا بدون من بهتره", "همه چی زیادیه و خیلی میترسم"),
    "uk": ("світу буде краще без мене", "всього забагато і мені так страшно"),
    "es": ("el mundo estaría mejor sin mí", "todo es demasiado y tengo mucho miedo"),
    "ru": ("всем будет лучше без меня", "всё слишком тяжело и мне очень страшно"),
}


@pytest.mark.parametrize("language", sorted(PARAPHRASES))
def test_paraphrased_risk_gets_the_crisis_answer_through_the_model(stack, language):
    acute, distress = PARAPHRASES[language]
    assert not SCREEN.assess(acute).is_risk and not SCREEN.assess(distress).is_risk, "the lexicons must miss these"
    # Two people: a second risk message from the same person soon after gets the short reply.
    [acute_replies] = converse(stack.rasa_url, language, [acute])
    [distress_replies] = converse(stack.rasa_url, language, [distress])
    assert "112" in texts(acute_replies) and "113.nl" in texts(acute_replies)
    assert "/residence azc" in [button.payload for reply in distress_replies for button in reply.buttons]
    assert "112" not in texts(distress_replies)


def test_safety_check_uses_the_model_when_rasa_is_reachable(stack):
    env = base_env(RASA_URL=stack.rasa_url, RASA_AUTH_TOKEN=stack.auth_token)
    lines = "I think the world would be better without me in it\nhello\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "safety-check", "--lang", "en"],
        cwd=ROOT, env=env, input=lines, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["level"], d["nlu"]) for d in decisions] == [("acute", "used"), ("none", "used")]


# The word lists alone (the bot's screen when the model net cannot load) ask about a negated
# phrase every time, whatever the model net would say.
LEXICONS_ONLY = RiskScreen(SCREEN, None)


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("i dont want to die, i just miss my mother who passed away", "grief"),
        ("i dont want to die but the waiting for the IND is unbearable", "asylum_procedure"),
    ],
)
def test_no_to_the_safety_question_still_brings_the_article_the_message_asked_for(stack, message, topic):
    # The bot's own screen: the negated phrase makes it ask; the topic net reads the topic.
    question, answer = converse(stack.rasa_url, "en", [message, ANSWER_NO])
    assert "ending your life" in texts(question)
    assert "glad" in answer[0].text and "112" not in answer[0].text
    assert article_title("en", topic) in texts(answer[1:])


def test_no_to_the_safety_question_about_a_message_with_no_topic_is_only_thanked(stack):
    _, answer = converse(stack.rasa_url, "en", ["I would never kill myself", ANSWER_NO], screen=LEXICONS_ONLY)
    assert len(answer) == 1 and "glad" in answer[0].text
