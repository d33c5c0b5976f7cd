"""A fault campaign end to end: the embedded platform injects ~12% faults on every endpoint; the
run survives them all, reports them apart from genuine failures, and loses nothing."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_run import SMOKE, loadtest, respondents, scenario_variant, summary

CAMPAIGN = """
[faults]
seed = 5
[faults."*"]
error = 0.05
throttle = 0.01
retry_after_s = 0.2
malformed = 0.02
truncated = 0.01
no_token = 0.01
wrong_token = 0.01
"""


def test_a_run_under_injected_faults_recovers_every_respondent_and_loses_nothing(tmp_path: Path) -> None:
    scenario = scenario_variant(tmp_path, SMOKE, **{"[load]": CAMPAIGN + "\n[load]"})
    out = loadtest("run", str(scenario), "--reports", str(tmp_path / "r"))
    s = summary(tmp_path / "r")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert s["passed"] and s["unexpected"] == 0 and s["respondents"] == 200
    injected = s["injected_faults"]
    assert set(injected) == {"error", "throttle", "malformed", "truncated", "no_token", "wrong_token"}
    assert sum(step["injected"] for step in s["requests"].values()) >= sum(injected.values()) > 50
    assert all(step["failures"] == 0 for step in s["requests"].values())  # nothing genuine failed
    # Lost replies were recovered both ways: some submits had landed, some had not.
    assert s["recoveries"]["resumed"] > 0 and s["recoveries"]["resubmitted"] > 0
    # Nothing lost, nothing twice: every completion stored as answered, every callback once.
    assert s["data_check"]["passed"] and s["data_check"]["problems"] == {"missing": 0, "extra": 0, "mismatched": 0}
    assert s["reconciliation"]["passed"] and s["callbacks"]["gave_up"] == 0
    lines = respondents(tmp_path / "r")
    assert len(lines) == 200 and all(line["outcome"] != "failed" for line in lines)
    assert sum(len(line["faults"]) for line in lines) == sum(injected.values())


CONNECTION_CAMPAIGN = """
[faults]
seed = 9
[faults.connection]
reset = 0.02
reset_after = 0.02
cut = 0.01
slow_close = 0.01
hang = 0.005
hang_s = 2
slow_close_s = 0.5
refuse = 0.01
"""


def test_connection_faults_from_the_proxy_lose_nothing_and_no_callback_lands_twice(tmp_path: Path) -> None:
    # Resets, hangs and cut bodies carry no tag: they count as transport failures, so this run
    # allows them; what it does not allow is a lost or doubled response or callback.
    scenario = scenario_variant(tmp_path, SMOKE, **{"[load]": CONNECTION_CAMPAIGN + "\n[load]",
                                                    "error_ratio = 0.0": "error_ratio = 0.25"})
    out = loadtest("run", str(scenario), "--reports", str(tmp_path / "r"))
    s = summary(tmp_path / "r")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert s["unexpected"] == 0 and s["respondents"] == 200
    injected = s["platform_faults"]
    assert {"connection reset", "connection reset_after", "connection cut"} <= set(injected), injected
    failed = sum(step["failures"] for step in s["requests"].values())
    assert 0 < failed <= sum(injected.values())  # every transport failure is one the proxy caused
    assert s["recoveries"]["resumed"] > 0 and s["recoveries"]["resubmitted"] > 0
    assert s["data_check"]["passed"] and s["data_check"]["problems"] == {"missing": 0, "extra": 0, "mismatched": 0}
    rec = s["reconciliation"]
    assert rec["passed"] and "duplicated" not in rec["problems"] and s["callbacks"]["gave_up"] == 0
