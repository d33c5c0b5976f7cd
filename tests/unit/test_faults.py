"""The platform's fault plan, no sockets: parsing with one-line errors, seeded repeatable decisions."""

from __future__ import annotations

from collections import Counter

import pytest

from loadtest.platform.faults.plan import FaultsError, parse_faults


def test_decisions_follow_the_probabilities_and_repeat_for_the_same_seed() -> None:
    table = {"seed": 3, "submit-page": {"error": 0.1, "malformed": 0.05, "latency": "fixed", "latency_ms": 20},
             "*": {"throttle": 0.5}}
    first, again = parse_faults(table, "f"), parse_faults(table, "f")
    a = [first.decide("submit-page") for _ in range(2000)]
    assert a == [again.decide("submit-page") for _ in range(2000)]
    kinds = Counter(d.before or d.after for d in a)
    assert 150 < kinds["error"] < 250 and 60 < kinds["malformed"] < 140 and set(kinds) == {None, "error", "malformed"}
    assert all(d.delay_s == 0.02 for d in a)
    assert first.journal[("submit-page", "error")] == kinds["error"]
    assert Counter(first.decide("take").before for _ in range(400))["throttle"] > 150  # "*" covers the rest
    other = parse_faults({**table, "seed": 4}, "f")
    assert [other.decide("submit-page") for _ in range(2000)] != a


def test_latency_kinds_stay_in_their_ranges() -> None:
    plan = parse_faults({"take": {"latency": "uniform", "latency_ms": 10, "latency_max_ms": 30},
                         "previous-page": {"latency": "lognormal", "latency_ms": 200, "latency_sigma": 0.3}}, "f")
    uniform = [plan.decide("take").delay_s for _ in range(500)]
    assert min(uniform) >= 0.01 and max(uniform) <= 0.03
    lognormal = sorted(plan.decide("previous-page").delay_s for _ in range(999))
    assert 0.17 < lognormal[499] < 0.23  # the median is latency_ms


@pytest.mark.parametrize("table, message", [
    ({"submit": {}}, "f.toml: faults.submit: expected an endpoint: one of take, submit-page"),
    ({"take": {"error": 1.5}}, "f.toml: faults.take.error: expected a probability from 0 to 1 (got 1.5)"),
    ({"take": {"error": 0.7, "malformed": 0.6}}, "f.toml: faults.take.error: expected probabilities that add up"),
    ({"take": {"error_status": 404}}, "f.toml: faults.take.error_status: expected a 5xx status (got 404)"),
    ({"take": {"latency": "slow"}}, "f.toml: faults.take.latency: expected one of none, fixed, uniform, lognormal"),
    ({"take": {"eror": 0.1}}, "f.toml: faults.take.eror: expected one of error, error_status"),
])
def test_a_bad_fault_table_is_one_line_naming_the_key(table: dict, message: str) -> None:
    with pytest.raises(FaultsError) as err:
        parse_faults(table, "f.toml")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
