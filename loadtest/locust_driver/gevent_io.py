"""The engine's I/O seams, gevent flavoured, so Locust processes run the same panel code.

PanelHttp, PanelClient, DiyClient and PanelSession are coroutines whose only I/O goes through
a PanelIO and a limiter's `acquire()`. Here those awaitables block the calling greenlet instead
of suspending, so `run_to_completion` can drive such a coroutine to its end in one step: same
retry policy, same signing, same reconciliation, no asyncio loop inside a gevent process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import gevent
import gevent.event
import gevent.lock
import httpx

from loadtest.core.limits import TokenBucket

__all__ = ["GeventLimiter", "GeventPanelIO", "run_to_completion"]

T = TypeVar("T")
log = logging.getLogger("loadtest")
SHARE_WAIT_WARNING_S = 10.0


def run_to_completion(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (its awaits block this greenlet) and return its value."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a panel coroutine suspended: under Locust only gevent-blocking awaitables may be used")


@dataclass
class GeventPanelIO:
    """A blocking httpx.Client: cooperative under gevent's monkey-patching. The panel sees ~10
    requests a second, so its per-request CPU (higher than FastHttpSession's) does not matter."""

    timeout_s: float = 10.0
    _client: httpx.Client | None = field(default=None, repr=False)

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        gevent.sleep(seconds)

    async def send(self, method: str, url: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        assert self._client is not None, "open() first"
        return self._client.request(method, url, headers=headers, content=body)

    async def open(self) -> None:
        self._client = httpx.Client(timeout=self.timeout_s)

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()


@dataclass
class GeventLimiter:
    """One named limit in one Locust process, at this process's share of the limit's rate.

    Standalone, the share is the whole rate. A worker waits for the master to give it a share
    (and a new one whenever workers join or leave) before its first permit. Permits are queued
    in order by the GCRA bucket (core/limits.py) and waited for with gevent.sleep."""

    name: str
    target: float  # the limit's rate across all processes
    share: float | None = None
    granted: int = 0
    first_at: float | None = None  # wall clock, so the master can combine workers' spans
    last_at: float | None = None
    _bucket: TokenBucket | None = field(default=None, repr=False)
    _ready: gevent.event.Event = field(default_factory=gevent.event.Event, repr=False)
    _turn: gevent.lock.Semaphore = field(default_factory=gevent.lock.Semaphore, repr=False)

    def set_share(self, rate: float) -> None:
        if self._bucket is None:
            self._bucket = TokenBucket(rate)
        else:
            self._bucket.set_rate(rate, time.monotonic())
        self.share = rate
        self._ready.set()

    def acquire_blocking(self) -> None:
        while not self._ready.wait(SHARE_WAIT_WARNING_S):
            log.warning("loadtest: limit %r: still waiting for this worker's share from the master", self.name)
        assert self._bucket is not None
        # One booking at a time: a permit is reserved only when the one before it was used, so a
        # new share applies from the next permit (senders booking ahead kept the old rate for
        # seconds after a worker left or joined). The lock is FIFO: permits go out in order.
        with self._turn:
            now = time.monotonic()
            delay = self._bucket.reserve(now) - now
            if delay > 0:
                gevent.sleep(delay)
        wall = time.time()
        self.granted += 1
        self.first_at = wall if self.first_at is None else self.first_at
        self.last_at = wall

    async def acquire(self) -> None:  # what PanelHttp awaits
        self.acquire_blocking()

    def export(self) -> dict[str, Any]:
        return {"target": self.target, "share": self.share, "granted": self.granted,
                "first_at": self.first_at, "last_at": self.last_at}
