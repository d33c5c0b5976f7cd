"""`loadtest run` end to end: a subprocess, the embedded platform, real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.helpers import CUSTOMER, ROOT, no_speeder, survey_variant

SMOKE = ROOT / "scenarios" / "smoke.toml"
STEADY = ROOT / "scenarios" / "steady.toml"


def loadtest(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loadtest.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, **(env or {})})


def run_dir(reports: Path) -> Path:
    (only,) = list(reports.iterdir())
    return only


def summary(reports: Path) -> dict[str, Any]:
    return orjson.loads((run_dir(reports) / "summary.json").read_bytes())


def respondents(reports: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (run_dir(reports) / "respondents.jsonl").read_bytes().splitlines()]


def scenario_variant(tmp: Path, src: Path, survey: Path | None = None, **replace: str) -> Path:
    text = src.read_text().replace('personas_dir', '#').replace(
        "[scenario]", f'[scenario]\npersonas_dir = "{ROOT}/personas"', 1)
    survey = survey or ROOT / "scenarios/surveys/customer_satisfaction.toml"
    text = text.replace('"surveys/customer_satisfaction.toml"', f'"{survey}"')
    text = text.replace('"surveys/store_visit.toml"', f'"{ROOT}/scenarios/surveys/store_visit.toml"')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    out = tmp / f"{src.stem}-variant.toml"
    out.write_text(text)
    return out


def smoke_without_pace_thresholds(tmp: Path) -> Path:
    """smoke.toml but for its thresholds on pace, for tests of what the drivers add up to and
    write, not of how fast a shared machine is. Beside a busy core the first takes of 16 users
    starting at once in two fresh worker processes took 300 ms (over smoke's p95 of 250); and in
    an 8 s run the completers, the slowest walkers, can finish too few to make smoke's 30% share
    of completes. What every reply and every respondent must be (error_ratio, unexpected) stays."""
    return scenario_variant(tmp, SMOKE, **{"[thresholds.p95_ms]\ntake = 250\nsubmit-page = 250\n": "",
                                           "[thresholds.outcome_share]\nsurvey_complete = { min = 0.3 }": ""})


# smoke.toml walked at a quarter of its pace, for tests that need its personas, limits and panel
# but not its respondents' ~4 s walks: every persona thinks a quarter as long, and the survey's
# speeder rule is scaled with it (3.0 s -> 0.5 s). A completer's think time alone is at least
# 10 questions x 0.3 s x 0.25 = 0.75 s, more than the 0.5 s (as 3.0 s is at full pace); a speeder
# (no think time) answers its pages in a few tens of ms either way. So every persona still ends
# as it expects, and the run passes. Callbacks still go out at the panel's 10 a second.
QUICK_THINK_SCALE = 0.25
QUICK_SPEEDER_S = 0.5


def quick_survey(tmp: Path) -> Path:
    """customer_satisfaction.toml with its speeder rule at quick_smoke's pace (tmp/customer_satisfaction.toml)."""
    return survey_variant(CUSTOMER, tmp, **{"speeder_min_seconds = 3.0": f"speeder_min_seconds = {QUICK_SPEEDER_S}"})


def quick_smoke(tmp: Path, think_scale: float = QUICK_THINK_SCALE, **replace: str) -> Path:
    """smoke.toml (name, personas, limits, panel and thresholds unchanged) at a quarter of its
    think time (or think_scale: 0.25 or more, for the speeder rule above to still hold)."""
    assert think_scale >= QUICK_THINK_SCALE, think_scale
    return scenario_variant(tmp, SMOKE, survey=quick_survey(tmp),
                            **{'name = "smoke"': f'name = "smoke"\nthink_scale = {think_scale}', **replace})


_smoke_runs: dict[int, tuple[subprocess.CompletedProcess[str], Path]] = {}


def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`loadtest run scenarios/smoke.toml --reports DIR`, the shipped scenario as it is, once per
    session: the smoke test here and test_panel's read the same run, which they used to make
    twice with the same command (~25 s each: 200 respondents' think time, and ~180 callbacks at
    the panel's 10 a second). Returns the finished process and DIR."""
    key = id(tmp_path_factory)  # one session's factory (TempPathFactory does not hash)
    if key not in _smoke_runs:
        reports = tmp_path_factory.mktemp("smoke")
        _smoke_runs[key] = (loadtest("run", str(SMOKE), "--reports", str(reports)), reports)
    return _smoke_runs[key]


def test_smoke_reaches_every_outcome_its_personas_expect_and_passes(tmp_path_factory: pytest.TempPathFactory) -> None:
    out, reports = smoke_run(tmp_path_factory)
    assert out.returncode == 0, out.stdout + out.stderr
    s = summary(reports)
    assert s["passed"] and s["unexpected"] == 0 and s["respondents"] == 200
    statuses = set(s["statuses"])
    assert {"survey_complete", "terminated", "quota_full"} <= statuses
    assert len(statuses - {"survey_complete", "terminated", "quota_full"}) >= 6, statuses
    for key in ("scenario", "seed", "duration_s", "requests", "outcomes", "personas", "thresholds", "passed"):
        assert key in s
    for step in ("take", "submit-page", "previous-page"):
        assert {"count", "failures", "p50_ms", "p95_ms", "p99_ms", "max_ms"} <= set(s["requests"][step])
    assert "abandoned" in s["outcomes"] and s["outcomes"]["abandoned"] > 0
    assert s["personas"]["quota_chaser"]["outcomes"].keys() == {"survey_complete", "quota_full"}
    assert s["personas"]["chainer"]["outcomes"] == {"redirect": s["personas"]["chainer"]["respondents"]}
    lines = respondents(reports)
    assert len(lines) == 200 and {line["index"] for line in lines} == set(range(200))
    assert all({"persona", "seed", "outcome", "pages", "timings", "checks"} <= set(line) for line in lines)
    # Read back: every completion (a returner's too) is stored exactly as it was answered.
    completed = sum(1 for line in lines if "survey_complete" in line["statuses"])
    assert s["data_check"]["passed"] and s["data_check"]["respondents_checked"] == completed > 0
    assert s["data_check"]["records_read"] == completed
    assert "PASSED" in out.stdout


def test_the_same_seed_gives_the_same_respondents(tmp_path: Path) -> None:
    survey = no_speeder(tmp_path)
    scenario = scenario_variant(tmp_path, SMOKE, survey=survey, **{
        "concurrency = 50": "concurrency = 1", 'name = "smoke"': 'name = "determinism"\nthink_scale = 0.0'})
    # The two runs go side by side, each with its own embedded platform: one respondent at a
    # time, each mostly waits (on its platform, the panel limit, a returner's or backtracker's
    # think time), so together they take little longer than one. Neither can see the other.
    # The second runs on asyncio's own loop: which loop drives them is no part of the respondents.
    loops = ("uvloop", "asyncio")
    procs = []
    for n, loop in enumerate(loops):
        with (tmp_path / f"out{n}.log").open("wb") as log:  # the child keeps its own copy of the descriptor
            procs.append(subprocess.Popen([sys.executable, "-m", "loadtest.cli", "run", str(scenario), "--respondents",
                                           "40", "--seed", "1234", "--reports", str(tmp_path / f"r{n}")], cwd=ROOT,
                                          stdout=log, stderr=subprocess.STDOUT,
                                          env={**os.environ, "LOADTEST_EVENT_LOOP": loop}))
    try:
        for proc in procs:
            proc.wait(timeout=240)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    runs = []
    for n, proc in enumerate(procs):
        assert proc.returncode in (0, 3), (tmp_path / f"out{n}.log").read_text()[-3000:]
        reports = tmp_path / f"r{n}"
        assert summary(reports)["event_loop"] == loops[n]
        # The embedded platform's port is the target's address, and each run's own id in the
        # transaction ids keeps runs apart on a stateful target: neither is respondent behaviour.
        runs.append([orjson.loads(re.sub(rb"lt1234-[0-9a-f]{6}-", b"lt1234-RUN-", re.sub(
            rb"127\.0\.0\.1:\d+", b"127.0.0.1:PORT", orjson.dumps({k: v for k, v in line.items() if k != "timings"}))))
            for line in respondents(reports)])
    first, second = (sorted(r, key=lambda line: line["index"]) for r in runs)
    assert first == second
    assert len({line["outcome"] for line in first}) >= 5  # a real mix, not 40 identical failures
    assert all(line["seed"] != first[0]["seed"] for line in first[1:])
    texts = [line for line in first if line["persona"] == "completer"]
    assert texts and all(line["error"] is None for line in texts)


def test_a_breached_threshold_exits_3_and_names_it(tmp_path: Path) -> None:
    # At quick_smoke's pace: its respondents still end as they expect, so the only threshold
    # this run breaks is the one made impossible here, as at full pace.
    scenario = quick_smoke(tmp_path, **{"take = 250": "take = 0.001", "concurrency = 50": "concurrency = 10"})
    out = loadtest("run", str(scenario), "--respondents", "20", "--reports", str(tmp_path / "r"))
    assert out.returncode == 3, out.stdout + out.stderr
    s = summary(tmp_path / "r")
    failed = [t["name"] for t in s["thresholds"] if not t["passed"]]
    assert "take.p95_ms" in failed and not s["passed"]
    assert "FAIL take.p95_ms" in out.stdout


def test_a_bad_scenario_exits_2_with_one_line(tmp_path: Path) -> None:
    scenario = scenario_variant(tmp_path, SMOKE, **{'model = "closed"': 'model = "sometimes"'})
    out = loadtest("run", str(scenario), "--reports", str(tmp_path / "r"))
    assert out.returncode == 2
    assert out.stderr.strip() == f"{scenario}: load.model: expected one of closed, open (got 'sometimes')"
    assert not (tmp_path / "r").exists()


def test_a_real_target_needs_its_key_in_the_named_environment_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LOADTEST_API_KEY"}
    out = subprocess.run([sys.executable, "-m", "loadtest.cli", "run", str(SMOKE), "--target", "http://127.0.0.1:9",
                          "--reports", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert out.returncode == 2 and "LOADTEST_API_KEY" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_record_keeps_every_exchange_and_no_secret_reaches_any_output(tmp_path: Path) -> None:
    # Made up per run, one for every secret a run uses; none may reach an output, raw or base64.
    made_up = {name: f"sk-{name.lower()}-" + secrets.token_hex(12) for name in
               ("LOADTEST_API_KEY", "LOADTEST_PANEL_API_KEY", "LOADTEST_PANEL_SECRET", "LOADTEST_DATA_TOKEN")}
    recording = tmp_path / "rec.jsonl"
    # smoke's personas, panel and read-back at quick_smoke's pace: every secret is used as before.
    out = loadtest("run", str(quick_smoke(tmp_path)), "--respondents", "30", "--record", str(recording),
                   "--reports", str(tmp_path / "r"), env=made_up)
    assert out.returncode == 0, out.stdout + out.stderr
    header, *lines = [orjson.loads(x) for x in recording.read_bytes().splitlines()]
    assert header["recording"] == "loadtest" and header["api_key_env"] == "LOADTEST_API_KEY"
    assert {s["id"] for s in header["surveys"]} == {100001, 200002}
    assert len(lines) == sum(s["count"] for s in summary(tmp_path / "r")["requests"].values())
    assert {x["step"] for x in lines} >= {"take", "submit-page"}
    assert all(x["headers"].get("api-key") == "<redacted>" for x in lines if x["step"] != "redirect")
    assert all(x["reply"]["token"] for x in lines if x["step"] != "redirect")
    s = summary(tmp_path / "r")  # the panel and the read-back really used theirs
    assert s["callbacks"]["accepted"] > 0 and s["data_check"]["passed"] and s["data_check"]["records_read"] > 0
    forms = [f for v in made_up.values() for f in (v, base64.b64encode(v.encode()).decode())]
    for path in [recording, *run_dir(tmp_path / "r").iterdir()]:
        text = path.read_text()
        assert not [f for f in forms if f in text], path
    assert not [f for f in forms if f in out.stdout + out.stderr]


def test_open_model_measures_from_intended_start(tmp_path: Path) -> None:
    # steady.toml's arrivals (20 a second for 3 s) as they are; its respondents think a quarter
    # as long (quick_smoke's pace and speeder rule), so the run does not wait ~8 s after the
    # last arrival for the slowest completer. Arrivals still overlap: a completer walks >= 0.75 s.
    steady = scenario_variant(tmp_path, STEADY, survey=quick_survey(tmp_path), **{
        'name = "steady"': f'name = "steady"\nthink_scale = {QUICK_THINK_SCALE}'})
    reports = tmp_path / "r"
    out = loadtest("run", str(steady), "--duration", "3", "--reports", str(reports))
    assert out.returncode == 0, out.stdout + out.stderr
    s = summary(reports)
    assert s["respondents"] == 60 and s["dropped_arrivals"] == 0
    take = s["requests"]["take"]
    assert take["corrected"]["p50_ms"] >= take["p50_ms"] > 0
