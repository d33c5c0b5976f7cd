"""Signed, rate-limited, retrying HTTP to a panel (control plane, httpx).

Shared by the callback client and the DIY API client: every request passes the panel's named
limit, 429 / 5xx / timeouts are retried with back-off (Retry-After wins when the panel sends
one), any other answer is final. A 429 pauses every request to the panel, not only the one that
got it: otherwise all waiting senders retry at the same instant and are refused together again.
Every HTTP status seen is counted, 429s included, so a run can show that limiting worked (zero
429s) or did not.

The I/O is pluggable (`PanelIO`): asyncio + httpx.AsyncClient here, gevent + a blocking client
in the Locust driver, so both run the very same retry policy, callback and DIY code.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from loadtest.control.limiter import Limiter

__all__ = ["RETRYABLE", "AsyncioPanelIO", "PanelHttp", "PanelIO"]

RETRYABLE = {429, 500, 502, 503, 504}


class PanelIO(Protocol):
    """What PanelHttp needs from an I/O world: a clock, a sleep and one HTTP exchange (which
    raises httpx.TimeoutException / httpx.TransportError when no reply comes)."""

    def now(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...
    async def send(self, method: str, url: str, headers: dict[str, str], body: bytes) -> httpx.Response: ...
    async def open(self) -> None: ...
    async def close(self) -> None: ...


@dataclass
class AsyncioPanelIO:
    timeout_s: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None  # tests pass a MockTransport
    _client: httpx.AsyncClient | None = field(default=None, repr=False)

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def send(self, method: str, url: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        assert self._client is not None, "use `async with` on the PanelHttp"
        return await self._client.request(method, url, headers=headers, content=body)

    async def open(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout_s, transport=self.transport)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


@dataclass
class PanelHttp:
    limiter: Limiter | Any = None  # anything with `async acquire()`: the engine's Limiter, the driver's
    max_attempts: int = 6  # attempts that failed (5xx, timeouts); 429s do not count against it...
    max_rate_limited_s: float = 120.0  # ...but the time spent waiting on 429s is bounded too
    timeout_s: float = 10.0
    backoff_s: float = 0.2  # doubles each retry, capped at max_backoff_s
    max_backoff_s: float = 5.0
    transport: httpx.AsyncBaseTransport | None = None  # tests pass a MockTransport
    io: PanelIO | None = None  # None: asyncio + httpx.AsyncClient
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    verified: int = 0  # lost replies whose request the other side confirmed it had processed
    _paused_until: float = 0.0  # clock time before which no request goes out (after a 429)

    def __post_init__(self) -> None:
        if self.io is None:
            self.io = AsyncioPanelIO(self.timeout_s, self.transport)

    async def __aenter__(self) -> PanelHttp:
        assert self.io is not None  # __post_init__ sets it
        await self.io.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.io is not None
        await self.io.close()

    async def request(self, method: str, url: str, headers: dict[str, str], body: bytes,
                      landed: Callable[[], Awaitable[bool]] | None = None) -> tuple[httpx.Response | None, int]:
        """(the final response or None if none came, attempts made). With `landed`, an attempt
        that got no reply at all (it may have been processed) is followed by asking whether it
        did land before sending again; if it did, the answer is (None, attempts) and
        `self.verified` counts it. That keeps a non-idempotent request (a callback) from being
        delivered twice when only its reply was lost."""
        io = self.io
        assert io is not None
        reply: httpx.Response | None = None
        give_up_at = io.now() + self.max_rate_limited_s
        attempt = 0
        while attempt < self.max_attempts:
            while (pause := self._paused_until - io.now()) > 0:
                await io.sleep(pause)
            if self.limiter is not None:
                await self.limiter.acquire()
            attempt += 1
            wait = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
            try:
                reply = await io.send(method, url, headers, body)
            except (httpx.TimeoutException, httpx.TransportError):
                reply = None
                if landed is not None and attempt < self.max_attempts:
                    await io.sleep(wait)  # let the other side settle before asking it
                    try:
                        done = await landed()
                    except Exception:  # could not tell: sending again is the lesser evil
                        done = False
                    if done:
                        self.verified += 1
                        return None, attempt
                    self.retries += 1
                    continue
            else:
                self.statuses[reply.status_code] += 1
                if reply.status_code not in RETRYABLE:
                    return reply, attempt
                wait = retry_after(reply.headers.get("retry-after"), wait)
                if reply.status_code == 429:
                    # Rate limited: wait as told, all requests together; it does not use up an attempt.
                    self._paused_until = max(self._paused_until, io.now() + wait)
                    attempt -= 1
                    if io.now() + wait > give_up_at:
                        return reply, attempt + 1
                    self.retries += 1
                    continue
            if attempt < self.max_attempts:
                self.retries += 1
                await io.sleep(wait)
        return reply, self.max_attempts


def retry_after(header: str | None, default: float) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), else the default."""
    if not header:
        return default
    try:
        return max(0.0, float(header))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
        except (TypeError, ValueError):
            return default
