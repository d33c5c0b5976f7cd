"""A respondent's own random stream: one 64-bit integer of state, seeded, reproducible.

Why not a `random.Random` per respondent: its Mersenne Twister state is 2.5 KB, about a fifth of
what a respondent parked in think time costs, and seeding it takes ~5 µs (bench/RESULTS.md,
scale). This is SplitMix64 (Steele, Lea & Flood, 2014), which passes BigCrush and is plenty for
picking answers and think times. The distribution methods (choice, sample, randint, uniform,
lognormvariate, shuffle, ...) are `random.Random`'s own, borrowed: they only call `random()`,
`getrandbits()` and `_randbelow()`, so persona scripts keep the API they know.
"""

from __future__ import annotations

import random as _stdlib_random
from collections.abc import Iterable, MutableSequence, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

__all__ = ["RespondentRandom"]

_T = TypeVar("_T")

_MASK64 = (1 << 64) - 1


class RespondentRandom:
    __slots__ = ("_state", "gauss_next")

    def __init__(self, seed: int) -> None:
        if not isinstance(seed, int):
            raise TypeError(f"a respondent's seed is an int, not {type(seed).__name__}")
        self._state = seed & _MASK64
        self.gauss_next: float | None = None  # random.Random.gauss keeps its spare value here

    # The step is written out in each method, constants as literals: a call and global lookups
    # per draw would double its cost (each answer pick and think time draws).
    def random(self) -> float:
        """A float in [0, 1) with 53 random bits, as random.Random.random gives."""
        s = self._state = (self._state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return ((z ^ (z >> 31)) >> 11) * 1.1102230246251565e-16  # 2 ** -53

    def getrandbits(self, k: int) -> int:
        if k < 0:
            raise ValueError("number of bits must be non-negative")
        bits, have = 0, 0
        while have < k:
            s = self._state = (self._state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
            z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
            bits = (bits << 64) | (z ^ (z >> 31))
            have += 64
        return bits >> (have - k)

    def _randbelow(self, n: int) -> int:
        """0 <= r < n by rejection, as random.Random._randbelow_with_getrandbits, one step inline."""
        k = n.bit_length()
        if k > 64:
            r = self.getrandbits(k)
            while r >= n:
                r = self.getrandbits(k)
            return r
        while True:
            s = self._state = (self._state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
            z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
            r = (z ^ (z >> 31)) >> (64 - k)
            if r < n:
                return r

    def randint(self, a: int, b: int) -> int:
        """a <= N <= b, both ints (random.Random.randint goes through randrange's general checks)."""
        if not (isinstance(a, int) and isinstance(b, int)):
            raise TypeError("randint takes two ints")
        if b < a:
            raise ValueError(f"empty range for randint({a}, {b})")
        return a + self._randbelow(b - a + 1)

    if TYPE_CHECKING:
        # The borrowed methods, typed as called on a RespondentRandom: typeshed types them on
        # random.Random, which this class is not (typeshed's signatures for Python 3.11).
        def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int: ...
        def choice(self, seq: SupportsLenAndGetItem[_T]) -> _T: ...
        def choices(self, population: SupportsLenAndGetItem[_T], weights: Sequence[float] | None = None, *,
                    cum_weights: Sequence[float] | None = None, k: int = 1) -> list[_T]: ...
        def sample(self, population: Sequence[_T], k: int, *, counts: Iterable[int] | None = None) -> list[_T]: ...
        def shuffle(self, x: MutableSequence[Any]) -> None: ...
        def randbytes(self, n: int) -> bytes: ...
        def uniform(self, a: float, b: float) -> float: ...
        def triangular(self, low: float = 0.0, high: float = 1.0, mode: float | None = None) -> float: ...
        def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float: ...
        def normalvariate(self, mu: float = 0.0, sigma: float = 1.0) -> float: ...
        def lognormvariate(self, mu: float, sigma: float) -> float: ...
        def expovariate(self, lambd: float) -> float: ...
        def gammavariate(self, alpha: float, beta: float) -> float: ...
        def betavariate(self, alpha: float, beta: float) -> float: ...
        def paretovariate(self, alpha: float) -> float: ...
        def weibullvariate(self, alpha: float, beta: float) -> float: ...
        def vonmisesvariate(self, mu: float, kappa: float) -> float: ...
    else:
        randrange = _stdlib_random.Random.randrange
        choice = _stdlib_random.Random.choice
        choices = _stdlib_random.Random.choices
        sample = _stdlib_random.Random.sample
        shuffle = _stdlib_random.Random.shuffle
        randbytes = _stdlib_random.Random.randbytes
        uniform = _stdlib_random.Random.uniform
        triangular = _stdlib_random.Random.triangular
        gauss = _stdlib_random.Random.gauss
        normalvariate = _stdlib_random.Random.normalvariate
        lognormvariate = _stdlib_random.Random.lognormvariate
        expovariate = _stdlib_random.Random.expovariate
        gammavariate = _stdlib_random.Random.gammavariate
        betavariate = _stdlib_random.Random.betavariate
        paretovariate = _stdlib_random.Random.paretovariate
        weibullvariate = _stdlib_random.Random.weibullvariate
        vonmisesvariate = _stdlib_random.Random.vonmisesvariate
