"""Signed, rate-limited, retrying HTTP to a panel (control plane, httpx).

Shared by the callback client and the DIY API client: every request passes the panel's named
limit, 429 / 5xx / timeouts are retried with back-off (Retry-After wins when the panel sends
one), any other answer is final. A 429 pauses every request to the panel, not only the one that
got it: otherwise all waiting senders retry at the same instant and are refused together again. Every HTTP status seen is counted, 429s included, so a run
can show that limiting worked (zero 429s) or did not.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

from loadtest.engine.limiter import Limiter

__all__ = ["PanelHttp", "RETRYABLE"]

RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class PanelHttp:
    limiter: Limiter | None = None
    max_attempts: int = 6  # attempts that failed (5xx, timeouts); 429s do not count against it...
    max_rate_limited_s: float = 120.0  # ...but the time spent waiting on 429s is bounded too
    timeout_s: float = 10.0
    backoff_s: float = 0.2  # doubles each retry, capped at max_backoff_s
    max_backoff_s: float = 5.0
    transport: httpx.AsyncBaseTransport | None = None  # tests pass a MockTransport
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    _client: httpx.AsyncClient | None = field(default=None, repr=False)
    _paused_until: float = 0.0  # loop time before which no request goes out (after a 429)

    async def __aenter__(self) -> "PanelHttp":
        self._client = httpx.AsyncClient(timeout=self.timeout_s, transport=self.transport)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def request(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[httpx.Response | None, int]:
        """(the final response or None if none came, attempts made)."""
        assert self._client is not None, "use `async with`"
        reply: httpx.Response | None = None
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self.max_rate_limited_s
        attempt = 0
        while attempt < self.max_attempts:
            while (pause := self._paused_until - loop.time()) > 0:
                await asyncio.sleep(pause)
            if self.limiter is not None:
                await self.limiter.acquire()
            attempt += 1
            wait = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
            try:
                reply = await self._client.request(method, url, headers=headers, content=body)
            except (httpx.TimeoutException, httpx.TransportError):
                reply = None
            else:
                self.statuses[reply.status_code] += 1
                if reply.status_code not in RETRYABLE:
                    return reply, attempt
                wait = retry_after(reply.headers.get("retry-after"), wait)
                if reply.status_code == 429:
                    # Rate limited: wait as told, all requests together; it does not use up an attempt.
                    self._paused_until = max(self._paused_until, loop.time() + wait)
                    attempt -= 1
                    if loop.time() + wait > give_up_at:
                        return reply, attempt + 1
                    self.retries += 1
                    continue
            if attempt < self.max_attempts:
                self.retries += 1
                await asyncio.sleep(wait)
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
