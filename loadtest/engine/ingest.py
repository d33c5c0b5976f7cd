"""Ingestion steps (`[[ingest]]`): responses and records created through the target's bulk APIs
before the live respondents start, rate-limited and reported like any step.

    api = "responses"        one POST /a/api/v2/surveys/{id}/responses per response (seed 002),
                             `api-key` header, the walk's answers as a responseSet
                             (core/response_set.py) and its transaction id as externalReference
    api = "respondent_data"  POST /v1/surveys/{id}/respondents/data (seed 004), `batch` records a
                             request, bearer token; respid is left to the platform

Every item's answers come from a walk of the step's persona on an in-process copy of the survey
(offline_walk.py), made before the step's first request: generation costs milliseconds of CPU
per walk, which would otherwise stall the event loop while other requests are being timed.
Requests go through the engine's Transport (the same client, timeouts and connection pool as
respondents; it takes any method, headers and body), `concurrency` at a time, each waiting for a
permit of the step's `limit`. Each is recorded in the run's Metrics under `ingest-responses` /
`ingest-data`; those seconds are before the live run's start, so they are negative in
requests.csv and the report's charts.

A step's report (summary.json `ingest`, one entry per table): items wanted (`count`),
`created`, `refused` (with the HTTP status and message of the first refusal), `not_generated`
(walks that failed, with the first reason), `not_sent` (left when the run was stopped), the HTTP
statuses seen and, for responses, the platform's responseStatus counts. `passed` only when every
item was created: a refusal fails the run (thresholds.py, `ingest`).
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson

from loadtest.control.limiter import Limiters
from loadtest.control.readback import data_token
from loadtest.core.errors import TransportError
from loadtest.core.flow import Reply, Request
from loadtest.core.page import excerpt
from loadtest.core.response_set import data_record, responses_body
from loadtest.engine.offline_walk import OfflineWalker, Walk
from loadtest.results.metrics import Metrics
from loadtest.scenario.file import Scenario
from loadtest.scenario.ingest import IngestStep
from loadtest.transport.base import Transport
from loadtest.transport.http import HttpTransport

__all__ = ["Ingestion", "ingest_token"]

RESPONSES_PATH = "/a/api/v2/surveys/{survey}/responses"
DATA_PATH = "/v1/surveys/{survey}/respondents/data"


def ingest_token(sc: Scenario) -> str:
    """The data API token the respondent_data steps need ("" when there are none): readback.py's
    rule, so a run and its read-back use one token."""
    if not any(step.api == "respondent_data" for step in sc.ingest):
        return ""
    return data_token(sc, "the [[ingest]] respondent_data steps")


@dataclass
class _Tally:
    """One step's figures, kept up to date as replies come in (so a stopped run still reports)."""

    step: IngestStep
    created: int = 0
    refused: int = 0
    not_generated: int = 0
    not_sent: int = 0
    requests: int = 0
    http_statuses: Counter[int] = field(default_factory=Counter)
    response_status: Counter[str] = field(default_factory=Counter)
    walks: Counter[str] = field(default_factory=Counter)
    first_error: dict[str, Any] | None = None
    first_walk_error: str | None = None
    duration_s: float = 0.0

    def refuse(self, items: int, status: int, message: str, where: str) -> None:
        self.refused += items
        if self.first_error is None:
            self.first_error = {"status": status, "message": message, "item": where}

    def report(self) -> dict[str, Any]:
        s = self.step
        out: dict[str, Any] = {
            "api": s.api, "step": s.step_name, "survey_id": s.survey_id, "persona": s.persona, "count": s.count,
            "created": self.created, "refused": self.refused, "not_generated": self.not_generated,
            "not_sent": self.not_sent, "requests": self.requests,
            "http_statuses": {str(k): v for k, v in sorted(self.http_statuses.items())},
            "walks": dict(sorted(self.walks.items())), "first_error": self.first_error,
            "first_walk_error": self.first_walk_error, "duration_s": round(self.duration_s, 3),
            "passed": self.created == s.count,
        }
        if s.api == "responses":
            out["response_status"] = dict(sorted(self.response_status.items()))
        else:
            out["batch"] = s.batch
        return out


@dataclass(frozen=True, slots=True)
class _Item:
    request: Request
    items: int  # responses or records it carries
    where: str  # how a refusal names it: a transaction id, or a range of records


