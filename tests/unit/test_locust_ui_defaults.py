"""What `loadtest locust` adds to Locust's command line from the scenario (pure: no Locust)."""

from __future__ import annotations

from loadtest.locust_driver.ui_defaults import scenario_defaults
from loadtest.scenario.file import load_scenario
from tests.helpers import ROOT

SMOKE = ROOT / "scenarios" / "smoke.toml"


def test_the_command_line_gets_the_scenarios_defaults_unless_given() -> None:
    sc = load_scenario(SMOKE)  # closed, concurrency 50
    assert scenario_defaults(sc, [], embedded=True) == ["--users", "50", "--spawn-rate", "5", "--web-host",
                                                        "127.0.0.1"]
    assert scenario_defaults(sc, ["-u", "3", "--spawn-rate=1", "--web-host", "0.0.0.0"], embedded=True) == []
    assert scenario_defaults(sc, ["--users=7"], embedded=False) == ["--spawn-rate", "5"]
    assert scenario_defaults(sc, ["--worker"], embedded=True) == []
