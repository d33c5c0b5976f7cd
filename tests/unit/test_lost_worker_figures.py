"""What a lost Locust worker leaves behind, as the pure checks see it: stored completes and
panel results of the run's transactions that no respondent line has are `unaccounted` (listed,
not mistaken for the run's own problems), and the master's run fails for the lost worker unless
the scenario allows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtest.checks.data_check import check_data
from loadtest.checks.reconcile import reconcile
from loadtest.locust_driver.state import _lost_workers_threshold

PREFIX = "lt42-ab12cd"


def _line(i: int, outcome: str = "survey_complete") -> dict[str, Any]:
    return {"index": i, "persona": "completer", "survey_id": 100001, "transaction_id": f"{PREFIX}-{i:06d}",
            "outcome": outcome, "statuses": ["success", outcome], "answers": {"u_10001": "50001"}}


def _record(i: int, prefix: str = PREFIX) -> tuple[int, dict[str, Any]]:
    return 100001, {"respid": i, "status": "complete", "transaction_id": f"{prefix}-{i:06d}", "u_10001": "50001"}


def test_stored_completes_of_the_run_with_no_line_are_unaccounted_not_extra() -> None:
    lines = [_line(1), _line(2)]
    records = [_record(1), _record(2), _record(10_000_001), _record(10_000_002), _record(5, prefix="other-run")]
    out = check_data(lines, records, run_prefix=PREFIX)
    assert out["passed"] and out["problems"] == {"missing": 0, "extra": 0, "mismatched": 0}
    assert out["unaccounted"] == 2
    assert {r["transaction_id"] for r in out["unaccounted_records"]} == {f"{PREFIX}-10000001", f"{PREFIX}-10000002"}
    assert "unaccounted" not in check_data(lines, records)  # without the run's prefix nothing is claimed


def test_panel_results_of_the_run_with_no_line_are_unaccounted() -> None:
    lines = [_line(1)]
    listed: list[dict[str, Any]] = [
        {"id": f"{PREFIX}-000001", "result": 10}, {"id": f"{PREFIX}-010000007", "result": 10},
        {"id": f"{PREFIX}-preflight", "result": None}, {"id": "other-run-000001", "result": 10}]
    out = reconcile(lines, listed, run_prefix=PREFIX)
    assert out["passed"] and out["unaccounted"] == 1
    assert out["unaccounted_transactions"] == [f"{PREFIX}-010000007"]


def _summary(lost: list[str]) -> dict[str, Any]:
    return {"workers": {"lost": lost, "lost_with_worker": 3 if lost else 0}, "thresholds": [], "passed": True}


def test_a_lost_worker_fails_the_run_unless_the_scenario_allows_it() -> None:
    s = _summary(["w1"])
    _lost_workers_threshold(s, allowed=False)
    assert s["passed"] is False and s["lost_with_worker"] == 3
    assert s["thresholds"] == [{"name": "lost_workers", "limit": 0, "value": 1, "passed": False}]
    s = _summary(["w1"])
    _lost_workers_threshold(s, allowed=True)
    assert s["passed"] is True and s["thresholds"][0]["passed"]
    s = _summary([])
    _lost_workers_threshold(s, allowed=False)
    assert s["passed"] is True and s["thresholds"][0]["value"] == 0
    s = {"thresholds": [], "passed": True}  # not a master: nothing to say
    _lost_workers_threshold(s, allowed=False)
    assert s == {"thresholds": [], "passed": True}


def test_callbacks_still_queued_in_a_lost_worker_are_lost_with_it_not_missing() -> None:
    stride = 10_000_000
    lines = [_line(1), _line(stride + 1), _line(stride + 2), _line(2 * stride + 1)]
    listed: list[dict[str, Any]] = [{"id": f"{PREFIX}-{stride + 1:06d}", "result": 10}]
    # worker 1 was lost: two of its respondents' callbacks went down with it (one got through);
    # workers 0 and 2 are alive, so their missing callbacks are the run's own problem
    out = reconcile(lines, listed, run_prefix=PREFIX, lost_with_worker=lambda i: i // stride == 1)
    assert out["lost_with_worker"] == 1 and out["lost_with_worker_transactions"] == [f"{PREFIX}-{stride + 2:06d}"]
    assert out["problems"] == {"missing": 2}
    assert sorted(m["respondent"] for m in out["mismatches"]) == [1, 2 * stride + 1]
    assert "lost_with_worker" not in reconcile(lines, listed, run_prefix=PREFIX)  # no worker lost: not claimed


def test_the_master_knows_which_indices_a_lost_worker_walked(tmp_path: Path) -> None:
    import dataclasses

    from loadtest.locust_driver.state import WORKER_STRIDE, ProcessConfig, TestRun
    from loadtest.scenario.file import load_scenario
    from tests.helpers import ROOT

    sc = dataclasses.replace(load_scenario(ROOT / "scenarios" / "smoke.toml"), panel=None)
    cfg = ProcessConfig(sc, "http://127.0.0.1:9", tmp_path, "worker", 3, "k", "pk", "ps")
    master = TestRun(dataclasses.replace(cfg, role="master", worker_index=0), sc)
    try:
        master.absorb("w-three", TestRun(cfg, sc).take_report())
        master.absorb("w-four", TestRun(dataclasses.replace(cfg, worker_index=4), sc).take_report())
        walked = master._walked_by_lost_worker({"workers": {"lost": ["w-three"]}})
        assert walked is not None
        assert walked(3 * WORKER_STRIDE + 17) and not walked(4 * WORKER_STRIDE + 17) and not walked(17)
        assert master._walked_by_lost_worker({"workers": {"lost": []}}) is None
    finally:
        assert master.log is not None
        master.log.close()
