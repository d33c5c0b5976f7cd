"""What the Locust shape asks for at each tick, and the open model's arrival slots. No locust
import here (the shape class in shape.py is a thin LoadTestShape over `tick`), so it is tested
without Locust.

Closed model: the user count is the plan's in-flight target, rounded, half a tick ahead (Locust
ticks about once a second and spawns the difference at once, so each second's count is the
plan's mean over it and a ramp is followed in steps of a second); a ramp down asks users to
stop, and each finishes its respondent first (the shape sets --stop-timeout when none is given).
After the plan, zero users; the test ends when the last has finished, or after a grace.

Open model (one Locust process): Locust's users are closed loops, so here they are slots. Each
idle user claims the next arrival of the same schedule the engine follows (uniform or seeded
poisson, numbered as the engine numbers them), waits for it in Locust's wait_time (where a stop
ends it at once) and walks that respondent. The shape keeps the pool at the respondents walking
plus the arrivals due in the next LOOKAHEAD_S, never more than max_in_flight and never smaller
(a user stopped while it holds a claim would lose that arrival). An arrival whose time passed
while every one of max_in_flight users was walking is dropped and counted, as the engine drops
it; one that passed while the pool was still growing starts late (its `late_s` is recorded).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from loadtest.core.stages import Arrival, StagePlan, arrival_times

__all__ = ["ArrivalSlots", "ShapePlan"]

LOOKAHEAD_S = 3.0  # idle users enough for this many seconds of arrivals
GRACE_S = 120.0  # after the plan, how long respondents still walking may take (as the engine's hard deadline)
LATE_S = 0.05  # an arrival more than this late found no idle user


@dataclass
class ShapePlan:
    plan: StagePlan
    model: str  # "closed" | "open"
    max_in_flight: int = 10_000

    def tick(self, t: float, users: int, walking: int) -> tuple[int, float] | None:
        """(user count, spawn rate) at t seconds into the test, or None: the test is over.
        `users` is Locust's current count, `walking` the respondents in flight."""
        end = self.plan.duration_s
        if t >= end:
            busy = users if self.model == "closed" else walking
            if busy == 0 or t >= end + GRACE_S:
                return None
            return (0, max(float(users), 1.0)) if self.model == "closed" else (users, 1.0)
        if self.model == "closed":
            wanted = math.floor(self.plan.target_at(min(t + 0.5, end)) + 0.5)
        else:
            due = self.plan.integral(t + LOOKAHEAD_S) - self.plan.integral(t)
            wanted = max(users, min(self.max_in_flight, walking + math.ceil(due) + 1))
        return wanted, max(float(abs(wanted - users)), 1.0)


class ArrivalSlots:
    """The open model's schedule in one Locust process: idle users claim arrivals in order."""

    def __init__(self, plan: StagePlan, kind: str, seed: int, max_in_flight: int,
                 on_drop: Callable[[int], None]) -> None:
        self._arrivals: Iterator[Arrival] = arrival_times(plan, kind, seed)
        self.max_in_flight = max_in_flight
        self.on_drop = on_drop  # called with the stage of an arrival dropped
        self.claimed = 0

    def claim(self, now_s: float, pool: int) -> Arrival | None:
        """The next arrival for an idle user, or None when the schedule is over. `pool` is the
        user count: idle users hold the earliest arrivals, so one already late found no user
        idle, and with max_in_flight users that means max_in_flight were walking."""
        for arrival in self._arrivals:
            if arrival.at_s < now_s - LATE_S and pool >= self.max_in_flight:
                self.on_drop(arrival.stage)
                continue
            self.claimed += 1
            return arrival
        return None
