"""Post signed completion callbacks to the panel.

After a respondent's outcome, if it has a transaction and the panel is told about that outcome
(core/panel.py `result_code`), one callback is delivered through PanelHttp (rate-limited,
retried on 429/5xx/timeouts). At most one callback per transaction is ever accepted: once the
panel accepted it, the transaction is never sent again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from loadtest.control.panel_http import RETRYABLE, PanelHttp
from loadtest.core.flow import RespondentResult
from loadtest.core.panel import Signer, build_callback, panel_result

__all__ = ["Delivery", "PanelClient"]


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
    http: PanelHttp
    mode: Literal["postback", "redirect"] = "postback"
    accepted: set[str] = field(default_factory=set)
    deliveries: list[Delivery] = field(default_factory=list)

    async def deliver(self, result: RespondentResult,
                      recorded: Callable[[RespondentResult], Awaitable[bool]] | None = None) -> Delivery | None:
        """`recorded(result)`, when given, says whether the panel already holds this respondent's
        result: asked after a lost reply, so a callback that landed is never sent twice."""
        code = panel_result(result.outcome, result.statuses, result.details)
        if code is None or not result.transaction_id:
            return None
        info = result.details.get("terminateReason")
        reason = str(info["rule"]) if isinstance(info, dict) and info.get("rule") else None
        landed = (lambda: recorded(result)) if recorded is not None else None
        return await self.send(result.transaction_id, code, reason, landed)

    async def send(self, transaction_id: str, code: int, reason: str | None = None,
                   landed: Callable[[], Awaitable[bool]] | None = None) -> Delivery:
        if transaction_id in self.accepted:
            return self._done(Delivery(transaction_id, code, "suppressed", 0, None))
        cb = build_callback(self.base_url, transaction_id, code, self.signer, self.api_key, self.mode, reason)
        reply, attempts = await self.http.request(cb.method, cb.url, cb.headers, cb.body, landed)
        if reply is None and landed is not None and attempts < self.http.max_attempts:
            # No reply, but the panel confirmed it holds the result: delivered, once.
            self.accepted.add(transaction_id)
            return self._done(Delivery(transaction_id, code, "accepted", attempts, None))
        if reply is not None and 200 <= reply.status_code < 300:
            self.accepted.add(transaction_id)
            return self._done(Delivery(transaction_id, code, "accepted", attempts, reply.status_code))
        # A final answer the retries could not change (e.g. 403: bad enc) is a rejection;
        # running out of attempts on 429/5xx/timeouts is giving up.
        state: Literal["rejected", "gave_up"] = (
            "gave_up" if reply is None or reply.status_code in RETRYABLE else "rejected")
        return self._done(Delivery(transaction_id, code, state, attempts, reply.status_code if reply else None))

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
            "retries": self.http.retries,
            "verified_after_lost_reply": self.http.verified,
            "http_statuses": {str(k): v for k, v in sorted(self.http.statuses.items())},
            "too_many_requests": self.http.statuses[429],
        }
