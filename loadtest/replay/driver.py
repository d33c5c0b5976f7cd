"""Walk recorded respondents again against a target, step by step, and compare each reply.

Theory of operation. Each script is replayed by its own task. A step sends what the recording
sent, with three changes:

- a fresh session: no recorded token is ever sent; a step that carried `x-survey-token` carries
  the newest token *this* replay was given (a take that carried none opens a new session);
- a fresh transaction id: `transaction_id=T` becomes `T-<suffix>` (the platform would otherwise
  answer `already_completed`); the same respondent keeps the same fresh id, so a returner's
  second entry still meets its own completion;
- a redirect step follows the redirectUrl of the *replayed* terminal reply (the recorded one names
  the recorded port and transaction id), and only when it points at the target's host.

Order. `recorded` (the default): a step is sent only once every step recorded before it (the
recording's lines are in the order replies arrived) has been replayed or dropped, so there is one
request in flight at a time and respondents that share state (a quota cell filling up, a returner
meeting its own completion) meet it in the order they did. `free`: up to `concurrency`
respondents at once, each at its own pace, started in the order they first appear.

A step whose reply the run lost is not compared; it is sent only when the recording shows it
reached the platform (script.py), and left out otherwise.

The recorded think time before each request is honoured (times `think_scale`): the platform's
speeder check measures it. After each reply the observation is compared with the recorded one;
the first step with a difference ends that respondent's replay (the next recorded request may no
longer make sense), its remaining steps are dropped, and that step is its divergence. Bounded: a
per-request timeout (the transport's), and `max_requests` per respondent (a longer script
diverges at the cap).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio

from loadtest.core.errors import ServerContractError, TransportError
from loadtest.core.flow import Reply, Request
from loadtest.core.page import parse_reply
from loadtest.replay.diff import (
    Divergence,
    FieldDiff,
    Observation,
    RespondentReplay,
    compare,
    observe,
    transport_failure,
)
from loadtest.replay.script import Script, Step, final_status, fresh_url
from loadtest.results.recording import REDACTED
from loadtest.transport.base import Transport
from loadtest.transport.http import HttpTransport

__all__ = ["ReplayOptions", "Turns", "replay_all", "replay_script"]

_KEY_HEADERS = frozenset({"api-key", "x-api-key"})


@dataclass(frozen=True)
class ReplayOptions:
    target_url: str
    api_key: str | None
    suffix: str  # appended to every transaction id: T -> T-suffix
    concurrency: int = 8
    timeout_s: float = 10.0
    max_requests: int = 200
    think_scale: float = 1.0
    order: str = "recorded"  # or "free"


class Turns:
    """The recorded order of requests: `wait(line)` returns once every earlier line is `done`."""

    def __init__(self, lines: list[int]) -> None:
        self._lines = sorted(lines)
        self._done: set[int] = set()
        self._pos = 0
        self._waiting: dict[int, asyncio.Event] = {}

    async def wait(self, line: int) -> None:
        if self._pos < len(self._lines) and self._lines[self._pos] == line:
            return
        event = self._waiting.setdefault(line, asyncio.Event())
        await event.wait()

    def done(self, lines: list[int] | tuple[int, ...]) -> None:
        self._done.update(lines)
        while self._pos < len(self._lines) and self._lines[self._pos] in self._done:
            self._pos += 1
        if self._pos < len(self._lines):
            event = self._waiting.pop(self._lines[self._pos], None)
            if event is not None:
                event.set()


async def replay_all(scripts: tuple[Script, ...] | list[Script], opts: ReplayOptions,
                     on_done: Callable[[RespondentReplay], None] | None = None) -> list[RespondentReplay]:
    """Replay every script; results in the scripts' order."""
    results: list[RespondentReplay | None] = [None] * len(scripts)
    ordered = opts.order == "recorded"
    turns = Turns([step.line for script in scripts for step in script.steps]) if ordered else None
    # In recorded order every respondent must be under way (an earlier line may be anyone's);
    # one request is in flight at a time all the same.
    workers = len(scripts) if ordered else max(1, min(opts.concurrency, len(scripts)))
    transport = HttpTransport(opts.target_url, timeout_s=opts.timeout_s,
                          max_connections=1 if ordered else max(1, opts.concurrency))
    queue = iter(range(len(scripts)))

    async def worker() -> None:
        for i in queue:
            result = await replay_script(scripts[i], transport, opts, turns)
            results[i] = result
            if on_done is not None:
                on_done(result)

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(workers):
                tg.start_soon(worker)
    finally:
        await transport.aclose()
    return [r for r in results if r is not None]


