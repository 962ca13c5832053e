"""Language recognition on its frozen held-out set (tests/language_id/heldout/, written blind and
never tuned on), against the floors measured when it landed."""

from __future__ import annotations

import yaml

from bench.language_id import HELDOUT, evaluate
from tests.helpers import ROOT

FLOORS = ROOT / "tests" / "language_id" / "heldout_floors.yml"


def test_held_out_accuracy_does_not_fall_below_its_measured_floor():
    """The frozen held-out set (tests/language_id/heldout/, never tuned on): per language, messages
    of three words or more; and never a reply in the other script."""
    report = evaluate(HELDOUT)
    floors = yaml.safe_load(FLOORS.read_text(encoding="utf-8"))
    assert report["wrong_script"] == 0
    for language, floor in floors["accuracy_3plus"].items():
        assert report["languages"][language]["accuracy_3plus"] >= floor, (language, report["languages"][language])
    assert int(report["arabizi"]["unsure"].split("/")[0]) >= floors["arabizi_unsure"]
