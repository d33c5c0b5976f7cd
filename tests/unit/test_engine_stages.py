"""The engine follows a plan of stages, over the in-process platform (no socket): the open model
starts exactly the plan's arrivals (or drops them, counted per stage), the closed model walks
only while the plan wants workers. Assertions are on counts and order, never on elapsed time."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio

from loadtest.core.population import Population
from loadtest.core.stages import Stage, arrival_times
from loadtest.engine.run import EngineRun
from loadtest.platform.in_process import HOST, InProcessPlatform
from loadtest.scenario.file import load_scenario
from loadtest.scenario.load import LoadModel
from tests.helpers import ROOT

SMOKE = ROOT / "scenarios" / "smoke.toml"


def _run(load: LoadModel, think_scale: float = 0.0) -> tuple[EngineRun, list[tuple[Any, dict[str, float]]]]:
    sc = load_scenario(SMOKE)
    entries = [dataclasses.replace(e, params={**e.params, "think_scale": think_scale}) for e in sc.personas
               if e.name in ("completer", "screenout")]
    results: list[tuple[Any, dict[str, float]]] = []
    ticks: Iterator[int] = iter(range(1_700_000_000, 1_800_000_000, 60))  # a minute a call: nobody is a speeder
    with InProcessPlatform(sc.surveys, clock=lambda: float(next(ticks)), quotas_fill=False) as platform:
        engine = EngineRun(population=Population(entries, sc.seed), target_url=f"http://{HOST}", load=load,
                           api_key=platform.api_key, transport=platform,
                           on_result=lambda result, timings: results.append((result, timings)))
        anyio.run(engine.run)
    return engine, results


def test_the_open_model_starts_every_arrival_of_a_poisson_ramp_and_counts_them_per_stage() -> None:
    load = LoadModel(kind="open", stages=(Stage("up", 0.8, 60), Stage("down", 0.4, 0)), duration_s=1.2,
                     arrivals="poisson")
    engine, results = _run(load)
    sc_seed = engine.population.seed
    planned = list(arrival_times(load.plan(), "poisson", sc_seed))
    assert sorted(r.index for r, _ in results) == [a.index for a in planned]
    assert engine.metrics.dropped_arrivals == 0 and engine.metrics.unexpected == 0
    per_stage = Counter(a.stage for a in planned)
    recorder = engine.metrics.by_stage
    assert recorder is not None and recorder.dropped == [0, 0]
    assert sum(s.count for s in recorder.steps[0].values()) + sum(s.count for s in recorder.steps[1].values()) \
        == engine.metrics.total_requests
    assert per_stage[0] > per_stage[1] > 0  # the ramp's integral: 24 against 12 expected


def test_arrivals_beyond_max_in_flight_are_dropped_in_their_stage() -> None:
    load = LoadModel(kind="open", stages=(Stage("calm", 0.3, 5), Stage("blast", 0.3, 200)), start_target=5,
                     duration_s=0.6, max_in_flight=2)
    engine, results = _run(load, think_scale=0.05)  # respondents linger, so the blast finds two walking
    counts = load.plan().uniform_counts()
    recorder = engine.metrics.by_stage
    assert recorder is not None
    started = Counter(load.plan().stage_at(t["start_s"] - t["late_s"]) for _, t in results)
    assert [started[i] + recorder.dropped[i] for i in range(2)] == counts  # every arrival: started or dropped
    assert recorder.dropped[1] > 0 and engine.metrics.dropped_arrivals == sum(recorder.dropped)


def test_the_closed_model_walks_only_while_the_plan_wants_workers() -> None:
    # three workers, then none for a while (each finishes its respondent first), then two again
    stages = (Stage("three", 0.5, 3), Stage("off", 0.01, 0), Stage("pause", 0.8, 0), Stage("on", 0.01, 2),
              Stage("two", 0.5, 2))
    load = LoadModel(kind="closed", stages=stages, start_target=3, duration_s=sum(s.duration_s for s in stages),
                     concurrency=3)
    engine, results = _run(load, think_scale=0.02)
    starts = sorted(t["start_s"] for _, t in results)
    pause = (0.51, 1.31)  # "pause" stage: nobody wanted from 0.51 until "on" begins
    margin = 0.25  # a worker checks the plan, then starts: never a quarter of a second later
    assert not [s for s in starts if pause[0] + margin < s < pause[1]], starts
    assert any(s < pause[0] for s in starts) and any(s >= pause[1] for s in starts)
    spans = sorted((t["start_s"], t["start_s"] + t["duration_s"]) for _, t in results)
    most = max(sum(a <= s < b for a, b in spans) for s, _ in spans)
    assert most <= 3 and engine.metrics.unexpected == 0
