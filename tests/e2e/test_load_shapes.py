"""The example load shapes (scenarios/ramp.toml, spike.toml, soak.toml) end to end against the
embedded platform: each passes, and summary.json and the report carry each stage's figures. The
Locust driver follows the same stages through its LoadTestShape, to the end, with no -t."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadtest.core.stages import arrival_times
from loadtest.scenario.file import load_scenario
from tests.e2e.test_run import loadtest, respondents, run_dir, summary
from tests.helpers import ROOT

pytestmark = pytest.mark.slow
SCENARIOS = ROOT / "scenarios"


def _check_stages(s: dict[str, Any], name: str) -> None:
    sc = load_scenario(SCENARIOS / f"{name}.toml")
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
    out = loadtest("run", str(SCENARIOS / f"{name}.toml"), "--reports", str(tmp_path), timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    s = summary(tmp_path)
    assert s["passed"] and s["unexpected"] == 0 and s["dropped_arrivals"] == 0
    _check_stages(s, name)
    assert "stage" in out.stdout and all(st["name"] in out.stdout for st in s["stages"])  # the console's table
    report = (run_dir(tmp_path) / "report.html").read_text()
    assert 'id="load-plan"' in report and "Load plan and stages" in report


def test_the_same_seed_gives_the_same_poisson_arrivals(tmp_path: Path) -> None:
    first = loadtest("run", str(SCENARIOS / "spike.toml"), "--duration", "3", "--reports", str(tmp_path / "a"))
    again = loadtest("run", str(SCENARIOS / "spike.toml"), "--duration", "3", "--reports", str(tmp_path / "b"))
    assert first.returncode == again.returncode == 0, first.stderr[-2000:] + again.stderr[-2000:]

    def due(reports: Path) -> list[tuple[int, float]]:  # each respondent's index and intended start
        return sorted((r["index"], round(r["timings"]["start_s"] - r["timings"]["late_s"], 2))
                      for r in respondents(reports))

    assert due(tmp_path / "a") == due(tmp_path / "b") and len(due(tmp_path / "a")) > 5


@pytest.mark.parametrize("name", ["ramp", "soak"])
def test_locust_follows_the_stages_to_the_end_headless(tmp_path: Path, name: str) -> None:
    out = loadtest("locust", str(SCENARIOS / f"{name}.toml"), "--headless", "--only-summary",
                   "--reports", str(tmp_path), timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Shape test completed" in out.stderr  # ended by the plan, not by a run time
    s = summary(tmp_path)
    assert s["driver"] == "locust" and s["passed"] and s["unexpected"] == 0
    _check_stages(s, name)
    incomplete = s["outcomes"].get("incomplete", 0)
    assert incomplete == 0  # ramps down and the end let every respondent finish


def test_open_model_stages_refuse_a_distributed_locust(tmp_path: Path) -> None:
    out = loadtest("locust", str(SCENARIOS / "ramp.toml"), "--master", "--headless", "--expect-workers", "1",
                   "--reports", str(tmp_path), timeout=120)
    assert out.returncode == 2
    assert "load.stages: expected a closed model for a distributed run" in out.stderr
