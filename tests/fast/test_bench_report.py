"""`make bench`'s one report: each figure beside its goal, a goal not met marked, and the benchmarks
that have not run named."""

from __future__ import annotations

import json

from bench import report


def test_the_report_marks_a_goal_not_met_and_names_what_was_not_measured(tmp_path, monkeypatch):
    out, results = tmp_path / "out", tmp_path / "results"
    out.mkdir()
    monkeypatch.setattr(report, "OUT", out)
    monkeypatch.setattr(report, "RESULTS", results)
    (out / "crisis_latency.json").write_text(
        json.dumps({"rasa_saturated": {"p50_ms": 120.0, "p95_ms": 410.0}, "rasa_stopped": {"p50_ms": 40, "p95_ms": 60}})
    )
    (out / "replicas.json").write_text(
        json.dumps(
            {
                "one": {"chats": 200, "messages": 400, "messages_per_second": 20.0},
                "two": {"chats": 200, "messages": 400, "messages_per_second": 26.0},
                "two_over_one": 1.3,
            }
        )
    )
    text = report.main().read_text()
    assert "| crisis reply under 300 ms at p95 (`rasa_saturated.p95_ms`) | 410.0 | **no** |" in text
    assert "| crisis reply under 300 ms at p95 (`rasa_stopped.p95_ms`) | 60 | yes |" in text
    assert "two replicas of each at least as fast as one (`two_over_one`) | 1.3 | yes |" in text
    assert "Not measured yet" in text and "telegram_latency" in text and "flood" in text
    assert (results / "latencies.png").stat().st_size > 1000 and (results / "replicas.png").stat().st_size > 1000
