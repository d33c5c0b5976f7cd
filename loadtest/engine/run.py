"""The anyio engine: drives respondents through their flows under a load model.

Load models, each following the scenario's plan (core/stages.py; a flat form is one stage):
- closed: workers, each walking one respondent after another, until `respondents` have started
  or the plan has ended. Worker j walks while the plan's in-flight target is at least j + 0.5; on
  a ramp down it finishes its respondent first, then sleeps until the plan wants it again.
- open: respondents arrive on the plan's schedule (uniform, or seeded poisson, following the
  rate as it ramps), whatever the target's speed; an arrival that finds `max_in_flight`
  respondents already walking is dropped and counted. Latency is also measured from each
  request's intended start (coordinated omission).

Every loop is bounded: by count, by duration, by a hard deadline after it, and per respondent by
the flow's request cap (FlowPolicy). A respondent cut off by the hard deadline or a stop ends with
outcome `incomplete`; none is ever silently missing from the counts.

The engine is written against the Transport protocol: by default the HTTP client for
`target_url`, or any transport given (the in-process platform, a test's scripted replies).
While the target answers 429, every respondent of the run pauses until the Retry-After has
passed, so a closed model does not hammer a target that asked for less; arrivals of the open
model keep their schedule, and the intended-start latency shows what the pause cost.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import math
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio

from loadtest.control.limiter import Limiter
from loadtest.core.errors import TransportError
from loadtest.core.flow import (
    FAULT_HEADER,
    FlowPolicy,
    FlowTarget,
    Reply,
    Request,
    RespondentFlow,
    RespondentResult,
    Throttled,
)
from loadtest.core.population import Population
from loadtest.core.stages import EPS, arrival_times, worker_level
from loadtest.results.metrics import Metrics
from loadtest.scenario.file import LoadModel
from loadtest.transport.base import Transport
from loadtest.transport.http import HttpTransport

__all__ = ["EngineRun", "RequestObserver", "ResultSink"]

RequestObserver = Callable[[RespondentResult, Request, "Reply | None", "BaseException | None"], None]
ResultSink = Callable[[RespondentResult, dict[str, float]], None]
HARD_DEADLINE_GRACE_S = 120.0


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():  # cancelled with its respondent
        future.set_result(None)


# The context think timers run _done in: it reads no context variable, and a timer given none
# copies the current context (64 bytes in each thinking respondent).
_TIMER_CONTEXT = contextvars.Context()


class _Walk:
    """One respondent between its requests: what its task, or its think timer, carries on."""

    __slots__ = ("began", "flow", "intended", "intended_start", "request", "think_total", "timer")

    def __init__(self, flow: RespondentFlow, request: Request | None, began: float, intended_start: float) -> None:
        self.flow = flow
        self.request = request  # the next one to send, once its think time is over
        self.began = began
        self.intended_start = intended_start
        self.intended = intended_start  # when the next request should go (latency from intended start)
        self.think_total = 0.0
        self.timer: asyncio.TimerHandle | None = None  # while parked


@dataclass
class EngineRun:
    population: Population
    load: LoadModel
    target_url: str
    api_key: str | None
    follow_redirects: tuple[str, ...] = ()
    request_timeout_s: float = 10.0
    policy: FlowPolicy = field(default_factory=FlowPolicy)
    api_key_env: str = "LOADTEST_API_KEY"
    transport: Transport | None = None  # default: the HTTP client for target_url (closed after the run)
    headers: tuple[tuple[str, str], ...] = ()  # the scenario's extra headers, on every respondent request
    ssl_context: ssl.SSLContext | None = None  # one for every connection (default: the system's CAs)
    on_result: ResultSink | None = None
    on_request: RequestObserver | None = None
    metrics: Metrics = field(default_factory=Metrics)
    stop: anyio.Event | None = None  # set it to stop starting respondents; in-flight ones finish
    limiter: Limiter | None = None  # the "survey" limit: every respondent-flow request waits for a permit
    started: int = 0
    finished: int = 0
    elapsed_s: float = 0.0
    platform_faults: dict[str, int] | None = None  # set by the run after it, when the scenario injects faults

    async def run(self) -> Metrics:
        self.stop = self.stop or anyio.Event()
        host = urlsplit(self.target_url).hostname or ""
        follow = frozenset(host if h == "target" else h for h in self.follow_redirects)
        self._target = (host, follow)
        self._targets: dict[int, FlowTarget] = {}
        own = self.transport is None
        self._transport: Transport = self.transport or HttpTransport(
            self.target_url, timeout_s=self.request_timeout_s, ssl_context=self.ssl_context)
        loop = asyncio.get_running_loop()
        self._t0 = loop.time()
        self._paused_until = 0.0  # loop time before which no respondent sends (the target's 429s)
        self._plan = self.load.plan()
        self.metrics.track_stages(self._plan)
        budget = self.load.duration_s + HARD_DEADLINE_GRACE_S
        try:
            with anyio.move_on_after(budget):
                if self.load.kind == "closed":
                    await self._closed()
                else:
                    await self._open()
        finally:
            if own:
                await self._transport.aclose()
            self.elapsed_s = loop.time() - self._t0
        return self.metrics

    # --- load models -------------------------------------------------------------------------
    async def _closed(self) -> None:
        indices = itertools.count()
        plan = self._plan
        deadline = self._t0 + plan.duration_s
        limit = self.load.respondents
        loop = asyncio.get_running_loop()
        stop = self.stop
        assert stop is not None

        async def worker(j: int) -> None:
            level = worker_level(j)
            while not stop.is_set():
                now = loop.time()
                if now >= deadline:
                    return
                t = now - self._t0
                if plan.target_at(t) < level - EPS:  # not wanted now: sleep until the plan wants it
                    wake = plan.first_time_at_least(level, t)
                    if wake is None or wake >= plan.duration_s:
                        return
                    if wake > t:
                        with anyio.move_on_after(wake - t):
                            await stop.wait()
                        continue
                i = next(indices)
                if limit is not None and i >= limit:
                    return
                await self._respondent(i, now)

        async with anyio.create_task_group() as tg:
            for j in range(math.floor(plan.peak + 0.5)):  # the peak's workers (the target rounded)
                tg.start_soon(worker, j)

    async def _open(self) -> None:
        # A respondent is a task only while it is doing something (sending, waiting for a permit
        # or for the target's pause); while it thinks it is a _Walk parked on one timer. Most of
        # an open model's respondents are thinking, and a task (its coroutine frame, the Task,
        # its entry in asyncio's task set, the future it waits on) is ~1.2 KB a respondent, the
        # parked walk ~0.3 KB (bench/respondent_memory.py). The duties of a task group are kept:
        # a respondent that raises stops the run and the error is raised here; a cancellation
        # (stop, hard deadline) reaches every respondent, parked or not, and none is left.
        loop = asyncio.get_running_loop()
        assert self.stop is not None
        walking: set[asyncio.Task[None]] = set()
        parked: set[_Walk] = set()
        failed: list[BaseException] = []
        settled = asyncio.Event()
        # A resumed respondent's task copies this, as one started from the arrival loop copies its
        # context (the timer itself runs in it only to create that task).
        run_context = contextvars.copy_context()

        def on_done(task: asyncio.Task[None]) -> None:
            walking.discard(task)
            if not task.cancelled() and task.exception() is not None:
                failed.append(task.exception())  # type: ignore[arg-type]
                settled.set()
            elif not walking and not parked:
                settled.set()

        def go(walk: _Walk) -> None:
            task = loop.create_task(self._legs(walk, park))
            walking.add(task)
            task.add_done_callback(on_done)

        def resume(walk: _Walk) -> None:
            parked.discard(walk)
            walk.timer = None
            go(walk)

        def park(walk: _Walk, think_s: float) -> None:
            walk.timer = loop.call_later(think_s, resume, walk, context=run_context)
            parked.add(walk)

        try:
            for arrival in arrival_times(self._plan, self.load.arrivals, self.population.seed):
                intended = self._t0 + arrival.at_s
                delay = intended - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self.stop.is_set() or failed:
                    break
                if self.started - self.finished >= self.load.max_in_flight:
                    self.metrics.dropped(arrival.stage)
                    continue
                walk = self._begin(arrival.index, intended)
                if walk.request is not None and walk.request.think_s > 0:
                    self._think(walk)
                    park(walk, walk.request.think_s)
                else:
                    go(walk)
            while (walking or parked) and not failed:
                settled.clear()
                await settled.wait()
        finally:
            for walk in list(parked):  # only a failure or a cancellation leaves respondents parked
                assert walk.timer is not None
                walk.timer.cancel()
                parked.discard(walk)
                try:
                    self._end(walk)
                except Exception as exc:  # the result sink failing again: every other one still ends
                    failed.append(exc)
            if walking:
                for task in walking:
                    task.cancel()
                with anyio.CancelScope(shield=True):
                    await asyncio.wait(set(walking))
        if failed:
            raise failed[0]

    # --- one respondent ----------------------------------------------------------------------------
    def _begin(self, index: int, intended_start: float) -> _Walk:
        entry, persona = self.population.respondent(index)
        target = self._targets.get(entry.survey_id)
        if target is None:  # one per survey: every respondent of it sends the same head of headers
            host, follow = self._target
            target = self._targets[entry.survey_id] = FlowTarget(entry.survey_id, self.api_key, host, follow,
                                                                 self.api_key_env, self.headers)
        flow = RespondentFlow(persona, target, entry.name, self.policy)
        self.started += 1
        began = asyncio.get_running_loop().time()
        return _Walk(flow, flow.start(), began, intended_start)

    @staticmethod
    def _think(walk: _Walk) -> None:
        assert walk.request is not None
        walk.think_total += walk.request.think_s

    async def _respondent(self, index: int, intended_start: float) -> None:
        """One respondent from its first request to its end, as one task (the closed model's)."""
        walk = self._begin(index, intended_start)
        loop = asyncio.get_running_loop()
        try:
            while walk.request is not None:
                if walk.request.think_s > 0:
                    self._think(walk)
                    # asyncio.sleep without its coroutine frame (~250 bytes a thinking respondent)
                    thought = loop.create_future()
                    timer = loop.call_later(walk.request.think_s, _done, thought, context=_TIMER_CONTEXT)
                    try:
                        await thought
                    finally:
                        timer.cancel()
                await self._step(walk)
        finally:
            self._end(walk)

    async def _legs(self, walk: _Walk, park: Callable[[_Walk, float], None]) -> None:
        """Send this respondent's requests until the next one waits for a think time (then it is
        parked: `park`) or there is none (then it ends)."""
        try:
            if walk.request is not None:
                await self._step(walk)
            while walk.request is not None and walk.request.think_s <= 0:
                await self._step(walk)
        except BaseException:
            self._end(walk)
            raise
        if walk.request is None:
            self._end(walk)
            return
        self._think(walk)
        park(walk, walk.request.think_s)

    async def _step(self, walk: _Walk) -> None:
        """Send walk.request (its think time already waited) and take the flow's next request."""
        request = walk.request
        assert request is not None
        flow = walk.flow
        loop = asyncio.get_running_loop()
        pause = self._paused_until - loop.time()
        if pause > 0:  # the target asked every client to wait
            await asyncio.sleep(pause)
        if self.limiter is not None:
            await self.limiter.acquire()
        try:
            reply = await self._transport.send(request)
        except TransportError as exc:
            now = loop.time()
            self.metrics.request(request.step, 0.0, now - walk.intended, 0, now - self._t0)
            self._observe(flow.result, request, None, exc)
            _, walk.request = flow.lost(exc)  # a safe recovery, or the end of this respondent
            walk.intended = now + (walk.request.think_s if walk.request is not None else 0.0)
            return
        now = loop.time()
        self.metrics.request(request.step, reply.elapsed_s, now - walk.intended, reply.status, now - self._t0,
                             injected=FAULT_HEADER in reply.headers)
        self._observe(flow.result, request, reply, None)
        # Nothing of the reply or its events is kept through the think time that follows.
        events, walk.request = flow.receive(reply)
        for event in events:
            if isinstance(event, Throttled):
                self._paused_until = max(self._paused_until, now + event.wait_s)
        walk.intended = now + (walk.request.think_s if walk.request is not None else 0.0)

    def _end(self, walk: _Walk) -> None:
        flow = walk.flow
        flow.cut_off()  # a no-op unless a stop or the hard deadline cut it short
        result = flow.result
        self.finished += 1
        start_s = round(walk.began - self._t0, 4)
        # The duration runs to the end rounded as the start is: start + duration is then never past
        # the next respondent's start (a closed-model worker starts it microseconds later).
        end_s = round(asyncio.get_running_loop().time() - self._t0, 4)
        timings = {"start_s": start_s, "late_s": round(max(0.0, walk.began - walk.intended_start), 4),
                   "duration_s": round(end_s - start_s, 4), "think_s": round(walk.think_total, 4)}
        self.metrics.respondent(result, timings)
        if self.on_result is not None:
            self.on_result(result, timings)

    def _observe(self, result: RespondentResult, request: Request, reply: Reply | None,
                 error: BaseException | None) -> None:
        if self.on_request is not None:
            self.on_request(result, request, reply, error)

    def progress(self) -> dict[str, Any]:
        m = self.metrics
        return {"started": self.started, "finished": self.finished, "requests": m.total_requests,
                "failed": m.failed_requests, "outcomes": dict(m.outcomes), "dropped": m.dropped_arrivals}
