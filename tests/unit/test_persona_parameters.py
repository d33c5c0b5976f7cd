"""A scenario's persona parameters are the persona's declared ones: a misspelt or mistyped one is
a one-line error naming the file, the key and the closest known parameter."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.scenario.file import ScenarioError, load_scenario
from tests.helpers import ROOT

SURVEY = ROOT / "scenarios" / "surveys" / "customer_satisfaction.toml"


def scenario(tmp_path: Path, persona_table: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(f'''[scenario]
name = "p"
seed = 1
target = "embedded"
surveys = ["{SURVEY}"]
survey_id = 100001
[load]
model = "closed"
concurrency = 1
respondents = 1
{persona_table}
''')
    return path


@pytest.mark.parametrize(("table", "message"), [
    ("[personas.abandoner]\nmax_page = 2", "personas.abandoner.max_page: expected a parameter of persona "
                                           "'abandoner' (did you mean max_pages?)"),
    ("[personas.abandoner]\nmax_pages = \"two\"", "personas.abandoner.max_pages: expected a whole number (got str)"),
    ("[personas.completer]\nthink_scale = true", "personas.completer.think_scale: expected a number (got a boolean)"),
])
def test_a_misspelt_or_mistyped_parameter_is_one_line(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario(tmp_path, table))
    assert str(err.value) == f"{tmp_path / 's.toml'}: {message}"


def test_declared_parameters_reach_the_persona(tmp_path: Path) -> None:
    sc = load_scenario(scenario(tmp_path, "[personas.abandoner]\nmax_pages = 1"))
    entry = sc.personas[0]
    assert entry.params["max_pages"] == 1 and "max_pages" in entry.cls.parameters


def test_allow_lost_workers_is_a_load_key(tmp_path: Path) -> None:
    path = scenario(tmp_path, "[personas.completer]")
    path.write_text(path.read_text().replace("respondents = 1\n", "respondents = 1\nallow_lost_workers = true\n"))
    assert load_scenario(path).load.allow_lost_workers is True
