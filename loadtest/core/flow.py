"""RespondentFlow: one respondent's walk through the respondent API, as a sans-IO state machine.

Theory of operation. The driver asks the flow for a request, performs it, and feeds the reply
back (`receive`), or says it got none (`lost`: reset, timeout, cut body) or that it must stop
(`cut_off`: the run ended). The flow answers with events and the next request, None when the
respondent is done. No sockets, no clocks: waiting (think time, back-off, Retry-After) travels
on the request as `think_s` for the driver to honour. flow_machine.py holds the whole machine:
its states, inputs and the TRANSITIONS table every call is checked against.

Recovering from a lost reply. A request that got no complete reply may or may not have been
processed, so it is never repeated blind: a submit repeated after the platform took it would
answer the next page with this page's form. Only the first take, before any session exists, is
sent again. Otherwise the flow asks where the respondent is: a take with the token (seed 000:
any node rebuilds a session from it). The same page back means the lost move never landed: the
persona's state is restored to before that move and it decides the page again (`resubmitted`,
`back_again`); any other page means it did (`resumed`). A 502, 503 or 504 from a gateway is a
lost reply too, and so is a reply the reference platform tags as its own injected fault.

A 429 is different: the target says it did not process the request. The same request goes
again after Retry-After (or a jittered back-off), until the respondent's wait budget is spent
(`rate_limited`, blamed on the target). The Throttled event lets a driver pause every respondent
of that target, so a closed model does not hammer it.

Every request carries the latest `x-survey-token` the server sent (seed 000: echo it verbatim).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from loadtest.core.errors import (
    Blame,
    CertificateError,
    ConfigurationError,
    FlowUsageError,
    InjectedFault,
    LoadtestError,
    PersonaStuck,
    RateLimited,
    RequestCapExceeded,
    ServerContractError,
    TransportError,
)
from loadtest.core.flow_machine import TRANSITIONS, Input, State
from loadtest.core.flow_values import (
    API,
    FAULT_HEADER,
    CheckFailed,
    Event,
    ExtensionNotSeen,
    FlowPolicy,
    FlowTarget,
    OutcomeReached,
    PageShown,
    Recovery,
    RedirectFollowed,
    Reply,
    ReplyLost,
    Request,
    RespondentFailed,
    RespondentResult,
    Throttled,
    move_request,
)
from loadtest.core.page import HTTP_ERROR, TERMINAL, PageReply, excerpt, parse_reply
from loadtest.core.persona import Abandon, Back, FailedCheck, Move, Persona, Submit, Take
from loadtest.core.retry import backoff_s, retry_after_s

__all__ = [
    "API", "FAULT_HEADER", "TRANSITIONS", "CheckFailed", "Event", "ExtensionNotSeen", "FlowPolicy", "FlowTarget",
    "Input", "OutcomeReached", "PageShown", "Recovery", "RedirectFollowed", "Reply", "ReplyLost", "Request",
    "RespondentFailed", "RespondentFlow", "RespondentResult", "State", "Throttled",
]

DEFAULT_POLICY = FlowPolicy()
GATEWAY = frozenset({502, 503, 504})  # a gateway's answer: the request may or may not have been processed
CONFIGURATION = {401: "the target refused the API key (check ${api_key_env})",
                 403: "the target refused the API key for this survey (check ${api_key_env})",
                 404: "the target has no survey {survey_id} (check survey_id)"}


class RespondentFlow:
    # One per respondent in flight, 100,000 at once in one process: slots, not a __dict__ each.
    __slots__ = ("_in_a_row", "_input", "_last", "_moved_from", "_path", "_pending", "_shown", "_shown_final",
                 "_shown_status", "_state", "_step", "_take_retried", "_throttled", "_token", "persona", "policy",
                 "result", "target")

    def __init__(self, persona: Persona, target: FlowTarget, persona_name: str | None = None,
                 policy: FlowPolicy = DEFAULT_POLICY) -> None:
        self.persona = persona
        self.target = target
        self.policy = policy
        r = persona.r
        self.result = RespondentResult(
            index=r.index, persona=persona_name or persona.name, seed=r.seed, survey_id=target.survey_id,
            transaction_id=r.transaction_id,
        )
        self._state = State.NEW
        self._input = Input.START
        self._token: str | None = None
        self._path: list[tuple[tuple[int, ...], dict[str, Any]]] = []  # (page's question ids, form)
        self._shown: tuple[int, ...] = ()  # question ids of the last page shown
        self._shown_status = ""  # and its status (gate pages have no questions)
        self._shown_final = False
        self._last: Request | None = None  # the respondent-API request now out
        self._moved_from: Mapping[str, Any] | None = None  # the persona's state before the move now out
        self._pending: Recovery | None = None  # the recovery a resume's reply settles
        self._in_a_row = 0  # lost replies since the last usable one
        self._throttled = 0  # 429s in a row
        self._take_retried = False  # the first take went again after a loss: it may have landed
        self._step = ""

    @property
    def state(self) -> State:
        return self._state

    @property
    def done(self) -> bool:
        return self._state is State.DONE

    # --- the driver's calls ----------------------------------------------------------------------
    def start(self) -> Request:
        self._enter(Input.START)
        self._goto(State.WAITING)
        request = self._request(self.persona.entry())
        assert request is not None  # the first request is always within the cap
        return request

    def receive(self, reply: Reply) -> tuple[list[Event], Request | None]:
        self._enter(Input.REPLY)
        if self._state is State.FOLLOWING:
            self.result.redirect_followed = reply.status
            self._goto(State.DONE)
            return [RedirectFollowed(self.result.redirect_url or "", reply.status)], None
        fault = reply.headers.get(FAULT_HEADER)
        if fault is not None:  # the reference platform's tag: its own injected fault
            self.result.faults += (fault,)
            wait = self._retry_after(reply) if reply.status == 429 else None
            return self._lost(InjectedFault(f"{fault} on {self._step} (injected by the platform)"), wait or 0.0)
        if reply.status == 429:
            return self._rate_limited(reply)
        if reply.status in GATEWAY:
            wait = self._retry_after(reply) if reply.status == 503 else None
            lost, request = self._lost(TransportError(f"HTTP {reply.status} from a gateway on {self._step}"),
                                       wait or 0.0)
            return ([Throttled(self._step, wait, reply.status), *lost] if wait else lost), request
        self._in_a_row = self._throttled = 0
        events: list[Event] = []
        try:
            page = parse_reply(reply.status, reply.body)
        except ServerContractError as exc:
            return self._failed(exc, events), None
        page.via = self._step
        self._adopt_token(reply, page, events)
        if self._state is State.RESUMING:
            self._settle_resume(page, events)
        elif self._take_retried and page.status == "already_completed":
            self._completed_while_lost(page, events)  # the lost take itself ended the respondent
        self._take_retried = False
        self._record_page(reply, page, events)
        return self._decide(reply, page, events)

    def lost(self, error: BaseException) -> tuple[list[Event], Request | None]:
        """The last request got no complete reply: recover if that is safe (see the top), else end."""
        self._enter(Input.LOST)
        if self._state is State.FOLLOWING:
            return self._end_follow(), None
        if isinstance(error, CertificateError):  # it will not verify next time either
            return self._failed(error, []), None
        return self._lost(error, 0.0)

    def fail(self, error: BaseException, blame: Blame | None = None) -> list[Event]:
        """The driver cannot go on with this respondent (a bug of ours, a transport that gave up)."""
        self._enter(Input.FAIL)
        if self._state is State.FOLLOWING:  # the outcome stands; only the redirect follow failed
            return self._end_follow()
        return self._failed(error, [], blame=blame)

    def cut_off(self) -> list[Event]:
        """The run ended (a stop, the hard deadline) with this respondent still walking."""
        if self._state is State.DONE:
            return []
        self._enter(Input.CUT_OFF)
        if self._pending is not None:
            self.result.recoveries += (self._pending,)
            self._pending = None
        self.result.outcome = "incomplete"
        self.result.expected = False
        self._goto(State.DONE)
        return [OutcomeReached("incomplete", False, None)]

    # --- the machine ---------------------------------------------------------------------------
    def _enter(self, given: Input) -> None:
        if (self._state, given) not in TRANSITIONS:
            raise FlowUsageError(f"{given.value}() is not accepted in state {self._state.value}")
        self._input = given

    def _goto(self, state: State) -> None:
        if state not in TRANSITIONS[(self._state, self._input)]:
            raise FlowUsageError(f"no transition {self._state.value} -{self._input.value}-> {state.value}")
        self._state = state
        if state is State.DONE and self._path:
            # Merged once at the end rather than after every submit: a respondent in flight
            # keeps only its path.
            self.result.answers = self.answers()

    def answers(self) -> dict[str, Any]:
        """What the platform should hold so far: the last form submitted for each page on the path."""
        merged: dict[str, Any] = {}
        for _, f in self._path:
            merged.update(f)
        return merged

    # --- receive, by concern ---------------------------------------------------------------------
    def _adopt_token(self, reply: Reply, page: PageReply, events: list[Event]) -> None:
        token = reply.headers.get("x-survey-token")
        if token:
            self._token = token
        elif page.status != HTTP_ERROR:
            events.append(self._check("missing_token", f"{self._step} reply carried no x-survey-token"))

    def _settle_resume(self, page: PageReply, events: list[Event]) -> None:
        pending = self._pending
        assert pending is not None
        self._pending = None
        self._goto(State.WAITING)
        same = (pending.lost in ("submit-page", "previous-page") and page.status == self._shown_status
                and tuple(q.id for q in page.questions) == self._shown)
        how = ("resubmitted" if pending.lost == "submit-page" else "back_again") if same else "resumed"
        self.result.recoveries += (Recovery(pending.lost, pending.error, how),)
        if same and self._moved_from is not None:  # the lost move never landed: decide the page again
            self.persona.restore(self._moved_from)
        if page.status == "already_completed" and pending.lost == "submit-page":
            self._completed_while_lost(page, events)
            if page.status == "already_completed" and self._shown_final and self.persona.expected("survey_complete"):
                page.status = "survey_complete"  # its lost submit was of the final page

    def _completed_while_lost(self, page: PageReply, events: list[Event]) -> None:
        """A request whose reply was lost ended the respondent; the reference platform says how
        (finalStatus, its extension). Without it the status stays already_completed."""
        final = page.details.pop("finalStatus", None)
        if isinstance(final, str) and final in TERMINAL:
            page.status = final
        else:
            events.append(self._extension("finalStatus", "a respondent whose lost request had ended it was "
                                          "answered already_completed without finalStatus"))

    def _record_page(self, reply: Reply, page: PageReply, events: list[Event]) -> None:
        self.result.statuses.append(page.status if page.status != HTTP_ERROR else f"http_{reply.status}")
        self._shown_status = page.status
        if page.validation_errors:
            self.result.invalid_questions += tuple(q for q, _ in page.validation_errors if q is not None)
        if page.questions:
            qids = tuple(q.id for q in page.questions)
            self._shown = qids
            self._shown_final = page.is_final
            self.result.pages.append(qids)
            events.append(PageShown(self._step, page.status, qids))

    def _decide(self, reply: Reply, page: PageReply, events: list[Event]) -> tuple[list[Event], Request | None]:
        before = self.persona.remember()
        try:
            move = self.persona.decide(page)
        except LoadtestError as exc:
            return self._failed(exc, events), None
        except Exception as exc:  # a bug in a persona script must not crash the run
            return self._failed(exc, events, blame=Blame.SCRIPT), None
        self._collect_checks(events)
        if move is None:
            return self._no_move(reply, page, events)
        if isinstance(move, Abandon):
            self._finish("abandoned", page, events)
            self._goto(State.DONE)
            return events, None
        if isinstance(move, Submit) and page.questions:
            self._answered(self._shown, move.form)  # _record_page's tuple of this page's question ids
        self._moved_from = before if isinstance(move, (Submit, Back)) else None
        return events, self._request(move)

    def _no_move(self, reply: Reply, page: PageReply, events: list[Event]) -> tuple[list[Event], Request | None]:
        if page.terminal:
            return self._outcome(page, events)
        if page.status == HTTP_ERROR:
            assert page.error is not None
            message = f"HTTP {reply.status} {page.error.name}: {page.error.message}".strip()
            if reply.status in CONFIGURATION and self._step == "take" and not self.result.pages:
                hint = CONFIGURATION[reply.status].format(survey_id=self.target.survey_id,
                                                          api_key_env=self.target.api_key_env)
                return self._failed(ConfigurationError(f"{message}: {hint}"), events), None
            return self._failed(ServerContractError(message), events, blame=Blame.SERVER), None
        stuck = PersonaStuck(self.result.persona, page.status, excerpt(reply.body), self.persona.rules_for(page))
        return self._failed(stuck, events), None

    # --- lost replies and the target's limit -------------------------------------------------------
    def _lost(self, error: BaseException, wait_s: float) -> tuple[list[Event], Request | None]:
        policy = self.policy
        last = self._last
        if last is None:
            return self._failed(error, []), None
        lost_step = self._pending.lost if self._pending is not None else self._step
        events: list[Event] = [ReplyLost(lost_step, type(error).__name__)]
        if self._pending is not None:  # the resume itself got no usable reply
            self.result.recoveries += (Recovery(self._pending.lost, self._pending.error, "resume_lost"),)
            self._pending = None
        if self._in_a_row >= policy.max_lost_in_a_row or len(self.result.recoveries) >= policy.max_recoveries:
            self.result.recoveries += (Recovery(lost_step, type(error).__name__, "gave_up"),)
            return self._failed(error, events), None
        backoff = max(wait_s, min(2.0, 0.1 * 2 ** self._in_a_row))
        self._in_a_row += 1
        self.persona.waited_s += backoff
        if self._token is None:  # no session yet: the take can simply go again
            self.result.recoveries += (Recovery(lost_step, type(error).__name__, "retried"),)
            self._take_retried = not self.result.statuses  # the entry take (a re-entry expects the answer)
            self._goto(State.WAITING)
            return events, self._again(last, backoff)
        self._pending = Recovery(lost_step, type(error).__name__, "pending")
        self._goto(State.RESUMING)
        headers = [h for h in last.headers if h[0] not in ("x-survey-token", "content-type")]
        headers.append(("x-survey-token", self._token))
        self._step = "resume"
        resume = Request(step="resume", method="GET", url=f"{API}/{self.target.survey_id}/take",
                         headers=tuple(headers), think_s=backoff)
        return events, self._send(resume)

    def _rate_limited(self, reply: Reply) -> tuple[list[Event], Request | None]:
        """The target did not process the request: send the same one again after its wait."""
        last = self._last
        assert last is not None
        wait = self._retry_after(reply)
        if wait is None:
            wait = backoff_s(self._throttled, self.result.seed)
        self._throttled += 1
        if self.result.throttled_s + wait > self.policy.rate_limit_budget_s:
            error = RateLimited(f"HTTP 429 on {self._step}: still refused after waiting "
                                f"{self.result.throttled_s:.1f} s (budget {self.policy.rate_limit_budget_s:g} s)")
            events = self._failed(error, [Throttled(self._step, wait, 429)])
            self.result.outcome = "rate_limited"  # its own outcome: neither the persona's nor a crash
            return events, None
        self.result.throttled_s += wait
        self.persona.waited_s += wait
        self._goto(self._state)  # WAITING or RESUMING: the same request is still the one out
        return [Throttled(self._step, wait, 429)], self._again(last, wait)

    def _retry_after(self, reply: Reply) -> float | None:
        return retry_after_s(reply.headers.get("retry-after"), reply.headers.get("date"), self.policy.max_wait_s)

    # --- requests ---------------------------------------------------------------------------------
    def _request(self, move: Move) -> Request | None:
        if isinstance(move, Take) and move.fresh:
            self._token = None
        request = move_request(self.target, self._token, move)
        self._step = request.step
        return self._send(request)

    def _again(self, last: Request, wait_s: float) -> Request | None:
        return self._send(Request(last.step, last.method, last.url, last.headers, last.body, think_s=wait_s))

    def _send(self, request: Request) -> Request | None:
        """Every request the flow hands out passes here: the one place the request cap is kept."""
        if self.result.requests >= self.policy.max_requests:
            self._failed(RequestCapExceeded(self.policy.max_requests), [])
            return None
        self.result.requests += 1
        if request.step != "redirect":
            self._last = request
        return request

    # --- endings ----------------------------------------------------------------------------------
    def _outcome(self, page: PageReply, events: list[Event]) -> tuple[list[Event], Request | None]:
        self._finish(page.status, page, events)
        url = page.redirect_url
        if url and self._may_follow(url):
            same_host = urlsplit(url).hostname == self.target.host
            headers: tuple[tuple[str, str], ...] = ()
            if same_host and self.target.api_key is not None:
                headers = (("api-key", self.target.api_key),)
            follow = self._send(Request(step="redirect", method="GET", url=url, headers=headers))
            if follow is not None:
                self._goto(State.FOLLOWING)
                return events, follow
        self._goto(State.DONE)
        return events, None

    def _may_follow(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and parts.hostname in self.target.follow_hosts

    def _end_follow(self) -> list[Event]:
        self.result.redirect_followed = 0
        self._goto(State.DONE)
        return [RedirectFollowed(self.result.redirect_url or "", 0)]

    def _finish(self, outcome: str, page: PageReply | None, events: list[Event]) -> list[Event]:
        res = self.result
        res.outcome = outcome
        res.expected = self.persona.expected(outcome)
        if page is not None:
            res.redirect_url = page.redirect_url
            res.details = dict(page.details)
        if not res.expected:
            wanted = ", ".join(sorted(self.persona.expected_outcomes()))
            # A screener or a full cell the persona did not expect is the scenario's answers, not the
            # server; so is a quality rule this target does not have.
            by_us = outcome in ("terminated", "quota_full") or bool(self.persona.needs_target_rules)
            hint = " (pin the answers that steer it in [answers])" if by_us else ""
            events.append(self._check("unexpected_outcome", f"{outcome} (persona expects {wanted}){hint}",
                                      Blame.CONFIGURATION if by_us else Blame.SERVER))
        events.append(OutcomeReached(outcome, res.expected, res.redirect_url))
        return events

    def _failed(self, exc: BaseException, events: list[Event], blame: Blame | None = None) -> list[Event]:
        who = blame if blame is not None else Blame(str(getattr(exc, "blame", Blame.SCRIPT)))
        res = self.result
        res.outcome = "failed"
        res.expected = False
        step = self._pending.lost if self._pending is not None else self._step
        res.error = {"blame": str(who), "error": type(exc).__name__, "message": str(exc), "step": step}
        if self._pending is not None:
            res.recoveries += (self._pending,)
            self._pending = None
        self._collect_checks(events)
        events.append(RespondentFailed(who, type(exc).__name__, str(exc)))
        self._goto(State.DONE)
        return events

    # --- checks -----------------------------------------------------------------------------------
    def _check(self, name: str, detail: str, blame: Blame = Blame.SERVER) -> CheckFailed:
        self.result.checks += (FailedCheck(name, detail, blame),)
        return CheckFailed(name, detail, blame)

    def _extension(self, name: str, detail: str) -> CheckFailed | ExtensionNotSeen:
        if self.policy.strict_extensions:
            return self._check(name, detail)
        self.result.extensions_not_seen += (name,)
        return ExtensionNotSeen(name, detail)

    def _collect_checks(self, events: list[Event]) -> None:
        """Move what the persona noted into the result and the event stream."""
        while self.persona.checks:
            check = self.persona.checks.pop(0)
            self.result.checks += (check,)
            events.append(CheckFailed(check.name, check.detail, Blame(check.blame)))
        while self.persona.extensions:
            name, detail = self.persona.extensions.pop(0)
            events.append(self._extension(name, detail))

    def _answered(self, page: tuple[int, ...], form: dict[str, Any]) -> None:
        for i, (seen, _) in enumerate(self._path):
            if seen == page:  # submitted again after going back: the path continues from here
                del self._path[i:]
                break
        self._path.append((page, form))

