"""A run's own id on every transaction id, with respondents still a function of (seed, index);
and `loadtest run`'s load overrides, each bad one a line and exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadtest.core.population import Population
from loadtest.core.usage import BadInput
from loadtest.engine.pipeline import RunOptions, prepare
from loadtest.results.run_files import run_transaction_prefix
from loadtest.scenario.file import load_scenario
from tests.helpers import ROOT

SMOKE = ROOT / "scenarios" / "smoke.toml"
STEADY = ROOT / "scenarios" / "steady.toml"


def test_transaction_ids_carry_the_prefix_and_nothing_else_changes() -> None:
    sc = load_scenario(SMOKE)
    one, other = Population(list(sc.personas), 42, "lt42-aaaaaa"), Population(list(sc.personas), 42, "lt42-bbbbbb")
    for i in (0, 1, 17, 199):
        (e1, p1), (e2, p2) = one.respondent(i), other.respondent(i)
        assert p1.r.transaction_id == f"lt42-aaaaaa-{i:06d}" and p2.r.transaction_id == f"lt42-bbbbbb-{i:06d}"
        assert e1 is e2 and p1.r.seed == p2.r.seed
        assert [p1.rng.random() for _ in range(5)] == [p2.rng.random() for _ in range(5)]
    assert Population(list(sc.personas), 42).respondent(3)[1].r.transaction_id == "lt42-000003"


def test_each_run_draws_its_own_id_unless_the_scenario_names_one() -> None:
    drawn = {run_transaction_prefix(42, None) for _ in range(20)}
    assert len(drawn) == 20 and all(re.fullmatch(r"lt42-[0-9a-f]{6}", p) for p in drawn)
    assert run_transaction_prefix(42, "qa-7") == "qa-7"


def test_prepare_gives_the_run_its_prefix_from_the_seed_it_runs_with() -> None:
    sc = prepare(RunOptions(scenario=SMOKE, seed=9))
    assert sc.seed == 9 and re.fullmatch(r"lt9-[0-9a-f]{6}", sc.transaction_prefix or "")
    assert prepare(RunOptions(scenario=SMOKE)).transaction_prefix != sc.transaction_prefix


def test_concurrency_and_arrival_rate_override_their_model() -> None:
    assert prepare(RunOptions(scenario=SMOKE, concurrency=7, duration_s=30)).load.concurrency == 7
    assert prepare(RunOptions(scenario=STEADY, arrival_rate=3.5)).load.arrival_rate == 3.5


@pytest.mark.parametrize(("opts", "says"), [
    ({"scenario": SMOKE, "concurrency": 0}, "--concurrency: expected a whole number >= 1 (got 0)"),
    ({"scenario": STEADY, "concurrency": 4}, "--concurrency: expected a closed-model scenario"),
    ({"scenario": SMOKE, "arrival_rate": 5.0}, "--arrival-rate: expected an open-model scenario"),
    ({"scenario": STEADY, "arrival_rate": 0.0}, "--arrival-rate: expected respondents per second > 0"),
    ({"scenario": SMOKE, "duration_s": -1.0}, "--duration: expected seconds > 0"),
])
def test_a_bad_override_is_one_line(opts: dict[str, object], says: str) -> None:
    with pytest.raises(BadInput) as err:
        prepare(RunOptions(**opts))  # type: ignore[arg-type]
    assert "\n" not in str(err.value) and says in str(err.value)


def test_the_embedded_platform_needs_the_survey_files_a_url_scenario_may_leave_out(tmp_path: Path) -> None:
    path = tmp_path / "url.toml"
    path.write_text('[scenario]\ntarget = "http://127.0.0.1:9"\nsurvey_id = 5\n[load]\nmodel = "closed"\n'
                    "respondents = 1\n[personas.completer]\n")
    assert prepare(RunOptions(scenario=path)).surveys == ()
    with pytest.raises(BadInput, match=r"scenario\.surveys: expected survey files for the embedded platform"):
        prepare(RunOptions(scenario=path, target="embedded"))
