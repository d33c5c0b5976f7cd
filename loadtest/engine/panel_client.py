"""Post signed completion callbacks to the panel (control plane: httpx, rate-limited).

After a respondent's outcome, if it has a transaction and the panel is told about that outcome
(core/panel.py `result_code`), one callback is delivered: retried with back-off on 429 (honouring
`Retry-After`), 5xx and timeouts, and given up on any other refusal (e.g. 403: the signature is
wrong, retrying cannot help). At most one callback per transaction is ever accepted: once the
panel accepted it, the transaction is never sent again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import httpx

from loadtest.core.flow import RespondentResult
from loadtest.core.panel import Signer, build_callback, result_code
from loadtest.engine.limiter import Limiter

__all__ = ["PanelClient", "Delivery"]

RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class Delivery:
    transaction_id: str
    result: int
    state: Literal["accepted", "rejected", "gave_up", "suppressed"]
    attempts: int
    http_status: int | None


@dataclass
class PanelClient:
    base_url: str
    signer: Signer
    api_key: str
    mode: Literal["postback", "redirect"] = "postback"
    limiter: Limiter | None = None
    max_attempts: int = 6
    timeout_s: float = 10.0
    backoff_s: float = 0.2  # doubles each retry, capped at max_backoff_s; Retry-After wins when given
    max_backoff_s: float = 5.0
    transport: httpx.AsyncBaseTransport | None = None  # tests pass a MockTransport
    accepted: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)  # every HTTP status seen, 429s included
    deliveries: list[Delivery] = field(default_factory=list)
    retries: int = 0
    _client: httpx.AsyncClient | None = field(default=None, repr=False)

    async def __aenter__(self) -> "PanelClient":
        self._client = httpx.AsyncClient(timeout=self.timeout_s, transport=self.transport)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._client is not None
        await self._client.aclose()

    async def deliver(self, result: RespondentResult) -> Delivery | None:
        code = result_code(result.outcome or "", result.details)
        if code is None or not result.transaction_id:
            return None
        reason = None
        reason_info = result.details.get("terminateReason")
        if isinstance(reason_info, dict) and reason_info.get("rule"):
            reason = str(reason_info["rule"])
        return await self.send(result.transaction_id, code, reason)

    async def send(self, transaction_id: str, code: int, reason: str | None = None) -> Delivery:
        assert self._client is not None, "use `async with PanelClient(...)`"
        if transaction_id in self.accepted:
            return self._done(Delivery(transaction_id, code, "suppressed", 0, None))
        callback = build_callback(self.base_url, transaction_id, code, self.signer, self.api_key, self.mode, reason)
        status: int | None = None
        for attempt in range(1, self.max_attempts + 1):
            if self.limiter is not None:
                await self.limiter.acquire()
            wait = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
            try:
                reply = await self._client.request(callback.method, callback.url, headers=callback.headers,
                                                   content=callback.body)
            except httpx.TimeoutException:
                status = None
            except httpx.TransportError:
                status = None
            else:
                status = reply.status_code
                self.statuses[status] += 1
                if 200 <= status < 300:
                    self.accepted.add(transaction_id)
                    return self._done(Delivery(transaction_id, code, "accepted", attempt, status))
                if status not in RETRYABLE:
                    return self._done(Delivery(transaction_id, code, "rejected", attempt, status))
                wait = _retry_after(reply.headers.get("retry-after"), wait)
            if attempt < self.max_attempts:
                self.retries += 1
                await asyncio.sleep(wait)
        return self._done(Delivery(transaction_id, code, "gave_up", self.max_attempts, status))

    def _done(self, delivery: Delivery) -> Delivery:
        self.deliveries.append(delivery)
        return delivery

    def summary(self) -> dict[str, object]:
        states = Counter(d.state for d in self.deliveries)
        return {
            "mode": self.mode,
            "sent": sum(1 for d in self.deliveries if d.state != "suppressed"),
            "accepted": states["accepted"],
            "rejected": states["rejected"],
            "gave_up": states["gave_up"],
            "suppressed_duplicates": states["suppressed"],
            "retries": self.retries,
            "http_statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "too_many_requests": self.statuses[429],
        }


def _retry_after(header: str | None, default: float) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), else the default."""
    if not header:
        return default
    try:
        return max(0.0, float(header))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
        except (TypeError, ValueError):
            return default