class Ingestion:
    """Runs a scenario's [[ingest]] steps in order against one target; `report()` for the summary."""

    def __init__(self, sc: Scenario, api_key: str, data_token: str, limiters: Limiters) -> None:
        self.sc, self.api_key, self.data_token, self.limiters = sc, api_key, data_token, limiters
        self.tallies = [_Tally(step) for step in sc.ingest]

    def report(self) -> list[dict[str, Any]]:
        return [t.report() for t in self.tallies]

    async def run(self, url: str, metrics: Metrics, stop: anyio.Event | None = None) -> None:
        """Every step, one after the other; requests recorded into `metrics` (shifted to before
        the live run). A set `stop` ends the step's sending: what is left counts as not_sent."""
        own = Metrics()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        transport = HttpTransport(url, timeout_s=self.sc.request_timeout_s)
        data_base = (self.sc.data_check.target or url).rstrip("/")
        try:
            with OfflineWalker(self.sc.surveys) as walker:
                for number, tally in enumerate(self.tallies):
                    if stop is not None and stop.is_set():  # stopped (Ctrl-C): not even walked
                        tally.not_sent = tally.step.count
                        continue
                    started = loop.time()
                    try:
                        items = self._items(number, tally, walker, url.rstrip("/"), data_base)
                        await self._send_all(tally, items, transport, own, t0, stop)
                    finally:
                        tally.duration_s = loop.time() - started
        finally:
            await transport.aclose()
            # Seconds counted from the ingestion's start, moved to end just before the live run's
            # second 0: requests.csv and the charts show them first, apart from the live steps.
            metrics.absorb(own.export(), timeline_base=math.ceil(loop.time() - t0))

    # --- what to send ------------------------------------------------------------------------
    def _items(self, number: int, tally: _Tally, walker: OfflineWalker, base: str, data_base: str) -> list[_Item]:
        step = tally.step
        entry = next(p for p in self.sc.personas if p.name == step.persona)
        payloads: list[tuple[str, dict[str, Any]]] = []  # (transaction id, response body or record)
        for index in range(step.count):
            walk = walker.walk(entry, step.survey_id, self.sc.seed, number, index, self.sc.transaction_prefix)
            tally.walks[walk.outcome or "incomplete"] += 1
            try:
                if walk.error is not None:
                    raise ValueError(walk.error)
                payloads.append((walk.transaction_id, _payload(step, walk)))
            except ValueError as exc:  # a failed walk, or answers no payload can carry: nothing is sent
                tally.not_generated += 1
                if tally.first_walk_error is None:
                    tally.first_walk_error = f"{walk.transaction_id} (persona {step.persona}): {exc}"
        if step.api == "responses":
            url = base + RESPONSES_PATH.format(survey=step.survey_id)
            headers = (("accept", "application/json"), ("content-type", "application/json"),
                       ("api-key", self.api_key))
            return [_Item(Request(step.step_name, "POST", url, headers, orjson.dumps(body)), 1, txn)
                    for txn, body in payloads]
        url = data_base + DATA_PATH.format(survey=step.survey_id)
        headers = (("accept", "application/json"), ("content-type", "application/json"),
                   ("authorization", f"Bearer {self.data_token}"))
        out = []
        for i in range(0, len(payloads), step.batch):
            batch = payloads[i:i + step.batch]
            body = orjson.dumps({"data": [record for _, record in batch]})
            out.append(_Item(Request(step.step_name, "POST", url, headers, body), len(batch),
                             f"records {batch[0][0]}..{batch[-1][0]}"))
        return out

    # --- sending -------------------------------------------------------------------------------
    async def _send_all(self, tally: _Tally, items: list[_Item], transport: Transport, metrics: Metrics,
                        t0: float, stop: anyio.Event | None) -> None:
        limiter = self.limiters.get(tally.step.limit) if tally.step.limit else None
        queue: Iterator[_Item] = iter(items)
        loop = asyncio.get_running_loop()

        async def worker() -> None:
            for item in queue:  # shared: each item is taken by exactly one worker
                if stop is not None and stop.is_set():
                    tally.not_sent += item.items
                    continue
                intended = loop.time()  # a wait for the limit's permit counts in corrected time
                if limiter is not None:
                    await limiter.acquire()
                tally.requests += 1
                try:
                    reply = await transport.send(item.request)
                except TransportError as exc:
                    now = loop.time()
                    metrics.request(item.request.step, 0.0, now - intended, 0, now - t0)
                    tally.http_statuses[0] += 1
                    tally.refuse(item.items, 0, str(exc), item.where)
                    continue
                now = loop.time()
                metrics.request(item.request.step, reply.elapsed_s, now - intended, reply.status, now - t0)
                tally.http_statuses[reply.status] += 1
                _judge(tally, item, reply)

        async with anyio.create_task_group() as tg:
            for _ in range(min(tally.step.concurrency, len(items))):
                tg.start_soon(worker)


def _payload(step: IngestStep, walk: Walk) -> dict[str, Any]:
    if step.api == "responses":
        return responses_body(walk.questions, walk.answers, walk.transaction_id, walk.language)
    return data_record(walk.answers, walk.transaction_id, walk.outcome, walk.language)


def _judge(tally: _Tally, item: _Item, reply: Reply) -> None:
    try:
        body = orjson.loads(reply.body) if reply.body else None
    except orjson.JSONDecodeError:
        body = None
    if not 200 <= reply.status < 300:
        tally.refuse(item.items, reply.status, _error_message(body, reply.body), item.where)
        return
    if tally.step.api == "responses":
        response = body.get("response") if isinstance(body, dict) else None
        status = response.get("responseStatus") if isinstance(response, dict) else None
        tally.response_status[str(status)] += 1
        tally.created += 1
        return
    inserted = body.get("insertedRecords") if isinstance(body, dict) else None
    inserted = inserted if isinstance(inserted, int) and not isinstance(inserted, bool) else 0
    tally.created += inserted
    if inserted < item.items:  # records the platform skipped are listed in validationMessages
        tally.refuse(item.items - inserted, reply.status, _error_message(body, reply.body), item.where)


def _error_message(body: Any, raw: bytes) -> str:
    """The first thing an error body says: the QuestionPro envelope's message, or Forsta's
    message and its first row's first validation message."""
    if isinstance(body, dict):
        response = body.get("response")
        error = response.get("error") if isinstance(response, dict) else body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        message = str(body.get("message") or "")
        rows = (body.get("validationMessages") or {}).get("rowResults") if isinstance(
            body.get("validationMessages"), dict) else None
        if rows:
            first = (rows[0].get("messages") or [{}])[0]
            detail = f"row {rows[0].get('rowNumber')}: {', '.join(first.get('fields') or [])}: {first.get('message')}"
            return f"{message} ({detail})" if message else detail
        if message:
            return message
    return excerpt(raw) or "(empty body)"
