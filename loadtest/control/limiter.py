"""Named rate limits for the engine: every request of a group waits for its permit.

One `Limiter` per name per process, shared by all respondents, so `panel = { rate = 10 }` holds
for the whole process however many respondents want the panel at once. Permits are handed out in
the order they were asked for. The maths is core/limits.py; this only sleeps.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from loadtest.core.limits import TokenBucket

__all__ = ["Limiter", "Limiters"]


@dataclass
class Limiter:
    name: str
    rate: float
    burst: int = 1
    granted: int = 0
    first_at: float | None = None
    last_at: float | None = None
    _bucket: TokenBucket = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._bucket = TokenBucket(self.rate, self.burst)

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        at = self._bucket.reserve(loop.time())
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = loop.time()
        self.granted += 1
        self.first_at = now if self.first_at is None else self.first_at
        self.last_at = now

    def achieved(self) -> dict[str, float | int | None]:
        """Permits granted and the rate they were granted at (between the first and the last)."""
        span = (self.last_at - self.first_at) if self.first_at is not None and self.last_at is not None else 0.0
        rate = (self.granted - 1) / span if self.granted > 1 and span > 0 else None
        return {"target": self.rate, "granted": self.granted, "achieved": round(rate, 4) if rate else None}


class Limiters(dict[str, Limiter]):
    """The run's limits by name; `get(name)` is None for an unlimited group."""

    @classmethod
    def from_rates(cls, rates: dict[str, float]) -> Limiters:
        return cls({name: Limiter(name, rate) for name, rate in rates.items()})

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        return {name: lim.achieved() for name, lim in sorted(self.items())}
