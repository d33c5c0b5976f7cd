"""The load plan's maths (core/stages.py): targets, integrals, arrival times, worker wake-ups."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.core.stages import Stage, StagePlan, arrival_times, worker_level

RAMP = StagePlan((Stage("up", 10, 20), Stage("hold", 10, 20), Stage("down", 5, 0)))


def test_a_flat_plan_gives_the_evenly_spaced_arrivals_it_always_gave() -> None:
    plan = StagePlan((Stage("stage1", 30, 20),), start=20)
    arrivals = list(arrival_times(plan))
    assert len(arrivals) == 20 * 30 == plan.uniform_total
    assert [a.at_s for a in arrivals] == [k / 20 for k in range(600)]
    assert [a.index for a in arrivals] == list(range(600)) and {a.stage for a in arrivals} == {0}


def test_targets_move_linearly_from_the_previous_stage_and_hold() -> None:
    assert [RAMP.target_at(t) for t in (0, 5, 10, 15, 20, 22.5, 25, 99)] == [0, 10, 20, 20, 20, 10, 0, 0]
    assert RAMP.total == 100 + 200 + 50 and RAMP.duration_s == 25 and RAMP.peak == 20
    assert [RAMP.stage_at(t) for t in (-1, 0, 9.99, 10, 20, 25, 30)] == [0, 0, 0, 1, 2, 2, 2]
    assert RAMP.integral(5) == pytest.approx(25) and RAMP.integral(10) == pytest.approx(100)
    assert RAMP.mean_between(10, 20) == pytest.approx(20)


def test_uniform_arrivals_give_each_stage_its_integral_within_one() -> None:
    counts = Counter(a.stage for a in arrival_times(RAMP))
    assert [counts[i] for i in range(3)] == RAMP.uniform_counts() == [100, 200, 50]
    times = [a.at_s for a in arrival_times(RAMP)]
    assert times == sorted(times) and times[1] == pytest.approx(1.0)  # 20 t^2 / 20 = 1 at t = 1


def test_poisson_arrivals_repeat_with_their_seed_and_follow_the_ramp() -> None:
    plan = StagePlan((Stage("up", 60, 100), Stage("hold", 60, 100)))
    first = list(arrival_times(plan, "poisson", 7))
    assert first == list(arrival_times(plan, "poisson", 7)) != list(arrival_times(plan, "poisson", 8))
    counts = Counter(a.stage for a in first)
    for i, expected in enumerate((3000, 6000)):  # well inside 5 standard deviations
        assert abs(counts[i] - expected) < 5 * math.sqrt(expected), (i, counts[i])
    early = sum(a.at_s < 30 for a in first)  # a quarter of the ramp's integral falls in its first half
    assert abs(early - 750) < 5 * math.sqrt(750)


@given(st.lists(st.tuples(st.floats(0.1, 50), st.floats(0, 200)), min_size=1, max_size=6), st.floats(0, 200),
       st.floats(0, 1))
def test_the_inverse_integral_inverts_the_integral(stages: list[tuple[float, float]], start: float,
                                                     share: float) -> None:
    plan = StagePlan(tuple(Stage(f"s{i}", d, t) for i, (d, t) in enumerate(stages)), start)
    v = share * plan.total
    t = plan.time_at_integral(v)
    assert 0 <= t <= plan.duration_s + 1e-9
    assert plan.integral(t) == pytest.approx(v, rel=1e-6, abs=1e-6)
    assert sum(plan.uniform_counts()) == plan.uniform_total


@given(st.lists(st.tuples(st.floats(0.1, 50), st.floats(0, 30)), min_size=1, max_size=6), st.floats(0, 30),
       st.integers(0, 30), st.floats(0, 60))
def test_a_worker_wakes_exactly_when_the_plan_first_wants_it(stages: list[tuple[float, float]], start: float,
                                                              j: int, after: float) -> None:
    plan = StagePlan(tuple(Stage(f"s{i}", d, t) for i, (d, t) in enumerate(stages)), start)
    level = worker_level(j)
    wake = plan.first_time_at_least(level, after)
    if wake is None:  # then no sampled time from `after` on wants it
        assert all(plan.target_at(after + k * (plan.duration_s - after) / 50) < level + 1e-6
                   for k in range(50)) or after >= plan.duration_s
        return
    assert after <= wake <= plan.duration_s
    assert plan.target_at(wake) >= level - 1e-6
    if wake > after:  # not wanted before it
        assert all(plan.target_at(after + (wake - after) * k / 20) < level + 1e-6 for k in range(19))


def test_a_duration_override_cuts_the_plan_or_holds_its_last_target() -> None:
    cut = RAMP.with_duration(15)
    assert [(s.name, s.duration_s, s.target) for s in cut.stages] == [("up", 10, 20), ("hold", 5.0, 20.0)]
    cut_mid_ramp = RAMP.with_duration(5)
    assert cut_mid_ramp.stages == (Stage("up", 5.0, 10.0),) and cut_mid_ramp.total == pytest.approx(25)
    longer = StagePlan((Stage("hold", 10, 5),), 5).with_duration(20)
    assert longer.duration_s == 20 and longer.total == pytest.approx(100)
    assert RAMP.with_duration(25) is RAMP


def test_bad_plans_are_refused() -> None:
    for stages in ((), (Stage("a", 0, 1),), (Stage("a", 1, -1),)):
        with pytest.raises(ValueError):
            StagePlan(stages)
    with pytest.raises(ValueError):
        list(arrival_times(RAMP, "bursty"))
