"""Drive exploring respondents over any Transport, within a budget, and record what each met.

Each walk is one RespondentFlow with an ExplorerPersona: the flow's token handling, lost-reply
recovery and 429 handling are a run's. While the target answers 429, every walk pauses (as in the
engine), and the scenario's `survey` limit gates every request. Think time is handed to `sleep`:
anyio's over HTTP, a virtual clock's in process (so a walk there takes no real time, and the
platform's speeder rule sees the think time the walk would have had).

The budget: no walk starts once `respondents` have, or `duration_s` has passed; no request is
sent once `requests` have been (the walk then is cut off, as a run's stop does). Redirects are
never followed: exploring contacts nothing but the target.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import orjson

from loadtest.control.limiter import Limiter
from loadtest.core.errors import ServerContractError, TransportError
from loadtest.core.flow import FlowPolicy, FlowTarget, Reply, Request, RespondentFlow, Throttled
from loadtest.core.page import PageReply, parse_reply
from loadtest.core.population import PersonaEntry, build_persona, respondent_seed, transaction_id
from loadtest.explore.knowledge import Knowledge, Step, WalkRecord
from loadtest.explore.persona import ExplorerPersona, PageKey, Plan
from loadtest.explore.planner import Planner
from loadtest.transport.base import Transport

__all__ = ["Budget", "ExploreResult", "Explorer", "Target", "VirtualClock"]

GATES = ("authentication_required", "language_selection_required")


@dataclass(frozen=True, slots=True)
class Budget:
    respondents: int
    requests: int
    duration_s: float


@dataclass(frozen=True, slots=True)
class Target:
    survey_id: int
    api_key: str | None
    host: str  # for the flow's same-host checks; no redirect is followed whatever it is
    api_key_env: str = "LOADTEST_API_KEY"
    headers: tuple[tuple[str, str], ...] = ()  # the scenario's extra headers, on every request


@dataclass
class ExploreResult:
    knowledge: Knowledge
    planner: Planner
    stopped: str  # explored | respondents | requests | duration
    respondents: int
    requests: int
    seconds: float
    throttled: int  # 429s met


class VirtualClock:
    """The in-process platform's clock: it moves only by the waits walks would have made."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class Explorer:
    def __init__(self, transport: Transport, target: Target, budget: Budget, *, seed: int, prefix: str,
                 policy: FlowPolicy | None = None, concurrency: int = 1, chase_cap: int = 25,
                 think_scale: float = 1.0, password: str | None = None,
                 sleep: Callable[[float], Awaitable[None]] = anyio.sleep, limiter: Limiter | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        # `clock` is the walks' time (a VirtualClock in process); the budget's duration is real time.
        self.transport = transport
        self.target = target
        self.budget = budget
        self.seed = seed
        self.prefix = prefix
        self.policy = policy or FlowPolicy(max_requests=100)
        self.concurrency = max(1, concurrency)
        self.params: dict[str, Any] = {"think_scale": think_scale, "answers": {}}
        if password is not None:
            self.params["password"] = password
        self.sleep = sleep
        self.limiter = limiter
        self.clock = clock
        self.knowledge = Knowledge()
        self.planner = Planner(self.knowledge, chase_cap=chase_cap)
        self.started = self.requests = self.throttled = 0
        self.stopped = "explored"
        self._changed = anyio.Event()
        self._paused_until = 0.0

    async def run(self) -> ExploreResult:
        self._t0 = time.monotonic()
        async with anyio.create_task_group() as tg:
            for _ in range(self.concurrency):
                tg.start_soon(self._worker)
        return ExploreResult(self.knowledge, self.planner, self.stopped, self.started, self.requests,
                             time.monotonic() - self._t0, self.throttled)

    def _spent(self) -> str | None:
        if self.started >= self.budget.respondents:
            return "respondents"
        if self.requests >= self.budget.requests:
            return "requests"
        if time.monotonic() - self._t0 >= self.budget.duration_s:
            return "duration"
        return None

    async def _worker(self) -> None:
        while True:
            spent = self._spent()
            if spent is not None:
                self.stopped = spent
                return
            plan = self.planner.next()
            if plan is None:
                if not self.planner.in_flight:
                    return
                await self._changed.wait()
                continue
            index = self.started
            self.started += 1
            try:
                walk = await self.walk(index, plan)
            finally:
                self.planner.finished(plan)
            self.knowledge.add(walk)
            changed, self._changed = self._changed, anyio.Event()
            changed.set()

    async def walk(self, index: int, plan: Plan) -> WalkRecord:
        """One exploring respondent: number `index` (its seed and transaction id) answering as `plan`
        says. The map's paths are reproduced by walking them again with this."""
        seed = respondent_seed(self.seed, index)
        txn = transaction_id(self.prefix, index)
        entry = PersonaEntry("explorer", ExplorerPersona, 1, self.target.survey_id, {**self.params, "plan": plan})
        persona = build_persona(entry, index, seed, txn)
        assert isinstance(persona, ExplorerPersona)
        t = self.target
        flow = RespondentFlow(persona, FlowTarget(t.survey_id, t.api_key, t.host, frozenset(), t.api_key_env,
                                                  t.headers), "explorer", self.policy)
        record = WalkRecord(index, seed, txn, plan)
        shown: PageKey | None = None
        began = self.clock()
        probing = False
        request: Request | None = flow.start()
        while request is not None:
            if self.requests >= self.budget.requests:
                flow.cut_off()
                break
            if request.think_s > 0:
                await self.sleep(request.think_s)
            pause = self._paused_until - self.clock()
            if pause > 0:
                await self.sleep(pause)
            if self.limiter is not None:
                await self.limiter.acquire()
            self.requests += 1
            try:
                reply = await self.transport.send(request)
            except TransportError as exc:
                record.steps.append(_step(request, "lost", shown, probing))
                _, request = flow.lost(exc)
                continue
            shown = self._record(record, request, reply, shown, probing)
            events, request = flow.receive(reply)
            for event in events:
                if isinstance(event, Throttled):
                    self.throttled += event.http_status == 429
                    self._paused_until = max(self._paused_until, self.clock() + event.wait_s)
            probing = persona.probing
        result = flow.result
        record.outcome, record.details, record.error = result.outcome, dict(result.details), result.error
        record.redirect_url, record.requests = result.redirect_url, result.requests
        record.seconds = round(self.clock() - began, 3)
        return record

    def _record(self, record: WalkRecord, request: Request, reply: Reply, shown: PageKey | None,
                probing: bool) -> PageKey | None:
        if reply.status == 429 or reply.status in (502, 503, 504):
            return shown  # not processed, or not known to be: the flow sends it again or resumes
        try:
            page = parse_reply(reply.status, reply.body)
        except ServerContractError as exc:
            record.steps.append(_step(request, "contract_error", shown, probing, message=str(exc)))
            return shown
        status = page.status if page.status != "http_error" else f"http_{reply.status}"
        step = _step(request, status, shown, probing, **_details(page))
        if page.questions:
            step.shown = self.knowledge.note_page(page.questions, page.status, record.index)
        record.steps.append(step)
        return step.shown if page.questions else (None if page.status in GATES else shown)


def _step(request: Request, status: str, shown: PageKey | None, probing: bool, **details: Any) -> Step:
    if request.step != "submit-page":
        return Step(kind=request.step, status=status, details=details)
    try:
        form = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        form = None
    gate = isinstance(form, dict) and set(form) <= {"password", "language"} and bool(form)
    if gate or shown is None:
        return Step(kind="gate", status=status, details=details)
    return Step(kind="submit", status=status, page=shown, form=form, probe=probing, details=details)


def _details(page: PageReply) -> dict[str, Any]:
    out: dict[str, Any] = dict(page.details)
    if page.redirect_url:
        out["redirect_url"] = page.redirect_url
        out["redirect_host"] = urlsplit(page.redirect_url).hostname or ""
    if page.validation_errors:
        out["validation_errors"] = [{"question": q, "message": m} for q, m in page.validation_errors]
    if page.languages:
        out["languages"] = list(page.languages)
    if page.error is not None:
        out["error"] = {"name": page.error.name, "message": page.error.message}
    return out
