"""Start-time parameters (the Locust web UI's form): persona mix, limits, survey."""

from __future__ import annotations

import pytest

from loadtest.scenario.file import load_scenario
from loadtest.scenario.overrides import OverrideError, apply_overrides, limits_text, mix_text
from tests.helpers import ROOT

SMOKE = load_scenario(ROOT / "scenarios" / "smoke.toml")


def test_the_form_shows_the_scenarios_own_mix_and_limits_and_applying_them_changes_nothing() -> None:
    assert mix_text(SMOKE).startswith("completer=5, screenout=2") and limits_text(SMOKE) == "panel=10"
    assert apply_overrides(SMOKE, mix_text(SMOKE), limits_text(SMOKE), str(SMOKE.survey_id)) == SMOKE


def test_a_mix_changes_only_the_named_weights_and_zero_leaves_a_persona_out() -> None:
    sc = apply_overrides(SMOKE, personas="completer=9; abandoner=0")
    weights = {p.name: p.weight for p in sc.personas}
    assert weights["completer"] == 9 and weights["abandoner"] == 0 and weights["screenout"] == 2


def test_limits_are_changed_added_and_removed() -> None:
    assert apply_overrides(SMOKE, limits="panel=5, survey=40").limits == {"panel": 5.0, "survey": 40.0}
    assert apply_overrides(SMOKE, limits="panel=0").limits == {}


def test_the_survey_moves_personas_that_had_the_default_one() -> None:
    sc = apply_overrides(SMOKE, survey_id="200002")
    assert sc.survey_id == 200002
    assert {p.survey_id for p in sc.personas} == {200002}


@pytest.mark.parametrize("kwargs, message", [
    ({"personas": "nobody=3"}, "--personas: no persona named nobody in the scenario"),
    ({"personas": "completer=two"}, "--personas: expected name=number pairs separated by commas (got 'completer=two')"),
    ({"personas": "completer=1.5"}, "--personas: expected whole-number weights"),
    ({"personas": ", ".join(f"{p.name}=0" for p in SMOKE.personas)},
     "--personas: expected at least one persona with weight > 0"),
    ({"limits": "panel=-1"}, "--limits: expected name=number pairs separated by commas (got 'panel=-1')"),
    ({"survey_id": "12"}, "--survey-id: expected one of the scenario's surveys [100001, 200002] (got '12')"),
])
def test_bad_parameters_are_refused_with_one_line_naming_the_option(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(OverrideError) as err:
        apply_overrides(SMOKE, **kwargs)
    assert str(err.value).startswith(message)