async def replay_script(script: Script, transport: Transport, opts: ReplayOptions,
                        turns: Turns | None = None) -> RespondentReplay:
    seen: list[tuple[Step, Observation]] = []  # the steps sent and what came back
    try:
        divergence = await _walk(script, transport, opts, turns, seen)
    finally:
        if turns is not None:  # this respondent's remaining steps will not be sent: let others on
            turns.done([step.line for step in script.steps])
    return RespondentReplay(
        index=script.index, persona=script.persona, seed=script.seed, survey_id=script.survey_id,
        steps_recorded=len(script.steps), steps_replayed=len(seen), recorded_outcome=script.outcome,
        replayed_outcome=final_status([o for s, o in seen if s.step != "redirect" and not s.lost]),
        divergence=divergence,
    )


async def _walk(script: Script, transport: Transport, opts: ReplayOptions, turns: Turns | None,
                seen: list[tuple[Step, Observation]]) -> Divergence | None:
    fresh_tid = f"{script.transaction_id}-{opts.suffix}" if script.transaction_id else None
    host = urlsplit(opts.target_url).hostname
    token: str | None = None
    redirect: str | None = None  # the raw redirectUrl of the last replayed reply
    on_page: tuple[int, ...] = ()
    for step in script.steps:
        if not step.send:  # a lost request that never reached the platform in the run
            if turns is not None:
                turns.done((step.line,))
            continue
        if step.n > opts.max_requests:
            return Divergence(step.n, step.step, on_page, "", (FieldDiff(
                "requests", f"{len(script.steps)} requests", f"stopped at the cap of {opts.max_requests}"),))
        if step.think_s > 0 and opts.think_scale > 0:
            await asyncio.sleep(step.think_s * opts.think_scale)
        if step.step == "redirect":
            if redirect is None or urlsplit(redirect).hostname != host:
                return Divergence(step.n, step.step, on_page, "", (FieldDiff(
                    "redirect", f"followed {step.url}", f"not followed: {redirect or 'no redirectUrl'} "
                    "is not on the target's host"),))
            request = _request(step, redirect, token, opts.api_key)
        else:
            request = _request(step, fresh_url(step.url, opts.suffix), token, opts.api_key)
        if turns is not None:
            await turns.wait(step.line)
        try:
            reply: Reply | None = await transport.send(request)
        except TransportError as exc:
            reply, observed = None, transport_failure(type(exc).__name__)
        if turns is not None:
            turns.done((step.line,))
        if reply is not None:
            new_token = reply.headers.get("x-survey-token")
            if new_token and step.step != "redirect":
                token = new_token
            observed = observe(reply.status, reply.body, bool(new_token), step=step.step,
                               transaction_id=fresh_tid, origin=opts.target_url)
            if not step.lost:
                redirect = _redirect_url(reply) if observed.redirect_url else None
        seen.append((step, observed))
        if step.lost:  # sent so the platform is where it was; the run saw no reply to compare
            continue
        fields = compare(step.recorded, observed)
        if fields:
            return Divergence(step.n, step.step, on_page, step.body.decode("utf-8", "replace"), fields)
        if step.recorded.questions:
            on_page = step.recorded.questions
    return None


def _request(step: Step, url: str, token: str | None, api_key: str | None) -> Request:
    headers: list[tuple[str, str]] = []
    had_token = False
    for name, value in step.headers:
        if name == "x-survey-token":
            had_token = True
            continue
        if value == REDACTED:
            if name in _KEY_HEADERS and api_key is not None:
                headers.append((name, api_key))
            continue  # another redacted secret (cookie, authorization): not ours to restore
        headers.append((name, value))
    if had_token and token:
        headers.append(("x-survey-token", token))
    return Request(step=step.step, method=step.method, url=url, headers=tuple(headers), body=step.body,
                   think_s=step.think_s)


def _redirect_url(reply: Reply) -> str | None:
    try:
        return parse_reply(reply.status, reply.body).redirect_url
    except ServerContractError:
        return None
