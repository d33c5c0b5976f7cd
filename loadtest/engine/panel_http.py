"""Signed, rate-limited, retrying HTTP to a panel (control plane, httpx).

Shared by the callback client and the DIY API client: every request passes the panel's named
limit, 429 / 5xx / timeouts are retried with back-off (Retry-After wins when the panel sends
one), any other answer is final. Every HTTP status seen is counted, 429s included, so a run
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
    max_attempts: int = 6
    timeout_s: float = 10.0
    backoff_s: float = 0.2  # doubles each retry, capped at max_backoff_s
    max_backoff_s: float = 5.0
    transport: httpx.AsyncBaseTransport | None = None  # tests pass a MockTransport
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    _client: httpx.AsyncClient | None = field(default=None, repr=False)

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
        for attempt in range(1, self.max_attempts + 1):
            if self.limiter is not None:
                await self.limiter.acquire()
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
