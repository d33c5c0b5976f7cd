"""Token-bucket maths with a hand-driven clock."""

from __future__ import annotations

import pytest

from loadtest.core.limits import TokenBucket


def test_no_start_up_burst_and_even_spacing() -> None:
    b = TokenBucket(rate=10)
    times = [b.reserve(now=100.0) for _ in range(5)]  # five asked for at once
    assert times == pytest.approx([100.1, 100.2, 100.3, 100.4, 100.5])


def test_an_idle_bucket_saves_up_at_most_burst_permits() -> None:
    b = TokenBucket(rate=10, burst=3)
    b.reserve(0.0)
    times = [b.reserve(50.0) for _ in range(5)]  # long idle, then a rush
    assert times == pytest.approx([50.0, 50.0, 50.0, 50.1, 50.2])


def test_over_any_window_the_count_is_at_most_rate_times_window_plus_burst() -> None:
    b = TokenBucket(rate=10)
    grants = [b.reserve(now=i * 0.013) for i in range(2000)]  # asked for faster than allowed
    in_window = [t for t in grants if 5.05 <= t < 65.05]  # grants fall on 0.1 s steps
    assert len(in_window) == 600


def test_rate_changes_apply_to_permits_not_yet_reserved() -> None:
    b = TokenBucket(rate=10)
    b.reserve(0.0)
    b.set_rate(2, now=0.1)
    assert b.reserve(0.1) == pytest.approx(0.6)
    with pytest.raises(ValueError):
        TokenBucket(rate=0)


def test_a_server_bucket_refuses_without_using_a_permit_and_says_how_long_to_wait() -> None:
    b = TokenBucket(rate=10, burst=10)
    assert [b.try_take(0.0) for _ in range(10)] == [0.0] * 10  # a full second's worth at once
    wait = b.try_take(0.0)
    assert wait == pytest.approx(0.1)
    assert b.try_take(0.05) == pytest.approx(0.05)  # still refused, and nothing was used up
    assert b.try_take(0.1) == 0.0
    spaced = [b.try_take(1.0 + i * 0.1) for i in range(100)]  # a client holding 10/s exactly
    assert spaced == [0.0] * 100
