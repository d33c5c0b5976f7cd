"""RespondentRandom: SplitMix64 with random.Random's distribution methods on top."""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from loadtest.core.rng import RespondentRandom


def test_matches_the_published_splitmix64_sequence() -> None:
    # Reference outputs for seed 1234567 (the SplitMix64 reference implementation's test vector).
    rng = RespondentRandom(1234567)
    assert [rng.getrandbits(64) for _ in range(3)] == [
        6457827717110365317, 3203168211198807973, 9817491932198370423]


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    def draws(seed: int) -> list:
        rng = RespondentRandom(seed)
        return [rng.random(), rng.randint(1, 6), rng.choice("abcdef"), rng.sample(range(20), 4),
                rng.uniform(0.3, 0.8), rng.lognormvariate(0.0, 0.5), rng.gauss(0, 1), rng.getrandbits(100)]

    assert draws(42) == draws(42)
    assert draws(42) != draws(43)


def test_small_next_to_a_mersenne_twister() -> None:
    import random

    assert sys.getsizeof(RespondentRandom(1)) * 20 < sys.getsizeof(random.Random(1))


def test_getrandbits_widths() -> None:
    rng = RespondentRandom(7)
    assert rng.getrandbits(0) == 0
    assert all(rng.getrandbits(k).bit_length() <= k for k in (1, 5, 32, 63, 64, 65, 200) for _ in range(50))
    assert max(rng.getrandbits(130) for _ in range(200)).bit_length() > 120  # high words are filled too
    with pytest.raises(ValueError):
        rng.getrandbits(-1)


def test_uniform_enough_for_answer_picks() -> None:
    rng = RespondentRandom(2024)
    counts = Counter(rng.choice(range(6)) for _ in range(60_000))
    expected = 10_000
    chi2 = sum((counts[k] - expected) ** 2 / expected for k in range(6))
    assert chi2 < 20.5  # 5 degrees of freedom: p < 0.001 only for a biased generator
    floats = [rng.random() for _ in range(20_000)]
    assert 0.0 <= min(floats) and max(floats) < 1.0
    assert abs(sum(floats) / len(floats) - 0.5) < 0.01


def test_rejects_a_seed_that_is_not_an_int() -> None:
    with pytest.raises(TypeError):
        RespondentRandom("1:2")  # type: ignore[arg-type]


def test_randint_covers_both_ends_and_refuses_an_empty_range() -> None:
    rng = RespondentRandom(5)
    assert {rng.randint(1, 3) for _ in range(300)} == {1, 2, 3}
    assert rng.randint(7, 7) == 7
    assert {rng.randrange(0, 10, 5) for _ in range(100)} == {0, 5}
    with pytest.raises(ValueError):
        rng.randint(3, 2)
    with pytest.raises(TypeError):
        rng.randint(1.5, 3)  # type: ignore[arg-type]


def test_wide_ranges_take_more_than_one_word() -> None:
    rng = RespondentRandom(9)
    picks = [rng.randrange(1 << 100) for _ in range(100)]
    assert all(0 <= p < 1 << 100 for p in picks) and max(picks) > 1 << 90
