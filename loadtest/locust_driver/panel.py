"""Completion callbacks from Locust processes: the engine's PanelSession, driven by greenlets.

Respondents hand their results to a gevent queue as they finish; a few sender greenlets deliver
them through the process's share of the panel limit, so a slow or rate-limiting panel never
holds up users. When the test stops the queue is drained, bounded by `drain_s`; whatever could
not be sent in that time is counted as `undelivered` (and reconciliation shows it as missing).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.queue

from loadtest.control.panel_session import PanelSession
from loadtest.core.flow import RespondentResult
from loadtest.core.panel import panel_result
from loadtest.locust_driver.gevent_io import run_to_completion

__all__ = ["LocustPanel"]

SENDERS = 8


class LocustPanel:
    def __init__(self, session: PanelSession) -> None:
        self.session = session
        self.by_persona: dict[str, Counter[str]] = defaultdict(Counter)
        self.undelivered = 0
        self._in_flight = 0  # taken off the queue, not yet delivered: lost if the drain times out
        self._queue: gevent.queue.Queue[RespondentResult | None] = gevent.queue.Queue()
        self._senders: list[gevent.Greenlet] = []
        run_to_completion(session.__aenter__())

    def set_up(self, name: str, survey_target: str, survey_ids: list[int]) -> None:
        run_to_completion(self.session.set_up(name, survey_target, survey_ids))

    def start_sending(self) -> None:
        self._senders = [gevent.spawn(self._sender) for _ in range(SENDERS)]

    def submit(self, result: RespondentResult) -> None:
        self._queue.put(result)

    def _sender(self) -> None:
        while True:
            result = self._queue.get()
            if result is None:
                self._queue.put(None)  # let the other senders see the end too
                return
            needed = _needs_callback(result)
            self._in_flight += needed
            delivery = run_to_completion(self.session.callbacks.deliver(result, self.session.recorded))
            self._in_flight -= needed
            if delivery is not None:
                self.by_persona[result.persona][delivery.state] += 1

    def drain(self, drain_s: float, cancelled: gevent.event.Event | None = None) -> None:
        """Deliver what is queued (bounded by drain_s, or until `cancelled` is set), then stop the senders."""
        self._queue.put(None)
        done = gevent.spawn(gevent.joinall, self._senders)
        gevent.wait([done] if cancelled is None else [done, cancelled], timeout=drain_s, count=1)
        done.kill(block=False)
        gevent.killall(self._senders, block=True)
        self.undelivered += self._in_flight + sum(1 for item in list(self._queue.queue)
                                                  if item is not None and _needs_callback(item))
        self._in_flight = 0

    def close(self) -> None:
        run_to_completion(self.session.__aexit__(None, None, None))

    def reconcile(self, respondents_file: Any, run_prefix: str | None = None,
                  lost_with_worker: Callable[[int], bool] | None = None) -> dict[str, Any] | None:
        return run_to_completion(self.session.reconcile(respondents_file, run_prefix, lost_with_worker))

    def export(self) -> dict[str, Any]:
        """This process's callback figures so far (cumulative), in summary.json's `callbacks` shape."""
        return {**self.session.summary(), "undelivered": self.undelivered,
                "by_persona": {p: dict(c) for p, c in self.by_persona.items()}}


def _needs_callback(result: RespondentResult) -> bool:
    """Only these count as undelivered when a drain runs out (a cut-off respondent needs none)."""
    return bool(result.transaction_id) and panel_result(result.outcome, result.statuses, result.details) is not None
