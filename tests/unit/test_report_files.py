"""Run-folder files made from a summary, no sockets: junit cases, requests.csv, the comparison."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from loadtest.report.compare import compare
from loadtest.report.junit import write_junit
from loadtest.report.requests_csv import read_requests_csv, write_requests_csv
from loadtest.results.metrics import Metrics


def summary(p95: float = 10.0, outcomes: dict[str, int] | None = None, failures: int = 0) -> dict[str, Any]:
    step = {"count": 1000, "failures": failures, "p50_ms": 4.0, "p95_ms": p95, "p99_ms": p95 * 1.2, "max_ms": 40.0,
            "corrected": {"p50_ms": 4.0, "p95_ms": p95, "p99_ms": p95 * 1.2, "max_ms": 40.0}}
    return {"scenario": "s", "requests": {"take": step, "submit-page": copy.deepcopy(step)},
            "outcomes": outcomes or {"survey_complete": 80, "terminated": 20, "incomplete": 7},
            "regression": {"p50_increase": 0.25, "p95_increase": 0.25, "p99_increase": 0.5, "min_ms": 1.0,
                           "outcome_share_shift": 0.05, "error_ratio_increase": 0.01},
            "thresholds": [{"name": "take.p95_ms", "value": p95, "limit": 12.0, "passed": p95 <= 12.0}],
            "personas": {"completer": {"respondents": 80, "outcomes": {"survey_complete": 80}, "unexpected": 0},
                         "screenout": {"respondents": 20, "outcomes": {"terminated": 19, "survey_complete": 1},
                                       "unexpected": 1}},
            "checks_failed": {"screener_terminates": 1}, "reconciliation": {"passed": True, "problems": {}},
            "passed": p95 <= 12.0, "duration_s": 3.5}


def test_a_fifty_percent_p95_regression_is_caught_and_named() -> None:
    c = compare(summary(p95=15.0), summary(p95=10.0))
    assert not c["passed"] and c["steps"]["take"]["p95"] == {"baseline_ms": 10.0, "run_ms": 15.0, "change": 0.5,
                                                             "regressed": True}
    assert any(r.startswith("take p95 10.00 -> 15.00 ms") for r in c["regressions"])
    assert compare(summary(p95=11.0), summary(p95=10.0))["passed"]  # +10%: within the 25% tolerance
    assert compare(summary(), summary())["passed"]


def test_outcome_shifts_and_error_ratio_count_but_sub_millisecond_noise_does_not() -> None:
    shifted = compare(summary(outcomes={"survey_complete": 70, "terminated": 30}), summary())
    assert shifted["outcome_shares"]["terminated"]["shift"] == 0.1 and not shifted["passed"]
    assert not compare(summary(failures=50), summary())["passed"]  # 0% -> 2.5% failed requests
    tiny = summary(p95=0.6)
    assert compare(tiny, summary(p95=0.3))["passed"]  # doubled, but by 0.3 ms: under min_ms


def test_junit_has_a_case_per_threshold_persona_check_and_reconciliation(tmp_path: Path) -> None:
    write_junit(tmp_path / "junit.xml", summary(p95=15.0))
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    cases = {(c.get("classname"), c.get("name")): c.find("failure") for c in suite.iter("testcase")}
    assert set(cases) == {("loadtest.thresholds", "take.p95_ms"), ("loadtest.personas", "completer"),
                          ("loadtest.personas", "screenout"), ("loadtest.checks", "screener_terminates"),
                          ("loadtest.reconciliation", "reconciliation")}
    assert cases[("loadtest.thresholds", "take.p95_ms")] is not None
    assert cases[("loadtest.personas", "completer")] is None
    assert suite.get("tests") == "5" and suite.get("failures") == "3"


def test_requests_csv_has_per_second_percentiles_and_reads_back(tmp_path: Path) -> None:
    m = Metrics()
    for i in range(100):
        m.request("take", (i + 1) / 1000, (i + 1) / 1000, 200, at_s=0.5)  # 1..100 ms in second 0
    m.request("take", 0.5, 0.5, 0, at_s=1.2)  # second 1: one request, no reply
    write_requests_csv(tmp_path / "requests.csv", m.timeline_rows())
    rows = read_requests_csv(tmp_path / "requests.csv")
    assert rows[0] == {"second": 0, "step": "take", "requests": 100, "failures": 0, "p50_ms": 50.0, "p95_ms": 95.0,
                       "p99_ms": 99.0, "max_ms": 100.0}
    assert rows[1]["second"] == 1 and rows[1]["failures"] == 1 and rows[1]["p95_ms"] == 0.0
