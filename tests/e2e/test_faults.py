"""A fault campaign end to end: the embedded platform injects ~12% faults on every endpoint; the
run survives them all, reports them apart from genuine failures, and loses nothing.

Each run is scenarios/smoke.toml's whole persona mix with quick walks (test_run.quick_smoke)
and RESPONDENTS respondents, not the example's 200 (a run's length is the panel's 10 callbacks a
second). The platform decides request n of an endpoint (the proxy: request n) from the campaign's
seed and n alone, so what a campaign injects within a run's first requests is fixed: see RESPONDENTS."""

from __future__ import annotations

from pathlib import Path

from loadtest.platform.faults.proxy import KINDS as CONNECTION_KINDS
from tests.e2e.test_run import loadtest, quick_smoke, respondents, summary

# Two whole cycles of the mix, some 450 requests (~270 of them submit-page). Seed 5 draws all six
# application kinds within submit-page's first 80 requests, and ~40 faults reach the respondents;
# seed 17 draws every kind of connection fault (the 0.5% hang too) within the proxy's first 60
# requests, and none before its 13th (preflight and the panel's set-up come first).
RESPONDENTS = 64

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
    scenario = quick_smoke(tmp_path, **{"[load]": CAMPAIGN + "\n[load]"})
    out = loadtest("run", str(scenario), "--respondents", str(RESPONDENTS), "--reports", str(tmp_path / "r"))
    s = summary(tmp_path / "r")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert s["passed"] and s["unexpected"] == 0 and s["respondents"] == RESPONDENTS
    injected = s["injected_faults"]
    assert set(injected) == {"error", "throttle", "malformed", "truncated", "no_token", "wrong_token"}
    # More than one for every four respondents (the example's 200: > 50); ~0.6 a respondent are drawn.
    assert sum(step["injected"] for step in s["requests"].values()) >= sum(injected.values()) > RESPONDENTS / 4
    assert all(step["failures"] == 0 for step in s["requests"].values())  # nothing genuine failed
    # Lost replies were recovered both ways: some submits had landed, some had not.
    assert s["recoveries"]["resumed"] > 0 and s["recoveries"]["resubmitted"] > 0
    # Nothing lost, nothing twice: every completion stored as answered, every callback once.
    assert s["data_check"]["passed"] and s["data_check"]["problems"] == {"missing": 0, "extra": 0, "mismatched": 0}
    assert s["reconciliation"]["passed"] and s["callbacks"]["gave_up"] == 0
    lines = respondents(tmp_path / "r")
    assert len(lines) == RESPONDENTS and all(line["outcome"] != "failed" for line in lines)
    assert sum(len(line["faults"]) for line in lines) == sum(injected.values())


CONNECTION_CAMPAIGN = """
[faults]
seed = 17
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
    scenario = quick_smoke(tmp_path, **{"[load]": CONNECTION_CAMPAIGN + "\n[load]",
                                        "error_ratio = 0.0": "error_ratio = 0.25"})
    out = loadtest("run", str(scenario), "--respondents", str(RESPONDENTS), "--reports", str(tmp_path / "r"))
    s = summary(tmp_path / "r")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert s["unexpected"] == 0 and s["respondents"] == RESPONDENTS
    injected = s["platform_faults"]
    assert {f"connection {kind}" for kind in CONNECTION_KINDS} <= set(injected), injected
    failed = sum(step["failures"] for step in s["requests"].values())
    assert 0 < failed <= sum(injected.values())  # every transport failure is one the proxy caused
    assert s["recoveries"]["resumed"] > 0 and s["recoveries"]["resubmitted"] > 0
    assert s["data_check"]["passed"] and s["data_check"]["problems"] == {"missing": 0, "extra": 0, "mismatched": 0}
    rec = s["reconciliation"]
    assert rec["passed"] and "duplicated" not in rec["problems"] and s["callbacks"]["gave_up"] == 0
