"""The whole safety screen on messages it was never tuned on: the frozen held-out set
(tests/safety/heldout/, the figures in the README), and the everyday messages of the held-out NLU
set. About 1,000 messages through the model net: half a minute, so not in the fast tier."""

from __future__ import annotations

import pytest
import yaml

from bot.core.safety import Level
from bot.core.safety.evaluation import GOALS, figures, markdown_report, tally
from bot.core.safety.examples import HELDOUT_DIR, load_dir
from bot.core.safety.nets import RiskScreen
from tests.helpers import ROOT

SCREEN = RiskScreen.load(use_model=True)

# --- the frozen held-out set: the figures in the README, never below them -------------------------

HELDOUT = load_dir(HELDOUT_DIR)
TABLE = tally([(e.language, e.label, e.category, SCREEN.assess(e.text).level) for e in HELDOUT])
#: The figures measured when the model net landed (README, "How well the safety screen works"),
#: less two messages' worth of slack; a change that lowers them does not land.
FLOORS = yaml.safe_load((ROOT / "tests" / "safety_model" / "heldout_floors.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", sorted(FLOORS))
def test_held_out_figures_do_not_fall_below_those_measured(language, capsys):
    measured = figures(TABLE[language])
    with capsys.disabled():
        print(f"\n{markdown_report({language: TABLE[language]})}")
    for name, floor in FLOORS[language].items():
        if name.startswith("false_"):
            assert measured[name] <= floor, (name, measured)
        else:
            assert measured[name] >= floor, (name, measured)


def test_every_goal_has_a_floor_and_every_language_is_measured():
    assert set(FLOORS) == {e.language for e in HELDOUT}
    assert all(set(GOALS) <= set(floors) for floors in FLOORS.values())


def test_everyday_messages_of_the_held_out_nlu_set_get_almost_no_crisis_answer():
    messages = []
    for path in sorted((ROOT / "tests" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if block["intent"] in {"express_acute_risk", "express_distress"}:
                continue
            messages += [line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")]
    levels = [SCREEN.assess(message).level for message in messages]
    replies = sum(level not in (Level.NONE, Level.ASK) for level in levels) / len(messages)
    questions = sum(level is Level.ASK for level in levels) / len(messages)
    print(f"{len(messages)} everyday messages: {replies:.1%} replies, {questions:.1%} questions")
    assert replies <= 0.02 and questions <= 0.08
