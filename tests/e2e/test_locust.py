"""`loadtest locust` headless: Locust in a subprocess, our users, the embedded platform."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson

from tests.e2e.test_run import SMOKE, loadtest, scenario_variant, smoke_without_pace_thresholds, summary


def test_a_headless_locust_run_uses_our_personas_and_writes_the_same_summary(tmp_path: Path) -> None:
    # Beside a busy core, 20 users' first takes at once took 550 ms at p95, over smoke's 250.
    smoke = smoke_without_pace_thresholds(tmp_path)
    out = loadtest("locust", str(smoke), "--headless", "-u", "20", "-r", "20", "-t", "10s", "--only-summary",
                   "--reports", str(tmp_path / "r"), "--csv", str(tmp_path / "loc"), timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    s = summary(tmp_path / "r")
    assert s["driver"] == "locust" and s["passed"] and s["unexpected"] == 0 and s["respondents"] > 20
    finished = {k: v for k, v in s["outcomes"].items() if k != "incomplete" and v}
    assert "survey_complete" in finished and "terminated" in finished
    for step in ("take", "submit-page"):
        # Locust's own count and ours, taken at the same moment, are of the same requests.
        ours, theirs = s["requests"][step], s["locust_stats"][step]
        assert (theirs["count"], theirs["failures"]) == (ours["count"], 0)
        # Locust times each request around ours (its wrapper, connection acquire and body read
        # enclose our write-to-reply service time) and rounds to whole milliseconds: it can be
        # above ours by however busy the machine is, never below by more than its rounding.
        assert theirs["p50_ms"] >= ours["p50_ms"] - 1.0
        assert s["requests"][step]["count"] > 0
    # Callbacks from the users' greenlets, through the panel limit, reconciled against the panel.
    assert s["callbacks"]["accepted"] > 0 and s["callbacks"]["too_many_requests"] == 0
    assert s["callbacks"]["undelivered"] == 0 and s["reconciliation"]["passed"]
    assert s["reconciliation"]["respondents_checked"] == s["respondents"] == s["started"]
    lines = [orjson.loads(line) for line in (Path(s["run_dir"]) / "respondents.jsonl").read_bytes().splitlines()]
    completed = sum(1 for line in lines if "survey_complete" in line["statuses"])
    assert s["data_check"]["passed"] and s["data_check"]["respondents_checked"] == completed
    assert s["limits"]["panel"]["shares"] == [10.0] and s["limits"]["panel"]["granted"] >= s["callbacks"]["sent"]
    with (tmp_path / "loc_stats.csv").open() as f:  # and Locust's own reports name requests by step
        assert {"take", "submit-page"} <= {row["Name"] for row in csv.DictReader(f)}


def test_a_bad_scenario_exits_2_before_locust_starts(tmp_path: Path) -> None:
    scenario = scenario_variant(tmp_path, SMOKE, **{'model = "closed"': 'model = "never"'})
    out = loadtest("locust", str(scenario), "--headless", "-t", "1s")
    assert out.returncode == 2 and out.stderr.strip().endswith("load.model: expected one of closed, open (got 'never')")
