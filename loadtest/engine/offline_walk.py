"""Walk personas through a survey without touching the target: the answers of ingestion steps.

An ingestion step (engine/ingest.py) needs what a persona would have answered, page by page,
with display logic deciding which pages appear. Rather than re-implement the page logic, the
persona's own RespondentFlow is walked against the reference platform's pure engine
(platform/questionpro.RespondentApi) in this process, on a throwaway in-memory database: the
pages, formParam rules and display logic of the scenario's survey file, as the embedded platform
serves them, and no socket. The scenario's survey file is the model of the target's survey, as
it is for the live run.

What only the target may decide is left to it: quota cells never fill here (the target counts
them), the local clock moves a minute per call (no walk is a speeder here, and ingestion sends
no timeTaken), redirects are never followed, and no walk shares state with another but the
transaction ids the platform remembers (unique per walk).

A walk's respondent is seeded from (scenario seed, "ingest", step, index), and its transaction
id is `ing{seed}-{step}-{index}`: reproducible, and never one of the live run's `lt{seed}-...`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from loadtest.core.errors import ScriptError, ServerContractError
from loadtest.core.flow import FlowTarget, Reply, Request, RespondentFlow
from loadtest.core.page import Question, parse_reply
from loadtest.core.population import PersonaEntry, build_persona
from loadtest.platform.questionpro.pages import API
from loadtest.platform.questionpro.respondent_api import RespondentApi
from loadtest.platform.storage import Store
from loadtest.survey.model import Survey

__all__ = ["OfflineWalker", "Walk", "ingest_seed", "ingest_transaction_id"]

NEVER_FULL = 1 << 62  # a quota limit no walk reaches
LOCAL_BASE = "http://ingest.invalid"  # what the local platform writes into redirect URLs
MAX_REQUESTS = 200  # per walk: a persona going round in circles ends, named


def ingest_seed(scenario_seed: int, step: int, index: int) -> int:
    return random.Random(f"{scenario_seed}:ingest:{step}:{index}").getrandbits(63)


def ingest_transaction_id(scenario_seed: int, step: int, index: int) -> str:
    return f"ing{scenario_seed}-{step}-{index}"


@dataclass(frozen=True, slots=True)
class Walk:
    index: int
    transaction_id: str
    outcome: str | None  # the local platform's last status, "abandoned", or "failed"
    language: str | None  # the language the persona chose (None: the survey's only one)
    questions: tuple[Question, ...]  # every question shown, in the order first shown
    answers: dict[str, Any]  # the last form submitted for each page on the final path
    error: str | None = None  # why the walk failed (then nothing is sent for it)


class OfflineWalker:
    """Walks respondents of the given surveys, one after another, on an in-memory platform."""

    def __init__(self, surveys: Sequence[Survey], max_requests: int = MAX_REQUESTS) -> None:
        self._now = time.time()
        self._store = Store(":memory:")
        self._api = RespondentApi({s.id: s for s in surveys}, self._store, clock=self._tick)
        for limits in self._api.quota_limits.values():
            for quota_id in limits:
                limits[quota_id] = NEVER_FULL
        self.max_requests = max_requests

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tick(self) -> float:
        self._now += 60.0
        return self._now

    def walk(self, entry: PersonaEntry, survey_id: int, scenario_seed: int, step: int, index: int) -> Walk:
        txn = ingest_transaction_id(scenario_seed, step, index)
        persona = build_persona(entry, index, ingest_seed(scenario_seed, step, index), txn)
        flow = RespondentFlow(persona, FlowTarget(survey_id, api_key=None, host="ingest.invalid"), entry.name)
        shown: dict[int, Question] = {}
        request: Request | None = flow.start()
        while request is not None:
            if flow.result.requests > self.max_requests:
                flow.fail(ScriptError(f"more than {self.max_requests} requests; "
                                      "is the persona going round in circles?"))
                break
            try:
                reply = self._send(request)
            except Exception as exc:  # a walk that cannot go on is reported, never a crash of the run
                flow.fail(exc, blame="script")
                break
            _note_questions(reply, shown)
            _, request = flow.receive(reply)
        result = flow.result
        error = None
        if result.error is not None:
            error = f"{result.error['error']}: {result.error['message']}"
        return Walk(index=index, transaction_id=txn, outcome=result.outcome, language=persona.r.language,
                    questions=tuple(shown.values()), answers=dict(result.answers), error=error)

    def _send(self, request: Request) -> Reply:
        """The request, answered by the in-process platform as its HTTP layer would."""
        parts = urlsplit(request.url)
        survey_raw, _, step = parts.path[len(API) + 1:].partition("/")
        headers = dict(request.headers)
        token = headers.get("x-survey-token")
        survey_id = int(survey_raw)
        if step == "take":
            answer = self._api.take(survey_id, token, dict(parse_qsl(parts.query)), LOCAL_BASE)
        elif step == "submit-page":
            answer = self._api.submit(survey_id, token, request.body, LOCAL_BASE)
        elif step == "previous-page":
            answer = self._api.previous(survey_id, token, LOCAL_BASE)
        else:  # no redirect is followed (FlowTarget allows no host), so nothing else is asked
            raise ScriptError(f"the offline walk cannot answer {request.method} {request.url}")
        return Reply(status=answer.status, headers={"x-survey-token": answer.token} if answer.token else {},
                     body=answer.body)


def _note_questions(reply: Reply, shown: dict[int, Question]) -> None:
    try:
        page = parse_reply(reply.status, reply.body)
    except ServerContractError:
        return  # the flow reports it
    for q in page.questions:
        shown.setdefault(q.id, q)
