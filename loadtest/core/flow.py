"""RespondentFlow: one respondent's walk through the respondent API, as a sans-IO state machine.

Theory of operation. The driver asks the flow for a request, performs it, and feeds the reply
back; the flow answers with events and the next request (None when the respondent is done).
No sockets, no clocks: think time travels on the request as `think_s` for the driver to honour.

    state      input                              -> next state   (request sent)
    NEW        start()                            -> WAITING      take
    WAITING    reply, persona moves Take/Submit/Back -> WAITING   take / submit-page / previous-page
    WAITING    reply, terminal, redirect allowed  -> FOLLOWING    GET redirectUrl (allow-listed host)
    WAITING    reply, terminal / Abandon          -> DONE
    WAITING    reply, no rule, not terminal       -> DONE         (PersonaStuck: script failure)
    WAITING    reply breaks the API contract      -> DONE         (ServerContractError)
    FOLLOWING  any reply                          -> DONE
    WAITING    lost(error), no session yet        -> WAITING      take again (nothing to repeat twice)
    WAITING    lost(error), a session             -> WAITING      take with the token ("resume")
    any        lost(error), recoveries used up    -> DONE         (error typed by blame)
    any        fail(error) (transport, timeout)   -> DONE         (error typed by blame)

Recovering from a lost reply. A request that got no complete reply (reset, timeout, a cut body)
may or may not have been processed, so it is never repeated blind: a submit repeated after the
platform took it would answer the next page with this page's form. Only the first take, before
any session exists, is sent again (at worst the platform keeps a session that never got its
token, which counts nowhere). Otherwise the flow asks where the respondent is: a take with the
token ("resume", seed 000's session rebuild). A reply the platform tags as an injected fault
(`x-loadtest-fault`: a 5xx or 429 it answered instead, or a reply it spoiled after doing the
work: garbled, truncated, token missing or wrong) is treated as lost the same way, its token never
adopted, and listed under `faults`. The same page back means the lost submit never
landed, and the persona answers it again (reported as `resubmitted`; a lost previous-page that
never landed, `back_again`); any other page means it did, and the walk goes on from there
(`resumed`). Each recovery is in the result.

Every request carries the latest `x-survey-token` the server sent (seed 000: echo it verbatim).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from loadtest.core.errors import InjectedFault, LoadtestError, PersonaStuck, ServerContractError
from loadtest.core.page import HTTP_ERROR, TERMINAL, PageReply, excerpt, parse_reply
from loadtest.core.persona import Abandon, Back, FailedCheck, Move, Persona, Submit, Take

__all__ = [
    "FAULT_HEADER",
    "CheckFailed",
    "Event",
    "FlowTarget",
    "OutcomeReached",
    "PageShown",
    "RedirectFollowed",
    "Reply",
    "Request",
    "RespondentFailed",
    "RespondentFlow",
    "RespondentResult",
]

API = "/a/api/v2/surveys"
FAULT_HEADER = "x-loadtest-fault"  # the reference platform's tag on a fault it injected


@dataclass(frozen=True, slots=True)
class Request:
    step: str  # take | submit-page | previous-page | redirect: what reports name it by
    method: str
    url: str  # a path on the target, or an absolute URL (redirects)
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    think_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    elapsed_s: float = 0.0  # service time: request written -> reply complete (no connect, no queueing)


@dataclass(frozen=True, slots=True)
class FlowTarget:
    survey_id: int
    api_key: str | None
    host: str = "127.0.0.1"  # the target's host, for deciding which redirects to follow
    follow_hosts: frozenset[str] = frozenset()  # redirectUrl hosts we may send a request to


# --- events ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PageShown:
    step: str
    status: str
    questions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OutcomeReached:
    outcome: str
    expected: bool
    redirect_url: str | None


@dataclass(frozen=True, slots=True)
class CheckFailed:
    name: str
    detail: str
    blame: str


@dataclass(frozen=True, slots=True)
class RedirectFollowed:
    url: str
    http_status: int


@dataclass(frozen=True, slots=True)
class RespondentFailed:
    blame: str
    error: str
    message: str


Event = PageShown | OutcomeReached | CheckFailed | RedirectFollowed | RespondentFailed


@dataclass(slots=True)
class RespondentResult:
    index: int
    persona: str
    seed: int
    survey_id: int
    transaction_id: str
    outcome: str | None = None  # a terminal status, "abandoned", or "failed"
    expected: bool = False
    statuses: list[str] = field(default_factory=list)
    pages: list[list[int]] = field(default_factory=list)  # question ids of each page shown
    redirect_url: str | None = None
    redirect_followed: int | None = None  # HTTP status of the followed redirect
    checks: list[FailedCheck] = field(default_factory=list)
    error: dict[str, str] | None = None
    requests: int = 0
    details: dict[str, Any] = field(default_factory=dict)  # terminateReason, quotaId of the outcome
    # What the platform should hold for this respondent: the last form submitted for each page
    # on its final path (going back and submitting a page again drops the pages after it).
    answers: dict[str, Any] = field(default_factory=dict)
    recoveries: list[dict[str, str]] = field(default_factory=list)  # {lost: step, error, how}
    faults: list[str] = field(default_factory=list)  # injected faults this respondent met, by kind


class RespondentFlow:
    def __init__(self, persona: Persona, target: FlowTarget, persona_name: str | None = None) -> None:
        self.persona = persona
        self.target = target
        r = persona.r
        self.result = RespondentResult(
            index=r.index, persona=persona_name or persona.name, seed=r.seed, survey_id=target.survey_id,
            transaction_id=r.transaction_id,
        )
        self._token: str | None = None
        self._path: list[tuple[tuple[int, ...], dict[str, Any]]] = []  # (page's question ids, form)
        self._shown: tuple[int, ...] = ()  # question ids of the last page shown
        self._shown_status = ""  # and its status (gate pages have no questions)
        self._last: Request | None = None
        self._resuming: dict[str, str] | None = None  # the recovery a resume reply will settle
        self._in_a_row = 0  # lost replies since the last usable one
        self._state = "NEW"
        self._step = ""

    @property
    def done(self) -> bool:
        return self._state == "DONE"

    def start(self) -> Request:
        assert self._state == "NEW", "start() is called once"
        self._state = "WAITING"
        return self._request(self.persona.entry())

    def receive(self, reply: Reply) -> tuple[list[Event], Request | None]:
        assert self._state in ("WAITING", "FOLLOWING"), f"receive() in state {self._state}"
        if self._state == "FOLLOWING":
            self.result.redirect_followed = reply.status
            self._state = "DONE"
            return [RedirectFollowed(self.result.redirect_url or "", reply.status)], None
        fault = reply.headers.get(FAULT_HEADER)
        if fault is not None:
            self.result.faults.append(fault)
            wait = _seconds(reply.headers.get("retry-after")) if reply.status == 429 else 0.0
            return self.lost(InjectedFault(f"{fault} on {self._step} (injected by the platform)"), wait_s=wait)
        self._in_a_row = 0
        events: list[Event] = []
        try:
            page = parse_reply(reply.status, reply.body)
        except ServerContractError as exc:
            return self._failed(exc, events), None
        token = reply.headers.get("x-survey-token")
        if token:
            self._token = token
        elif page.status != HTTP_ERROR:
            events.append(self._check("missing_token", f"{self._step} reply carried no x-survey-token"))
        if self._resuming is not None:
            lost = self._resuming["lost"]
            same = (lost in ("submit-page", "previous-page") and tuple(q.id for q in page.questions) == self._shown
                    and page.status == self._shown_status)
            self._resuming["how"] = ("resubmitted" if lost == "submit-page" else "back_again") if same else "resumed"
            self._resuming = None
            if same:  # the lost move never landed: the persona decides this page again
                self.persona.move_lost("submit" if lost == "submit-page" else "back", page.status)
            final = page.details.pop("finalStatus", None)
            if page.status == "already_completed" and isinstance(final, str) and final in TERMINAL:
                # The lost request finished the survey; the platform says how (its extension).
                page.status = final
        self.result.statuses.append(page.status if page.status != HTTP_ERROR else f"http_{reply.status}")
        self._shown_status = page.status
        if page.questions:
            qids = tuple(q.id for q in page.questions)
            self._shown = qids
            self.result.pages.append(list(qids))
            events.append(PageShown(self._step, page.status, qids))
        try:
            move = self.persona.decide(page)
        except LoadtestError as exc:
            return self._failed(exc, events), None
        except Exception as exc:  # a bug in a persona script must not crash the run
            return self._failed(exc, events, blame="script"), None
        self._collect_checks(events)
        if move is None:
            if page.terminal:
                return self._outcome(page, events)
            if page.status == HTTP_ERROR:
                assert page.error is not None
                message = f"HTTP {reply.status} {page.error.name}: {page.error.message}".strip()
                return self._failed(ServerContractError(message), events, blame="server"), None
            stuck = PersonaStuck(self.result.persona, page.status, excerpt(reply.body))
            return self._failed(stuck, events), None
        if isinstance(move, Abandon):
            return self._finish("abandoned", page, events), None
        if isinstance(move, Submit) and page.questions:
            self._answered(tuple(q.id for q in page.questions), move.form)
        return events, self._request(move)

    def lost(self, error: BaseException, max_in_a_row: int = 8, max_recoveries: int = 30, wait_s: float = 0.0
             ) -> tuple[list[Event], Request | None]:
        """The last request got no usable reply: recover if it is safe (see the top), else fail.
        Recoveries back off (0.1 s doubling with each loss in a row, at most 2 s; longer if a
        Retry-After says so), so a platform that restarts is waited for. A respondent gives up
        after `max_in_a_row` losses with no usable reply between them, or `max_recoveries` in all."""
        if self._state != "WAITING" or self._last is None:
            return self.fail(error), None
        if self._in_a_row >= max_in_a_row or len(self.result.recoveries) >= max_recoveries:  # its fate stays unknown
            if self._resuming is not None:
                self._resuming["how"] = "resume_lost"
                self._resuming = None
            self.result.recoveries.append({"lost": self._step, "error": type(error).__name__, "how": "gave_up"})
            return self.fail(error), None
        backoff = max(wait_s, min(2.0, 0.1 * 2 ** self._in_a_row))
        self._in_a_row += 1
        self.persona.waited_s += backoff
        lost_step = self._step
        if self._resuming is not None:  # the resume itself got no usable reply: ask again
            self._resuming["how"] = "resume_lost"
            lost_step = self._resuming["lost"]  # what is still unknown is whether that one landed
            self._resuming = None
        recovery = {"lost": lost_step, "error": type(error).__name__, "how": "retried"}
        self.result.recoveries.append(recovery)
        if self._token is None:  # no session yet: the take can simply go again
            self.result.requests += 1
            self._last = Request(self._last.step, self._last.method, self._last.url, self._last.headers,
                                 self._last.body, think_s=backoff)
            return [], self._last
        recovery["how"] = "pending"
        self._resuming = recovery
        headers = [h for h in self._last.headers if h[0] not in ("x-survey-token", "content-type")]
        headers.append(("x-survey-token", self._token))
        self._step = "resume"
        self.result.requests += 1
        self._last = Request(step="resume", method="GET", url=f"{API}/{self.target.survey_id}/take",
                             headers=tuple(headers), think_s=backoff)
        return [], self._last

    def fail(self, error: BaseException, blame: str | None = None) -> list[Event]:
        """The driver could not get a reply (transport failure, timeout): the respondent ends."""
        if self._state == "FOLLOWING":  # the outcome stands; only the redirect follow failed
            self._state = "DONE"
            self.result.redirect_followed = 0
            return [RedirectFollowed(self.result.redirect_url or "", 0)]
        return self._failed(error, [], blame=blame)

    # --- internals --------------------------------------------------------------------------------
    def _answered(self, page: tuple[int, ...], form: dict[str, Any]) -> None:
        for i, (seen, _) in enumerate(self._path):
            if seen == page:  # submitted again after going back: the path continues from here
                del self._path[i:]
                break
        self._path.append((page, form))
        merged: dict[str, Any] = {}
        for _, f in self._path:
            merged.update(f)
        self.result.answers = merged

    def _request(self, move: Move) -> Request:
        base = f"{API}/{self.target.survey_id}"
        headers: list[tuple[str, str]] = [("accept", "application/json")]
        if self.target.api_key is not None:
            headers.append(("api-key", self.target.api_key))
        if isinstance(move, Take):
            if move.fresh:
                self._token = None
            step, method, url, body = "take", "GET", f"{base}/take", b""
            if move.query:
                url += "?" + urlencode(move.query)
        elif isinstance(move, Submit):
            # Copied to its own size: orjson returns its bytes in a ~4 KB allocation whatever the
            # length, and a respondent keeps its last request through its think time (4 KB of the
            # 11.4 KB a parked respondent cost; bench/RESULTS.md, session 3 notes).
            body = bytes(memoryview(orjson.dumps(move.form)))
            step, method, url = "submit-page", "POST", f"{base}/submit-page"
            headers.append(("content-type", "application/json"))
        elif isinstance(move, Back):
            step, method, url, body = "previous-page", "GET", f"{base}/previous-page", b""
        else:  # pragma: no cover - Move is a closed union
            raise TypeError(move)
        if self._token:
            headers.append(("x-survey-token", self._token))
        self._step = step
        self.result.requests += 1
        self._last = Request(step=step, method=method, url=url, headers=tuple(headers), body=body, think_s=move.think_s)
        return self._last

    def _outcome(self, page: PageReply, events: list[Event]) -> tuple[list[Event], Request | None]:
        self._finish(page.status, page, events)
        url = page.redirect_url
        if url and self._may_follow(url):
            self._state = "FOLLOWING"
            same_host = urlsplit(url).hostname == self.target.host
            headers: tuple[tuple[str, str], ...] = ()
            if same_host and self.target.api_key is not None:
                headers = (("api-key", self.target.api_key),)
            self.result.requests += 1
            return events, Request(step="redirect", method="GET", url=url, headers=headers)
        return events, None

    def _may_follow(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and parts.hostname in self.target.follow_hosts

    def _finish(self, outcome: str, page: PageReply | None, events: list[Event]) -> list[Event]:
        res = self.result
        res.outcome = outcome
        res.expected = self.persona.expected(outcome)
        if page is not None:
            res.redirect_url = page.redirect_url
            res.details = dict(page.details)
        if not res.expected:
            events.append(self._check("unexpected_outcome", f"{outcome} (persona expects "
                                      f"{', '.join(sorted(self.persona.params.get('expects') or self.persona.expects))})"))
        events.append(OutcomeReached(outcome, res.expected, res.redirect_url))
        self._state = "DONE"
        return events

    def _failed(self, exc: BaseException, events: list[Event], blame: str | None = None) -> list[Event]:
        who = blame or getattr(exc, "blame", "script")
        res = self.result
        res.outcome = "failed"
        res.expected = False
        res.error = {"blame": who, "error": type(exc).__name__, "message": str(exc)}
        self._collect_checks(events)
        events.append(RespondentFailed(who, type(exc).__name__, str(exc)))
        self._state = "DONE"
        return events

    def _check(self, name: str, detail: str, blame: str = "server") -> CheckFailed:
        self.result.checks.append(FailedCheck(name, detail, blame))
        return CheckFailed(name, detail, blame)

    def _collect_checks(self, events: list[Event]) -> None:
        """Move checks the persona recorded into the result and the event stream."""
        while self.persona.checks:
            check = self.persona.checks.pop(0)
            self.result.checks.append(check)
            events.append(CheckFailed(check.name, check.detail, check.blame))


def _seconds(header: str | None) -> float:
    try:
        return min(30.0, max(0.0, float(header or 0)))  # bounded: a respondent never waits unbounded
    except ValueError:
        return 1.0
