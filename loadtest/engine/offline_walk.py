"""Walk personas through a survey without touching the target: the answers of ingestion steps.

An ingestion step (engine/ingest.py) needs what a persona would have answered, page by page,
with display logic deciding which pages appear. Rather than re-implement the page logic, the
persona's own RespondentFlow is walked against the reference platform in this process
(platform/in_process.py: its own dispatch, on a throwaway in-memory database): the pages,
formParam rules and display logic of the scenario's survey file, as the embedded platform
serves them, and no socket. The scenario's survey file is the model of the target's survey, as
it is for the live run.

What only the target may decide is left to it: quota cells never fill here (the target counts
them), the local clock moves a minute per call (no walk is a speeder here, and ingestion sends
no timeTaken), redirects are never followed, and no walk shares state with another but the
transaction ids the platform remembers (unique per walk).

A walk's respondent is seeded from (scenario seed, "ingest", step, index), and its transaction
id is `{run prefix}-ing{step}-{index}` (the run's own prefix, as its live respondents have, so
two runs never collide on a target that keeps state), or `ing{seed}-{step}-{index}` without one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from loadtest.core.errors import Blame, ServerContractError
from loadtest.core.flow import FlowPolicy, FlowTarget, Reply, Request, RespondentFlow
from loadtest.core.page import Question, parse_reply
from loadtest.core.population import PersonaEntry, build_persona
from loadtest.platform.in_process import HOST, InProcessPlatform
from loadtest.survey.model import Survey

__all__ = ["OfflineWalker", "Walk", "ingest_seed", "ingest_transaction_id"]

DEFAULT_POLICY = FlowPolicy()


def ingest_seed(scenario_seed: int, step: int, index: int) -> int:
    return random.Random(f"{scenario_seed}:ingest:{step}:{index}").getrandbits(63)


def ingest_transaction_id(scenario_seed: int, step: int, index: int, prefix: str | None = None) -> str:
    return f"{prefix}-ing{step}-{index}" if prefix else f"ing{scenario_seed}-{step}-{index}"


@dataclass(frozen=True, slots=True)
class Walk:
    index: int
    transaction_id: str
    outcome: str | None  # the local platform's last status, "abandoned", or "failed"
    language: str | None  # the language the persona chose (None: the survey's only one)
    questions: tuple[Question, ...]  # every question shown, in the order first shown
    answers: dict[str, object]  # the last form submitted for each page on the final path
    error: str | None = None  # why the walk failed (then nothing is sent for it)


class OfflineWalker:
    """Walks respondents of the given surveys, one after another, on an in-memory platform."""

    def __init__(self, surveys: Sequence[Survey], policy: FlowPolicy = DEFAULT_POLICY) -> None:
        self._now = time.time()
        self._platform = InProcessPlatform(surveys, clock=self._tick, quotas_fill=False)
        self.policy = policy

    def close(self) -> None:
        self._platform.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tick(self) -> float:
        self._now += 60.0  # a minute a call: no walk is ever a speeder here
        return self._now

    def walk(self, entry: PersonaEntry, survey_id: int, scenario_seed: int, step: int, index: int,
             transaction_prefix: str | None = None) -> Walk:
        txn = ingest_transaction_id(scenario_seed, step, index, transaction_prefix)
        persona = build_persona(entry, index, ingest_seed(scenario_seed, step, index), txn)
        target = FlowTarget(survey_id, api_key=self._platform.api_key, host=HOST)  # follows no redirect
        flow = RespondentFlow(persona, target, entry.name, self.policy)
        shown: dict[int, Question] = {}
        request: Request | None = flow.start()
        while request is not None:
            try:
                reply = self._platform.send_sync(request)
            except Exception as exc:  # a walk that cannot go on is reported, never a crash of the run
                flow.fail(exc, blame=Blame.SCRIPT)
                break
            _note_questions(reply, shown)
            _, request = flow.receive(reply)
        result = flow.result
        error = None
        if result.error is not None:
            error = f"{result.error['error']}: {result.error['message']}"
        return Walk(index=index, transaction_id=txn, outcome=result.outcome, language=persona.r.language,
                    questions=tuple(shown.values()), answers=dict(result.answers), error=error)


def _note_questions(reply: Reply, shown: dict[int, Question]) -> None:
    try:
        page = parse_reply(reply.status, reply.body)
    except ServerContractError:
        return  # the flow reports it
    for q in page.questions:
        shown.setdefault(q.id, q)
