"""The engine's open model over real HTTP: how arrivals stop, how respondents are cut off, and
what happens when one of them raises (respondents are plain asyncio tasks while they send and
walks parked on a timer while they think, see run.py)."""

from __future__ import annotations

import anyio
import pytest

import loadtest.engine.run as run_mod
from loadtest.core.flow import RespondentResult
from loadtest.core.population import PersonaEntry, Population
from loadtest.engine.run import EngineRun
from loadtest.scenario.file import LoadModel
from loadtest.scenario.persona_loader import load_persona
from tests.helpers import API_KEY, CS_ID, ROOT, no_speeder, running_mock


def engine(url: str, seed: int, think_scale: float, rate: float,
           duration_s: float) -> tuple[EngineRun, list[RespondentResult]]:
    completer = load_persona(ROOT / "personas" / "completer.py")
    entry = PersonaEntry(name="completer", cls=completer, weight=1, survey_id=CS_ID,
                         params={"answers": {}, "think_scale": think_scale})
    results: list[RespondentResult] = []
    run = EngineRun(population=Population([entry], seed=seed),  # a seed per test: the platform is shared
                    load=LoadModel(kind="open", arrival_rate=rate, duration_s=duration_s),
                    target_url=url, api_key=API_KEY, on_result=lambda r, _t: results.append(r))
    return run, results


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("open-model")
    with running_mock(no_speeder(tmp), db=tmp / "db.sqlite") as mock:
        yield mock.url


def test_a_stop_ends_arrivals_and_walking_respondents_finish_their_walk(url: str) -> None:
    run, results = engine(url, 1, think_scale=0.02, rate=40, duration_s=60)
    run.stop = anyio.Event()

    def stop_after_ten(result, request, reply, error) -> None:  # type: ignore[no-untyped-def]
        if run.started >= 10:
            run.stop.set()  # type: ignore[union-attr]

    run.on_request = stop_after_ten
    anyio.run(run.run)
    assert 10 <= run.started < 60 * 40
    assert run.finished == run.started == len(results)
    outcomes = {r.outcome for r in results}
    assert "survey_complete" in outcomes and "incomplete" not in outcomes  # each walked to its end


def test_the_hard_deadline_cuts_off_walking_respondents_as_incomplete(url: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_mod, "HARD_DEADLINE_GRACE_S", 0.5)
    run, results = engine(url, 2, think_scale=1000.0, rate=40, duration_s=0.25)  # they think for minutes
    anyio.run(run.run)
    assert run.started >= 5
    assert run.finished == run.started == len(results)
    assert {r.outcome for r in results} == {"incomplete"}


def test_a_respondent_that_raises_stops_the_run_and_its_error_comes_out(url: str) -> None:
    run, results = engine(url, 3, think_scale=0.05, rate=40, duration_s=60)

    def broken_sink(result: RespondentResult, timings: dict[str, float]) -> None:
        results.append(result)
        if len(results) == 1:
            raise RuntimeError("the respondent log's disk is full")

    run.on_result = broken_sink
    with pytest.raises(RuntimeError, match="disk is full"):
        anyio.run(run.run)
    assert run.started < 60 * 40
    assert run.finished == run.started == len(results)  # every other respondent was ended, none left running
