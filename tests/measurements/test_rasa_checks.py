"""Rasa's own checks on the trained model: held-out NLU accuracy per language, and test stories."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.core.content_check import intent_examples
from bot.core.languages import UNDERSTOOD
from tests.helpers import MODEL, ROOT, base_env

ACCURACY_FLOOR = 0.90
#: Rasa's FallbackClassifier threshold (config.yml): under it the person is asked to rephrase.
FALLBACK_THRESHOLD = next(
    part["threshold"]
    for part in yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    if part["name"] == "FallbackClassifier"
)


def held_out_examples() -> dict[str, str]:
    """Each held-out example's text and the language file it came from."""
    language_of = {}
    for language in UNDERSTOOD:
        for block in yaml.safe_load((ROOT / "tests" / "nlu" / f"{language}.yml").read_text(encoding="utf-8"))["nlu"]:
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    language_of[line.strip()[2:]] = language
    return language_of


def test_held_out_examples_are_not_in_the_training_data():
    training = set()
    for path in (ROOT / "nlu").glob("*/*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            training |= {line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")}
    assert set(held_out_examples()) & training == set()


def rasa_test(*args: str, out: Path) -> subprocess.CompletedProcess:
    """Runs one of Rasa's own test commands against the trained model."""
    command = [sys.executable, "-m", "rasa", "test", *args, "--model", str(MODEL), "--out", str(out), "--no-plot"]
    return subprocess.run(command, cwd=ROOT, env=base_env(), capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def nlu_results(tmp_path_factory) -> Path:
    """Rasa's model on the held-out examples of the languages it reads (the intent net's
    languages are measured in test_intent_net_heldout.py)."""
    held_out = tmp_path_factory.mktemp("nlu-held-out")
    for language in UNDERSTOOD:
        shutil.copy(ROOT / "tests" / "nlu" / f"{language}.yml", held_out / f"{language}.yml")
    out = tmp_path_factory.mktemp("nlu-results")
    result = rasa_test("nlu", "--nlu", str(held_out), "--successes", out=out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_intent_accuracy_on_held_out_examples_is_at_least_90_percent_per_language(nlu_results, capsys):
    language_of = held_out_examples()
    correct, total = Counter(), Counter()
    for name, is_correct in (("intent_successes.json", True), ("intent_errors.json", False)):
        path = nlu_results / name
        for prediction in json.loads(path.read_text()) if path.exists() else []:
            language = language_of[prediction["text"]]
            total[language] += 1
            correct[language] += is_correct
    accuracy = {language: correct[language] / total[language] for language in UNDERSTOOD}
    with capsys.disabled():
        print(
            "\nHeld-out intent accuracy: "
            + ", ".join(f"{lang} {value:.1%} ({total[lang]})" for lang, value in accuracy.items())
        )
    assert set(total) == set(UNDERSTOOD)
    assert {lang: value for lang, value in accuracy.items() if value < ACCURACY_FLOOR} == {}


DIALECTS = ROOT / "tests" / "nlu" / "dialects"
#: The least share of each dialect's held-out messages Rasa's model must read right (and above
#: its fallback threshold): set a little under the measured figures (README), so that a change
#: that makes a dialect worse fails. The goal is the 90% of the languages' own held-out sets.
DIALECT_FLOORS = yaml.safe_load((ROOT / "tests" / "measurements" / "dialect_floors.yml").read_text(encoding="utf-8"))


def test_spoken_dialects_are_read_at_least_as_well_as_their_floors(tmp_path, capsys):
    """Levantine, Egyptian, Iraqi and Sudanese Arabic, Dari and Iranian Persian, surzhyk and
    Latin-American Spanish, each in its own held-out file (tests/nlu/dialects/, written blind)."""
    result = rasa_test("nlu", "--nlu", str(DIALECTS), "--successes", out=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    dialect_of = {text.strip(): path.stem for path in DIALECTS.glob("*.yml") for _, text in intent_examples(path)}
    right, total = Counter(), Counter()
    for name, is_correct in (("intent_successes.json", True), ("intent_errors.json", False)):
        path = tmp_path / name
        for prediction in json.loads(path.read_text()) if path.exists() else []:
            dialect = dialect_of[prediction["text"].strip()]
            sure = float(prediction["intent_prediction"].get("confidence") or 0) >= FALLBACK_THRESHOLD
            total[dialect] += 1
            right[dialect] += is_correct and sure
    shares = {dialect: right[dialect] / total[dialect] for dialect in sorted(total)}
    with capsys.disabled():
        print("\nHeld-out dialects, read right: " + ", ".join(f"{d} {v:.1%} ({total[d]})" for d, v in shares.items()))
    assert set(shares) == set(DIALECT_FLOORS)
    assert {d: v for d, v in shares.items() if v < DIALECT_FLOORS[d]} == {}


def test_every_test_story_passes(tmp_path):
    result = rasa_test("core", "--stories", "tests/stories", "--fail-on-prediction-errors", out=tmp_path)
    failed_file = tmp_path / "failed_test_stories.yml"
    failed = failed_file.read_text() if failed_file.exists() else ""
    assert result.returncode == 0, failed or result.stdout[-3000:] + result.stderr[-3000:]
    assert "story:" not in failed
