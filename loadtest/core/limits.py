"""Token-bucket maths for named request-rate limits. Pure: time is passed in, nothing sleeps.

With `burst` 1 this is a GCRA / virtual-scheduling bucket: each permit is due 1/rate after the
previous one, and a bucket that starts *empty* gives no start-up burst (Locust's and most
limiters' full-bucket start sends `burst` requests at once and overshoots short windows). A
bucket that was idle does not save up more than `burst` permits, so the achieved rate over any
window is at most rate * window + burst.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TokenBucket"]


@dataclass
class TokenBucket:
    rate: float  # permits per second
    burst: int = 1  # how many permits may be taken back to back after an idle spell
    _tat: float | None = field(default=None, repr=False)  # theoretical arrival time (GCRA)
    _last: float | None = field(default=None, repr=False)  # when the last permit was granted

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate must be > 0 (got {self.rate})")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1 (got {self.burst})")

    @classmethod
    def resumed(cls, rate: float, burst: int, tat: float | None) -> TokenBucket:
        """A bucket carrying on from the state another one saved (`tat`)."""
        return cls(rate, burst, _tat=tat)

    @property
    def tat(self) -> float | None:
        """The state to save for `resumed`: when the next permit is due (None: never used)."""
        return self._tat

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    @property
    def _tau(self) -> float:
        return (self.burst - 1) * self.interval  # how far ahead of schedule a permit may be

    def reserve(self, now: float) -> float:
        """Take one permit; return when it may be used (>= now). Reservations queue in order."""
        if self._tat is None:
            self._tat = now + self.interval + self._tau  # start empty: the first permit after one interval
        at = max(now, self._tat - self._tau)
        self._tat = max(self._tat, at) + self.interval
        self._last = at
        return at

    def try_take(self, now: float) -> float:
        """Take a permit now if one is free (return 0.0); else take nothing and return how long
        until one will be. This is the server's side: a refused request uses no permit."""
        if self._tat is None:
            self._tat = now  # a server's bucket starts full: it cannot know the client's past
        allowed_at = self._tat - self._tau
        if now + 1e-9 < allowed_at:  # a nanosecond's grace for float sums like 1000 + 9 * 0.1
            return allowed_at - now
        self._tat = max(self._tat, now) + self.interval
        self._last = now
        return 0.0

    def set_rate(self, rate: float, now: float) -> None:
        """Change the rate (a distributed share recomputed): the next permit is due one new
        interval after the last one granted."""
        if rate <= 0:
            raise ValueError(f"rate must be > 0 (got {rate})")
        self.rate = rate
        if self._last is not None:
            self._tat = max(now, self._last + self.interval) + self._tau
