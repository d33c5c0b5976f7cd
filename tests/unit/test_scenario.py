"""Scenario files: the shipped ones load; bad ones fail with one line naming file, key, expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.results.thresholds import evaluate
from loadtest.scenario.file import ScenarioError, Thresholds, load_scenario
from tests.helpers import ROOT

SMOKE = ROOT / "scenarios" / "smoke.toml"


def test_shipped_scenarios_load() -> None:
    smoke = load_scenario(SMOKE)
    assert smoke.load.kind == "closed" and smoke.load.respondents == 200
    names = {p.name for p in smoke.personas}
    assert {"completer", "screenout", "quota_chaser", "speeder", "straightliner", "backtracker",
            "validation_fixer", "abandoner", "returner", "gatecrasher", "polyglot", "opt_out"} <= names
    chainer = next(p for p in smoke.personas if p.name == "chainer")
    assert chainer.cls.name == "completer" and chainer.params["expects"] == ["redirect"]
    assert chainer.params["answers"] == {"10001": "50001", "10002": "50013", "10012": "50103"}
    steady = load_scenario(ROOT / "scenarios" / "steady.toml")
    assert steady.load.kind == "open" and steady.load.arrival_rate == 20


def variant(tmp_path: Path, old: str, new: str) -> Path:
    text = SMOKE.read_text()
    assert old in text
    out = tmp_path / "s.toml"
    out.write_text(text.replace(old, new, 1).replace('"surveys/', f'"{ROOT}/scenarios/surveys/')
                   .replace('surveys = [', f'personas_dir = "{ROOT}/personas"\nsurveys = ['))
    return out


@pytest.mark.parametrize(("old", "new", "key", "expected"), [
    ('model = "closed"', 'model = "bursty"', "load.model", "one of closed, open"),
    ("concurrency = 50", "concurrency = 0", "load.concurrency", "an integer >= 1"),
    ('target = "embedded"', 'target = "ftp://x"', "scenario.target", '"embedded" or an http(s) URL'),
    ("survey_id = 100001", "survey_id = 5", "scenario.survey_id", "one of the surveys' ids"),
    ("[personas.completer]", "[personas.complete]", "personas.complete.script", "a persona script in"),
    ('answers = { 10001 = "50002" }', "answers = { first = 1 }", "personas.screenout.answers.first",
     "question id = answer id"),
    ('password = "visit2026"               # the', "#", "personas.gatecrasher.password",
     "a value: persona 'gatecrasher' needs it"),
    ("take = 250", "take = -1", "thresholds.p95_ms.take", "a number > 0"),
    ("take = 250", "tkae = 250", "thresholds.p95_ms.tkae", "a step name"),
])
def test_a_bad_scenario_fails_with_one_line(tmp_path: Path, old: str, new: str, key: str, expected: str) -> None:
    path = variant(tmp_path, old, new)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    line = str(err.value)
    assert "\n" not in line and line.startswith(f"{path}: {key}: expected ") and expected in line


def test_a_missing_survey_file_names_the_scenario_key(tmp_path: Path) -> None:
    path = variant(tmp_path, "store_visit.toml", "nowhere.toml")
    with pytest.raises(ScenarioError, match=r"scenario\.surveys\[1\]: expected a valid survey file"):
        load_scenario(path)


SUMMARY = {
    "requests": {"take": {"count": 100, "failures": 1, "p95_ms": 12.0, "p99_ms": 30.0},
                 "submit-page": {"count": 300, "failures": 0, "p95_ms": 8.0, "p99_ms": 9.0}},
    "respondents": 100, "unexpected": 0, "dropped_arrivals": 2,
    "outcomes": {"survey_complete": 60, "terminated": 40},
}


def test_thresholds_evaluate_each_limit_by_name() -> None:
    th = Thresholds(p95_ms={"take": 10.0, "submit-page": 10.0}, p99_ms={"take": 50.0}, error_ratio=0.001,
                    dropped_arrivals=0, outcome_share={"survey_complete": (0.5, 0.7), "terminated": (None, 0.3)})
    got = {t["name"]: (t["value"], t["passed"]) for t in evaluate(th, SUMMARY)}
    assert got == {
        "take.p95_ms": (12.0, False), "submit-page.p95_ms": (8.0, True), "take.p99_ms": (30.0, True),
        "error_ratio": (0.0025, False), "unexpected_respondents": (0, True), "dropped_arrivals": (2, False),
        "outcome_share.survey_complete.min": (0.6, True), "outcome_share.survey_complete.max": (0.6, True),
        "outcome_share.terminated.max": (0.4, False),
    }


def test_unexpected_respondents_fail_the_run_even_without_thresholds() -> None:
    (only,) = evaluate(Thresholds(), {**SUMMARY, "unexpected": 1})
    assert only == {"name": "unexpected_respondents", "limit": 0, "value": 1, "passed": False}
