"""Everything a run does with the panel: set-up before it, callbacks during it, reconciliation after.

Callbacks are queued as respondents finish and delivered by a few concurrent senders behind the
panel's rate limit, so a slow or rate-limiting panel never holds up respondents. At the end the
queue is drained (each delivery is bounded by its retry budget), then the panel's transactions
are listed and reconciled against respondents.jsonl, which holds every finished respondent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtest.checks.reconcile import reconcile
from loadtest.control.diy_client import DiyClient, DiyError
from loadtest.control.limiter import Limiter
from loadtest.control.panel_client import PanelClient
from loadtest.control.panel_http import PanelHttp, PanelIO
from loadtest.core.flow import RespondentResult
from loadtest.core.panel import Signer
from loadtest.results.run_files import read_respondents
from loadtest.scenario.file import PanelSettings

__all__ = ["PanelSession"]

SENDERS = 8
LIST_ATTEMPTS = 4


@dataclass
class PanelSession:
    settings: PanelSettings
    base_url: str
    api_key: str
    secret: str
    limiter: Limiter | Any
    io: PanelIO | None = None  # None: asyncio; the Locust driver passes its gevent I/O
    panel_surveys: dict[int, str] = field(default_factory=dict)  # respondent survey id -> panel survey id
    setup_error: str | None = None

    def __post_init__(self) -> None:
        s = self.settings
        self.signer = Signer(self.secret, algorithm=s.algorithm, encoding=s.encoding,  # type: ignore[arg-type]
                             parts=s.hashed, param=s.param, placement=s.placement)  # type: ignore[arg-type]
        self.http = PanelHttp(limiter=self.limiter, io=self.io)
        self.callbacks = PanelClient(self.base_url, self.signer, self.api_key, self.http, mode=s.mode)  # type: ignore[arg-type]
        self.diy = DiyClient(self.base_url, self.signer, self.api_key, self.http)
        self._queue: asyncio.Queue[RespondentResult | None] = asyncio.Queue()

    async def __aenter__(self) -> PanelSession:
        await self.http.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.__aexit__(*exc)

    async def set_up(self, name: str, survey_target: str, survey_ids: list[int]) -> None:
        """One panel survey per respondent survey the run uses (a panel routes respondents to
        one survey each); the scenario's panel quotas go on the first, the scenario's own."""
        if not self.settings.setup:
            if self.settings.survey_id is not None:
                self.panel_surveys[survey_ids[0]] = self.settings.survey_id
            return
        for n, survey_id in enumerate(survey_ids):
            entry = f"{survey_target.rstrip('/')}/a/api/v2/surveys/{survey_id}/take?transaction_id={{transaction_id}}"
            quotas = list(self.settings.quotas) if n == 0 else []
            try:
                self.panel_surveys[survey_id] = await self.diy.set_up(f"{name}: survey {survey_id}", entry, quotas)
            except DiyError as exc:  # the run goes on; reconciliation then says why it cannot pass
                self.setup_error = str(exc)
                return

    # --- during the run ---------------------------------------------------------------------------
    def submit(self, result: RespondentResult) -> None:
        self._queue.put_nowait(result)

    async def send_all(self) -> None:
        """Deliver queued callbacks until `finish_sending` is called and the queue is empty."""
        await asyncio.gather(*(self._sender() for _ in range(SENDERS)))

    async def _sender(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                self._queue.put_nowait(None)  # let the other senders see the end too
                return
            await self.callbacks.deliver(item, self.recorded)

    async def recorded(self, result: RespondentResult) -> bool:
        """Whether the panel already holds this respondent's result (asked after a lost reply)."""
        panel_survey = self.panel_surveys.get(result.survey_id)
        if panel_survey is None:
            return False
        for t in await self.diy.transactions(panel_survey):
            if t.get("id") == result.transaction_id:
                return t.get("result") is not None
        return False

    def finish_sending(self) -> None:
        self._queue.put_nowait(None)

    # --- after the run ------------------------------------------------------------------------------
    async def reconcile(self, respondents_file: Path, run_prefix: str | None = None,
                        lost_with_worker: Callable[[int], bool] | None = None) -> dict[str, Any] | None:
        if self.setup_error is not None:
            return {"passed": False, "error": f"panel set-up failed: {self.setup_error}", "mismatches": [],
                    "problems": {"setup": 1}}
        if not self.settings.reconcile or not self.panel_surveys:
            return None
        transactions: list[dict[str, Any]] = []
        for panel_survey in self.panel_surveys.values():
            for attempt in range(LIST_ATTEMPTS):  # listing changes nothing: a garbled list is asked again
                try:
                    transactions += await self.diy.transactions(panel_survey)
                    break
                except DiyError as exc:
                    error = str(exc)
                    assert self.http.io is not None  # PanelHttp sets it: asyncio, or gevent under Locust
                    await self.http.io.sleep(0.2 * 2 ** attempt)
            else:
                return {"passed": False, "error": error, "mismatches": [], "problems": {"unlisted": 1}}
        lines, _ = read_respondents(respondents_file)  # a torn last line (a killed run) is skipped
        return reconcile(lines, transactions, run_prefix, lost_with_worker)

    def summary(self) -> dict[str, Any]:
        return {"panel_surveys": {str(k): v for k, v in self.panel_surveys.items()}, **self.callbacks.summary()}
