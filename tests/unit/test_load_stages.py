"""[[load.stages]] in scenario files: the examples load, flat forms are one stage, bad input is one
line and exit 2; per-stage figures, stage thresholds and the Locust shape's ticks, all pure."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from loadtest.cli import main
from loadtest.core.stages import Stage, arrival_times
from loadtest.locust_driver.shape_plan import GRACE_S, ArrivalSlots, ShapePlan
from loadtest.results.metrics import Metrics
from loadtest.results.stage_figures import stage_lines, stage_report
from loadtest.results.thresholds import evaluate
from loadtest.scenario.file import ScenarioError, load_scenario
from loadtest.scenario.load import LoadModel
from tests.helpers import ROOT

SCENARIOS = ROOT / "scenarios"
STAGED_OPEN = """
[load]
model = "open"
arrivals = "poisson"
[[load.stages]]
name = "up"
duration_s = 10
target = 20
[[load.stages]]
duration_s = 5
target = 20
"""


def scenario(tmp_path: Path, load: str, thresholds: str = "") -> Path:
    text = (SCENARIOS / "steady.toml").read_text()
    start, end = text.index("[load]"), text.index("[answers]")
    text = text[:start] + load.strip() + "\n\n" + text[end:]
    text = text.replace('"surveys/', f'"{ROOT}/scenarios/surveys/') + thresholds
    out = tmp_path / "staged.toml"
    out.write_text(text)
    return out


def test_the_example_scenarios_load_with_their_stages() -> None:
    ramp, spike, soak = (load_scenario(SCENARIOS / f"{n}.toml") for n in ("ramp", "spike", "soak"))
    assert [s.name for s in ramp.load.stages] == ["warm", "ramp", "hold"] and ramp.load.arrivals == "uniform"
    assert spike.load.arrivals == "poisson" and set(spike.thresholds.stages) == {"peak"}
    assert soak.load.kind == "closed" and soak.load.plan().peak == 30 and soak.load.duration_s == 20
    assert spike.thresholds.stages["peak"].p95_ms == {"take": 250, "submit-page": 250}


def test_flat_forms_are_one_stage_holding_their_target() -> None:
    smoke = load_scenario(SCENARIOS / "smoke.toml").load
    plan = smoke.plan()
    assert smoke.stages == () and [(s.name, s.duration_s, s.target) for s in plan.stages] == [("stage1", 120, 50)]
    assert plan.start == 50 and smoke.planned_respondents() == 200
    steady = load_scenario(SCENARIOS / "steady.toml").load
    assert steady.plan().total == 600 and steady.planned_respondents() == 600 and steady.arrivals == "uniform"


def test_stages_parse_with_default_names_and_the_plan_as_duration(tmp_path: Path) -> None:
    sc = load_scenario(scenario(tmp_path, STAGED_OPEN, "\n[thresholds.stage.stage2.p95_ms]\ntake = 50\n"))
    assert sc.load.stages == (Stage("up", 10, 20), Stage("stage2", 5, 20))
    assert sc.load.duration_s == 15 and sc.load.arrival_rate == 20 and sc.load.start_target == 0
    assert sc.thresholds.stages["stage2"].p95_ms == {"take": 50}


@pytest.mark.parametrize(("load", "key", "expected"), [
    (STAGED_OPEN.replace("duration_s = 10", "duration_s = 0"), "load.stages[0].duration_s", "a number > 0"),
    (STAGED_OPEN.replace("duration_s = 5", "duration_s = -2"), "load.stages[1].duration_s", "a number > 0"),
    (STAGED_OPEN.replace("target = 20\n[[", "target = -1\n[["), "load.stages[0].target", "a number >= 0"),
    (STAGED_OPEN.replace("name = \"up\"", "nmae = \"up\""), "load.stages[0].nmae", "did you mean name?"),
    (STAGED_OPEN.replace("duration_s = 5", "duration = 5"), "load.stages[1].duration", "did you mean duration_s?"),
    (STAGED_OPEN.replace('arrivals = "poisson"', 'arrivals = "bursty"'), "load.arrivals", "one of uniform, poisson"),
    (STAGED_OPEN.replace('arrivals = "poisson"', "arrival_rate = 5"), "load.arrival_rate", "not with [[load.stages]]"),
    (STAGED_OPEN.replace('arrivals = "poisson"', "duration_s = 30"), "load.duration_s", "not with [[load.stages]]"),
    (STAGED_OPEN.replace('arrivals = "poisson"', "start_targte = 3"), "load.start_targte",
     "did you mean start_target?"),
    (STAGED_OPEN.replace("duration_s = 5", 'name = "up"\nduration_s = 5'), "load.stages[1].name", "'up' is taken"),
    (STAGED_OPEN.replace("target = 20", "target = 0"), "load.stages", "at least one stage with a target > 0"),
    ('[load]\nmodel = "open"\nstages = 3', "load.stages", "a non-empty array of tables"),
    ('[load]\nmodel = "closed"\nrespondents = 5\n[[load.stages]]\nname = "peak"\nduration_s = 5\ntarget = 8',
     "load.respondents", "stage 'peak' can never have 8 in flight"),
    ('[load]\nmodel = "closed"\narrivals = "poisson"\n[[load.stages]]\nduration_s = 5\ntarget = 8', "load.arrivals",
     "unknown key with [[load.stages]]"),
])
def test_bad_stages_are_one_line_naming_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], load: str,
                                                      key: str, expected: str) -> None:
    path = scenario(tmp_path, load)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    line = str(err.value)
    assert "\n" not in line and line.startswith(f"{path}: {key}: ") and expected in line, line
    assert main(["run", str(path)]) == 2  # refused before anything starts
    assert capsys.readouterr().err.strip() == line


def test_a_threshold_naming_no_stage_is_refused_with_the_closest_name(tmp_path: Path) -> None:
    path = scenario(tmp_path, STAGED_OPEN, "\n[thresholds.stage.upp.p95_ms]\ntake = 50\n")
    with pytest.raises(ScenarioError, match=r"thresholds\.stage\.upp: expected the name of a \[\[load\.stages\]\] "
                                            r"stage \(up, stage2\) \(did you mean up\?\)"):
        load_scenario(path)
    bad_key = scenario(tmp_path, STAGED_OPEN, "\n[thresholds.stage.up]\np95 = 50\n")
    with pytest.raises(ScenarioError, match=r"thresholds\.stage\.up\.p95: unknown key"):
        load_scenario(bad_key)


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--arrival-rate", "5", "--arrival-rate: expected a scenario without [[load.stages]]"),
    ("--concurrency", "5", "--concurrency: expected a closed-model scenario"),
])
def test_overrides_that_contradict_the_stages_are_refused(capsys: pytest.CaptureFixture[str], option: str, value: str,
                                                          expected: str) -> None:
    assert main(["run", str(SCENARIOS / "ramp.toml"), option, value]) == 2
    assert capsys.readouterr().err.startswith(expected)
    assert main(["run", str(SCENARIOS / "soak.toml"), "--respondents", "3"]) == 2
    assert "--respondents: expected at least the stages' peak of 30 in flight" in capsys.readouterr().err


# --- per-stage figures and thresholds ------------------------------------------------------------------
def _log(tmp_path: Path, spans: list[tuple[float, float, float]]) -> Path:
    path = tmp_path / "respondents.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"persona": "p", "timings": {"start_s": s, "late_s": late,
                                                                        "duration_s": d}}) + b"\n"
                              for s, late, d in spans))
    return path


def test_stage_figures_split_requests_arrivals_and_in_flight_by_stage(tmp_path: Path) -> None:
    load = LoadModel(kind="open", stages=(Stage("a", 2, 2), Stage("b", 2, 2)), start_target=2, duration_s=4)
    metrics = Metrics()
    metrics.track_stages(load.plan())
    for at, status in ((0.5, 200), (1.5, 500), (2.5, 200), (9.0, 200)):  # after the plan: the last stage
        metrics.request("take", 0.010, 0.010, status, at)
    metrics.dropped(1)
    # three respondents: 0-1 s and 0.5-2.5 s (due at 0.25) arrive in stage a, 3-4 s in stage b
    spans = [(0.0, 0.0, 1.0), (0.5, 0.25, 2.0), (3.0, 0.0, 1.0)]
    stages, timeline = stage_report(load, 1, metrics, _log(tmp_path, spans), 4.0)
    a, b = stages
    assert a["requests"]["take"]["count"] == 2 and a["failures_total"] == 1 and a["error_ratio"] == 0.5
    assert b["requests"]["take"]["count"] == 2 and b["requests"]["take"]["p95_ms"] == pytest.approx(10, rel=0.01)
    assert a["arrivals"] == {"planned": 4, "expected": 4.0, "started": 2, "dropped": 0}
    assert b["arrivals"]["dropped"] == 1 and b["respondents_started"] == 1
    assert a["in_flight"] == {"planned_mean": None, "mean": 1.25, "peak": 2}  # (1 + 1.5) / 2 s
    assert b["in_flight"]["mean"] == 0.75 and b["in_flight"]["peak"] == 1
    assert timeline["planned"] == [2.0, 2.0, 2.0, 2.0] and timeline["achieved"] == [2, 0, 0, 1]
    assert timeline["in_flight"] == [1.5, 1.0, 0.5, 1.0]
    assert len(stage_lines(stages)) == 3

    summary = {"requests": {}, "unexpected": 0, "respondents": 3, "outcomes": {}, "stages": stages}
    sc = load_scenario(scenario(tmp_path, STAGED_OPEN.replace('"up"', '"a"'),
                                "\n[thresholds.stage.a]\nerror_ratio = 0.1\n[thresholds.stage.stage2]\n"
                                "dropped_arrivals = 0\n[thresholds.stage.stage2.p95_ms]\ntake = 50\n"))
    results = {t["name"]: (t["value"], t["passed"]) for t in evaluate(sc.thresholds, summary)}
    assert results["stage.a.error_ratio"] == (0.5, False)
    assert results["stage.stage2"] == ("not run (the plan was cut before it)", True)  # not in this run


def test_a_respondent_started_as_its_workers_last_one_ended_is_not_in_flight_beside_it(tmp_path: Path) -> None:
    # Timings are rounded to 0.1 ms: 49.5435 + 2.2475 is a hair over 51.791 in floats, where the
    # same worker's next respondent starts. The peak is one respondent, not two.
    load = LoadModel(kind="closed", concurrency=1, duration_s=60)
    metrics = Metrics()
    metrics.track_stages(load.plan())
    spans = [(49.5435, 49.5435, 2.2475), (51.791, 51.791, 1.0)]
    (only,), _ = stage_report(load, 1, metrics, _log(tmp_path, spans), 60.0)
    assert only["in_flight"]["peak"] == 1


def test_a_one_stage_plan_takes_the_runs_own_figures(tmp_path: Path) -> None:
    load = LoadModel(kind="closed", concurrency=3, duration_s=2)
    metrics = Metrics()
    metrics.track_stages(load.plan())
    assert metrics.by_stage is None  # nothing extra on the hot path
    metrics.request("take", 0.002, 0.002, 200, 0.1)
    (only,), timeline = stage_report(load, 1, metrics, _log(tmp_path, [(0.0, 0.0, 2.0)]), 2.0)
    assert only["requests"]["take"]["count"] == 1 and only["in_flight"]["planned_mean"] == 3.0
    assert "arrivals" not in only and timeline["unit"] == "respondents in flight"
    assert timeline["planned"] == [3.0, 3.0] and timeline["achieved"] == [1.0, 1.0]


def test_stage_figures_travel_from_worker_to_master() -> None:
    load = LoadModel(kind="closed", stages=(Stage("a", 1, 2), Stage("b", 1, 2)), duration_s=2)
    worker, master = Metrics(), Metrics()
    worker.track_stages(load.plan())
    master.track_stages(load.plan())
    worker.request("take", 0.004, 0.004, 200, 1.5)
    master.absorb(worker.export())
    assert master.by_stage is not None and master.by_stage.steps[1]["take"].count == 1
    assert master.by_stage.steps[1]["take"].service.get_total_count() == 1


# --- the Locust shape --------------------------------------------------------------------------------
def test_the_closed_shape_follows_the_plan_then_waits_for_the_last_users() -> None:
    shape = ShapePlan(load_scenario(SCENARIOS / "soak.toml").load.plan(), "closed")
    assert shape.tick(0, 0, 0) == (4, 4.0)  # the target half a tick ahead (3.75), rounded
    assert shape.tick(10, 30, 30) == (30, 1.0)
    assert shape.tick(18, 30, 30) == (11, 19.0)  # ramping down: users finish their respondent, then stop
    assert shape.tick(20.5, 7, 7) == (0, 7.0)
    assert shape.tick(21, 0, 0) is None and shape.tick(20 + GRACE_S, 3, 3) is None


def test_the_open_shape_grows_a_pool_of_slots_and_never_shrinks_it() -> None:
    plan = load_scenario(SCENARIOS / "ramp.toml").load.plan()
    shape = ShapePlan(plan, "open", max_in_flight=50)
    users, _ = shape.tick(0, 0, 0)  # 2/s: 6 arrivals in the next 3 s, and one spare
    assert users == 7
    assert shape.tick(10, 40, 35)[0] == 50  # capped at max_in_flight
    assert shape.tick(12, 50, 2)[0] == 50  # never smaller: a stopped user would lose its claim
    assert shape.tick(14, 50, 3) == (50, 1.0) and shape.tick(14.5, 50, 0) is None


def test_arrival_slots_hand_out_the_engines_schedule_and_drop_only_at_the_cap() -> None:
    plan = load_scenario(SCENARIOS / "spike.toml").load.plan()
    dropped: list[int] = []
    slots = ArrivalSlots(plan, "poisson", 23, max_in_flight=10, on_drop=dropped.append)
    first = slots.claim(0.0, pool=3)
    assert first is not None and first.index == 0
    late = slots.claim(100.0, pool=3)  # late, but the pool was still growing: it starts late
    assert late is not None and late.index == 1 and not dropped
    assert slots.claim(7.0, pool=10) is not None and dropped  # late with max_in_flight users: dropped
    assert all(stage in range(5) for stage in dropped)
    while slots.claim(0.0, pool=1) is not None:
        pass
    assert slots.claim(0.0, pool=1) is None
    assert slots.claimed + len(dropped) == len(list(arrival_times(plan, "poisson", 23)))
