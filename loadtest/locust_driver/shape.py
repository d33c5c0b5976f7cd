"""The LoadTestShape for a scenario's [[load.stages]]; what each tick asks for is shape_plan.py's.

Locust uses a LoadTestShape subclass it finds in the locustfile, so ScenarioStages is always
imported there and stays abstract (ignored) unless the scenario has stages: flat forms keep
Locust's own -u / -r / -t. With stages, `--headless` follows the plan to its end (Locust ignores
-u, -r and -t for a shape, and says so), and the web UI's start runs the plan (its form hides the
user count and spawn rate, and the user-count chart shows the stages being followed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from locust import LoadTestShape

from loadtest.locust_driver.shape_plan import GRACE_S, ShapePlan
from loadtest.scenario.file import Scenario

__all__ = ["ScenarioStages", "configure_shape"]


class ScenarioStages(LoadTestShape):
    """The scenario's [[load.stages]]: users in flight (closed model) or arrival slots (open)."""

    abstract = True  # configure_shape makes it concrete when the scenario has stages
    use_common_options = False
    plan: ClassVar[ShapePlan | None] = None
    walking: ClassVar[list[Callable[[], int]]] = []  # respondents in flight in this process (set by configure)

    def tick(self) -> tuple[int, float] | None:
        assert self.plan is not None and self.runner is not None
        env = self.runner.environment
        if not env.stop_timeout:  # a user asked to stop on a ramp down finishes its respondent first
            env.stop_timeout = GRACE_S
        walking = self.walking[0]() if self.walking else 0
        return self.plan.tick(self.get_run_time(), self.get_current_user_count(), walking)


def configure_shape(sc: Scenario | None, walking: Callable[[], int]) -> bool:
    """Make ScenarioStages the test's shape when the scenario has stages; True if it does."""
    if sc is None or not sc.load.stages:
        ScenarioStages.abstract = True
        return False
    ScenarioStages.plan = ShapePlan(sc.load.plan(), sc.load.kind, sc.load.max_in_flight)
    ScenarioStages.walking = [walking]
    ScenarioStages.abstract = False
    return True
