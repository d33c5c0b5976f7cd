"""EngineRun over the in-process platform: the engine's loop, load model and outcomes with no
socket, because the engine takes any Transport."""

from __future__ import annotations

import dataclasses

import anyio
import anyio.lowlevel

from loadtest.core.population import Population
from loadtest.engine.run import EngineRun
from loadtest.platform.in_process import HOST, InProcessPlatform
from loadtest.scenario.file import LoadModel, load_scenario
from tests.helpers import ROOT

SMOKE = ROOT / "scenarios" / "smoke.toml"


def test_respondents_walk_the_in_process_platform_to_their_expected_outcomes() -> None:
    sc = load_scenario(SMOKE)
    wanted = {"completer", "screenout", "validation_fixer", "backtracker", "abandoner"}
    entries = [dataclasses.replace(e, params={**e.params, "think_scale": 0.0}) for e in sc.personas
               if e.name in wanted]
    results = []
    ticks = iter(range(1_700_000_000, 1_800_000_000, 60))  # a minute a call: nobody is a speeder
    with InProcessPlatform(sc.surveys, clock=lambda: float(next(ticks)), quotas_fill=False) as platform:
        engine = EngineRun(population=Population(entries, sc.seed), target_url=f"http://{HOST}",
                           load=LoadModel(kind="closed", concurrency=4, respondents=40, duration_s=60),
                           api_key=platform.api_key, transport=platform,
                           on_result=lambda result, timings: results.append(result))
        metrics = anyio.run(engine.run)
    assert len(results) == 40 == metrics.respondents
    assert metrics.unexpected == 0, [(r.persona, r.outcome, r.error, r.checks) for r in results if not r.expected]
    assert {r.persona for r in results} == wanted
    assert metrics.outcomes["terminated"] == sum(r.persona == "screenout" for r in results)
    assert metrics.steps["submit-page"].failures == 0 and metrics.steps["take"].count >= 40
    # The validation fixer broke rules on purpose: the questions named are counted by question.
    named = {q for r in results if r.persona == "validation_fixer" for q in r.invalid_questions}
    assert named and set(metrics.invalid_questions) == {f"100001:{q}" for q in named}


def test_a_stop_cuts_respondents_off_as_incomplete_and_none_is_missing() -> None:
    sc = load_scenario(SMOKE)
    entries = [e for e in sc.personas if e.name == "completer"]
    results = []

    async def main() -> None:
        with InProcessPlatform(sc.surveys, quotas_fill=False) as platform:
            engine = EngineRun(population=Population(entries, sc.seed), target_url=f"http://{HOST}",
                               load=LoadModel(kind="closed", concurrency=3, respondents=3, duration_s=60),
                               api_key=platform.api_key, transport=platform,
                               on_result=lambda result, timings: results.append(result))
            engine.stop = anyio.Event()
            async with anyio.create_task_group() as tg:
                tg.start_soon(engine.run)
                with anyio.fail_after(30):
                    while engine.started < 3:  # all three walking (think times keep them there)
                        await anyio.lowlevel.checkpoint()
                tg.cancel_scope.cancel()

    anyio.run(main)
    assert len(results) == 3 and all(r.outcome == "incomplete" and not r.expected for r in results)
