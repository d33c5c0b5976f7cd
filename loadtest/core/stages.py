"""Load plans: a table of stages -> the target at time t, its integral, and arrival times. Pure.

Theory of operation. A plan is a piecewise-linear target over time: it starts at `start` and
each stage moves linearly from the previous stage's target to its own over its `duration_s` (a
stage with the same target holds). The target is respondents per second in the open model and
respondents in flight in the closed one; both drivers and the report read the same plan.

- Open model, uniform arrivals: arrival k (from 0) is due when the plan's integral reaches k,
  so a flat rate r gives k / r (evenly spaced, as k6 does) and a ramp speeds up smoothly; there
  are floor(integral over the plan) arrivals, so a stage gets its integral within one.
- Open model, poisson arrivals: a non-homogeneous Poisson process, made by drawing unit-rate
  exponential gaps in integral space and mapping them back through the inverse integral; the
  generator is seeded, so a run's arrival times repeat with its seed.
- Closed model: worker j (from 0) is wanted while the target is at least j + 0.5 (the target
  rounded), and `first_time_at_least` says when a worker that is not wanted will be again.

Time is always seconds since the plan's start, passed in: nothing here reads a clock.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Arrival", "Stage", "StagePlan", "arrival_times", "worker_level"]

EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    duration_s: float
    target: float


@dataclass(frozen=True, slots=True)
class Arrival:
    index: int  # the respondent's index: arrivals are numbered in order, from 0
    at_s: float  # when it is due, seconds since the plan's start
    stage: int  # the stage it falls in


def worker_level(j: int) -> float:
    """The target at which closed-model worker j (from 0) is wanted: the target, rounded."""
    return j + 0.5


@dataclass(frozen=True)
class StagePlan:
    stages: tuple[Stage, ...]
    start: float = 0.0  # the target before the first stage (a flat form starts at its own target)
    _starts: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _froms: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _cum: tuple[float, ...] = field(init=False, repr=False, compare=False)  # integral at each stage's start

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("a plan needs at least one stage")
        if self.start < 0 or any(s.duration_s <= 0 or s.target < 0 for s in self.stages):
            raise ValueError("stage durations must be > 0 and targets >= 0")
        starts, froms, cum = [], [], []
        t, level, area = 0.0, self.start, 0.0
        for s in self.stages:
            starts.append(t)
            froms.append(level)
            cum.append(area)
            area += (level + s.target) / 2 * s.duration_s
            t += s.duration_s
            level = s.target
        object.__setattr__(self, "_starts", (*starts, t))
        object.__setattr__(self, "_froms", tuple(froms))
        object.__setattr__(self, "_cum", (*cum, area))

    # --- shape ------------------------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        return self._starts[-1]

    @property
    def total(self) -> float:
        """The integral over the whole plan (expected arrivals; respondent-seconds in flight)."""
        return self._cum[-1]

    @property
    def peak(self) -> float:
        return max(self.start, *(s.target for s in self.stages))

    def bounds(self, i: int) -> tuple[float, float]:
        return self._starts[i], self._starts[i + 1]

    def from_target(self, i: int) -> float:
        return self._froms[i]

    def stage_at(self, t: float) -> int:
        """The stage t falls in (stages are half-open; before 0 the first, after the end the last)."""
        return min(max(bisect.bisect_right(self._starts, t) - 1, 0), len(self.stages) - 1)

    def target_at(self, t: float) -> float:
        if t >= self.duration_s:
            return self.stages[-1].target
        i = self.stage_at(t)
        s, a = self.stages[i], self._froms[i]
        u = max(t - self._starts[i], 0.0)
        return a + (s.target - a) * u / s.duration_s

    def integral(self, t: float) -> float:
        """The target's integral from 0 to t (clamped to the plan: nothing is planned after it)."""
        if t <= 0:
            return 0.0
        if t >= self.duration_s:
            return self.total
        i = self.stage_at(t)
        s, a = self.stages[i], self._froms[i]
        u = t - self._starts[i]
        return self._cum[i] + a * u + (s.target - a) * u * u / (2 * s.duration_s)

    def mean_between(self, t0: float, t1: float) -> float:
        """The target's mean over [t0, t1]: a second's planned arrivals, or its planned in-flight."""
        return (self.integral(t1) - self.integral(t0)) / (t1 - t0) if t1 > t0 else self.target_at(t0)

    def _locate(self, v: float) -> int:
        """The stage in which the integral passes v: the last whose start is at or below it (so a
        stage with nothing planned, a pause, never gets an arrival)."""
        return min(max(bisect.bisect_right(self._cum, v) - 1, 0), len(self.stages) - 1)

    def time_at_integral(self, v: float) -> float:
        """The inverse of `integral`: when the integral reaches v (0 <= v <= total)."""
        return self._time_in(self._locate(v), v) if v > 0 else 0.0

    def _time_in(self, i: int, v: float) -> float:
        s, a = self.stages[i], self._froms[i]
        left = min(max(v - self._cum[i], 0.0), self._cum[i + 1] - self._cum[i])
        slope = (s.target - a) / s.duration_s
        # Solve a*u + slope*u^2/2 = left for u >= 0, in the form that stays exact as slope -> 0.
        root = math.sqrt(max(a * a + 2 * slope * left, 0.0))
        u = 2 * left / (a + root) if a + root > 0 else 0.0
        return self._starts[i] + min(u, s.duration_s)

    def first_time_at_least(self, level: float, after: float) -> float | None:
        """The first t >= after at which the target is >= level, or None if the plan never gets there."""
        i = self.stage_at(after)
        if after >= self.duration_s:
            return None
        while i < len(self.stages):
            s, a = self.stages[i], self._froms[i]
            t0, t1 = self._starts[i], self._starts[i + 1]
            lo = max(after, t0)
            if self.target_at(lo) >= level - EPS:
                return lo
            if s.target >= level - EPS and s.target > a:  # rising through `level` inside this stage
                t = t0 + (level - a) / (s.target - a) * s.duration_s
                return min(max(t, lo), t1)
            i += 1
        return None

    # --- changes ---------------------------------------------------------------------------------
    def with_duration(self, duration_s: float) -> StagePlan:
        """The plan cut at duration_s, or held at its last target until then (a --duration override)."""
        if duration_s <= 0:
            raise ValueError("a plan's duration must be > 0")
        if abs(duration_s - self.duration_s) < EPS:
            return self
        if duration_s > self.duration_s:
            last = self.stages[-1]
            extra = Stage(f"{last.name}+hold", duration_s - self.duration_s, last.target)
            return StagePlan((*self.stages, extra), self.start)
        kept: list[Stage] = []
        for i, s in enumerate(self.stages):
            t0, t1 = self.bounds(i)
            if t1 < duration_s - EPS:
                kept.append(s)
                continue
            cut = duration_s - t0
            if cut > EPS:
                kept.append(Stage(s.name, cut, self.target_at(duration_s)))
            break
        return StagePlan(tuple(kept), self.start)

    # --- what each stage is planned to get ----------------------------------------------------------
    def uniform_counts(self) -> list[int]:
        """Uniform arrivals per stage: arrival k falls in the stage where the integral passes k."""
        total = self.uniform_total
        out = []
        for i in range(len(self.stages)):
            hi = total if i == len(self.stages) - 1 else min(self._cum[i + 1], total)
            out.append(max(0, math.ceil(hi) - math.ceil(self._cum[i])))
        return out

    @property
    def uniform_total(self) -> int:
        return math.floor(self.total + EPS)


def arrival_times(plan: StagePlan, kind: str = "uniform", seed: int | str = 0) -> Iterator[Arrival]:
    """The open model's arrivals in order. `kind` is "uniform" or "poisson" (seeded by `seed`)."""
    if kind == "uniform":
        yield from _uniform(plan)
    elif kind == "poisson":
        yield from _poisson(plan, random.Random(f"arrivals:{seed}"))
    else:
        raise ValueError(f"arrivals must be uniform or poisson (got {kind!r})")


def _uniform(plan: StagePlan) -> Iterator[Arrival]:
    flat = len(plan.stages) == 1 and plan.start == plan.stages[0].target
    rate = plan.start
    for k in range(plan.uniform_total):
        if flat:  # exactly k / rate, the times evenly spaced arrivals always had
            yield Arrival(k, k / rate, 0)
        else:
            i = plan._locate(k)
            yield Arrival(k, plan._time_in(i, k), i)


def _poisson(plan: StagePlan, rng: random.Random) -> Iterator[Arrival]:
    v, k = rng.expovariate(1.0), 0
    while v < plan.total:
        i = plan._locate(v)
        yield Arrival(k, plan._time_in(i, v), i)
        k += 1
        v += rng.expovariate(1.0)
