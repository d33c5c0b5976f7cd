"""Explore a survey file on the reference platform in this process: no socket, no real waiting.

The platform runs on a throwaway in-memory database with a virtual clock that moves only by the
think time walks hand the driver, so its speeder rule judges the pace a walk would have had and a
budget of a thousand walks takes seconds. Quota cells fill as they would on a target.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio

from loadtest.explore.explorer import Budget, Explorer, ExploreResult, Target, VirtualClock
from loadtest.platform.in_process import HOST, InProcessPlatform
from loadtest.survey.model import Survey

__all__ = ["IN_PROCESS_BUDGET", "explore_in_process"]

IN_PROCESS_BUDGET = Budget(respondents=1000, requests=20000, duration_s=300.0)


def explore_in_process(surveys: Sequence[Survey], survey_id: int, budget: Budget = IN_PROCESS_BUDGET, *,
                       seed: int = 1, prefix: str | None = None, concurrency: int = 1, **options: Any) -> ExploreResult:
    """Explore `survey_id` (one of `surveys`); options are Explorer's (chase_cap, think_scale, password...).
    The survey's own password is given unless `password` says otherwise: here the file is the survey."""
    survey = next(s for s in surveys if s.id == survey_id)
    if options.get("password") is None:
        options["password"] = survey.password
    clock = VirtualClock()
    with InProcessPlatform(surveys, clock=clock) as platform:
        explorer = Explorer(platform, Target(survey_id, platform.api_key, HOST), budget, seed=seed,
                            prefix=prefix or f"explore{seed}", concurrency=concurrency, sleep=clock.sleep,
                            clock=clock, **options)
        return anyio.run(explorer.run)
