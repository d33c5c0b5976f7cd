"""The example load shapes (scenarios/ramp.toml, spike.toml, soak.toml) end to end against the
embedded platform: each passes, and summary.json and the report carry each stage's figures. The
Locust driver follows the same stages through its LoadTestShape, to the end, with no -t.

Each run is a quick copy of the example (`quick_copy`): the same stages, targets, arrivals, seed,
personas and thresholds, every stage a fifth as long and the respondents' think times a tenth
(customer_satisfaction.toml's speeder rule scaled with them). The copy is checked against the
example before it runs, so the example's plan is what is followed. Following long stages for
real, and arrivals against the plan's integral per stage and per second, is bench/load_shapes.py's.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from loadtest.core.stages import arrival_times
from loadtest.scenario.file import load_scenario
from tests.e2e.test_run import loadtest, respondents, run_dir, summary
from tests.helpers import CUSTOMER, ROOT, survey_variant

pytestmark = pytest.mark.slow
SCENARIOS = ROOT / "scenarios"
STAGE_SCALE = 0.2  # a quick copy's stages, as a share of the example's durations (each keeps >= 2 arrivals)
THINK_SCALE = 0.1  # a quick copy's think_scale; its survey's speeder rule (3.0 s) is scaled by the same


def _quick_survey(dest: Path) -> Path:
    """customer_satisfaction.toml (written into `dest`) with its speeder rule THINK_SCALE times as
    long: a walk with think_scale = THINK_SCALE (a completer's: 10 questions at >= 0.3 s of think
    each) is in the same proportion to the rule as the example's own walk, so no respondent's
    outcome changes (there is no speeder among the shapes' personas). test_run.quick_smoke's rule
    (0.5 s) is for its think_scale of 0.25 and up."""
    rule = f"speeder_min_seconds = {3.0 * THINK_SCALE:g}"
    return survey_variant(CUSTOMER, dest, **{"speeder_min_seconds = 3.0": rule})


def quick_copy(tmp: Path, name: str, stage_scale: float = STAGE_SCALE) -> Path:
    """scenarios/NAME.toml with every stage's duration_s times `stage_scale` and the respondents'
    think times THINK_SCALE times theirs, against _quick_survey's customer_satisfaction.toml."""
    example = SCENARIOS / f"{name}.toml"
    text = example.read_text()
    text, stages = re.subn(r"^duration_s = ([0-9.]+)$", lambda m: f"duration_s = {float(m[1]) * stage_scale:g}",
                           text, flags=re.M)
    text, heads = re.subn(r"^\[scenario\]$", f"[scenario]\nthink_scale = {THINK_SCALE:g}", text, flags=re.M)
    assert heads == 1 and "think_scale" not in example.read_text()
    (tmp / "surveys").mkdir(exist_ok=True)  # the example names "surveys/customer_satisfaction.toml"
    _quick_survey(tmp / "surveys")
    copy = tmp / example.name
    copy.write_text(text)
    # The copy is the example but for time: the same stages (names, targets), model, arrivals,
    # seed, personas and thresholds; only the durations are scaled.
    ex, sc = load_scenario(example), load_scenario(copy)
    assert stages == len(ex.load.stages) > 0
    assert [(s.name, s.target) for s in sc.load.stages] == [(s.name, s.target) for s in ex.load.stages]
    assert [s.duration_s for s in sc.load.stages] == pytest.approx([s.duration_s * stage_scale
                                                                    for s in ex.load.stages])
    assert (sc.load.kind, sc.load.arrivals, sc.load.start_target, sc.load.max_in_flight, sc.seed) == (
        ex.load.kind, ex.load.arrivals, ex.load.start_target, ex.load.max_in_flight, ex.seed)
    assert sc.thresholds == ex.thresholds
    assert [(p.name, p.weight) for p in sc.personas] == [(p.name, p.weight) for p in ex.personas]
    assert all(p.params["think_scale"] == THINK_SCALE for p in sc.personas)
    return copy


def _check_stages(s: dict[str, Any], scenario: Path) -> None:
    sc = load_scenario(scenario)
    stages = s["stages"]
    assert [st["name"] for st in stages] == [st.name for st in sc.load.stages]
    assert sum(st["requests_total"] for st in stages) == sum(r["count"] for r in s["requests"].values())
    assert sum(st["respondents_started"] for st in stages) == s["respondents"]
    for stage_name in sc.thresholds.stages:  # a stage's own thresholds are judged, by name
        assert any(t["name"].startswith(f"stage.{stage_name}.") and t["passed"] for t in s["thresholds"])
    timeline = s["load_timeline"]
    assert len(timeline["planned"]) == len(timeline["achieved"]) == len(timeline["second"])
    if sc.load.kind == "open":  # every planned arrival started (nothing dropped), in its own stage
        planned = [0] * len(stages)
        for a in arrival_times(sc.load.plan(), sc.load.arrivals, sc.seed):
            planned[a.stage] += 1
        assert [st["arrivals"]["planned"] for st in stages] == planned
        assert [st["arrivals"]["started"] for st in stages] == planned
        assert s["respondents"] == sum(planned) and sum(timeline["achieved"]) == sum(planned)
    else:
        peak = max(st["in_flight"]["peak"] for st in stages)
        assert peak == round(sc.load.plan().peak)


@pytest.mark.parametrize("name", ["ramp", "spike", "soak"])
def test_each_example_shape_passes_against_the_embedded_platform(tmp_path: Path, name: str) -> None:
    scenario = quick_copy(tmp_path, name)
    out = loadtest("run", str(scenario), "--reports", str(tmp_path / "r"), timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    s = summary(tmp_path / "r")
    assert s["passed"] and s["unexpected"] == 0 and s["dropped_arrivals"] == 0
    _check_stages(s, scenario)
    assert "stage" in out.stdout and all(st["name"] in out.stdout for st in s["stages"])  # the console's table
    report = (run_dir(tmp_path / "r") / "report.html").read_text()
    assert 'id="load-plan"' in report and "Load plan and stages" in report


def test_the_same_seed_gives_the_same_poisson_arrivals(tmp_path: Path) -> None:
    # The example's own stages (not scaled), cut at 2 s: its first 8 seeded arrivals (3 s: 12),
    # none within 0.0005 s of a rounding edge of the 0.01 s compared. The two runs are separate
    # processes with nothing shared, so they go side by side.
    scenario = quick_copy(tmp_path, "spike", stage_scale=1.0)
    with ThreadPoolExecutor(2) as pool:
        first, again = pool.map(lambda d: loadtest("run", str(scenario), "--duration", "2", "--reports",
                                                   str(tmp_path / d)), ("a", "b"))
    assert first.returncode == again.returncode == 0, first.stderr[-2000:] + again.stderr[-2000:]

    def due(reports: Path) -> list[tuple[int, float]]:  # each respondent's index and intended start
        return sorted((r["index"], round(r["timings"]["start_s"] - r["timings"]["late_s"], 2))
                      for r in respondents(reports))

    assert due(tmp_path / "a") == due(tmp_path / "b") and len(due(tmp_path / "a")) > 5


@pytest.mark.parametrize("name", ["ramp", "soak"])
def test_locust_follows_the_stages_to_the_end_headless(tmp_path: Path, name: str) -> None:
    scenario = quick_copy(tmp_path, name)
    out = loadtest("locust", str(scenario), "--headless", "--only-summary",
                   "--reports", str(tmp_path / "r"), timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Shape test completed" in out.stderr  # ended by the plan, not by a run time
    s = summary(tmp_path / "r")
    assert s["driver"] == "locust" and s["passed"] and s["unexpected"] == 0
    _check_stages(s, scenario)
    incomplete = s["outcomes"].get("incomplete", 0)
    assert incomplete == 0  # ramps down and the end let every respondent finish


def test_open_model_stages_refuse_a_distributed_locust(tmp_path: Path) -> None:
    out = loadtest("locust", str(SCENARIOS / "ramp.toml"), "--master", "--headless", "--expect-workers", "1",
                   "--reports", str(tmp_path), timeout=120)
    assert out.returncode == 2
    assert "load.stages: expected a closed model for a distributed run" in out.stderr
