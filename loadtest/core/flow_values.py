"""The values a RespondentFlow trades with its driver: requests, replies, events, the result.

Frozen where they are shared or kept (Request, Reply, events, Recovery); RespondentResult is the
one mutable record, filled in by the flow alone and read by drivers, metrics and the log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson

from loadtest.core.errors import Blame
from loadtest.core.persona import Back, FailedCheck, Move, Submit, Take

__all__ = [
    "API", "FAULT_HEADER", "CheckFailed", "Event", "ExtensionNotSeen", "FlowPolicy", "FlowTarget",
    "OutcomeReached", "PageShown", "Recovery", "RedirectFollowed", "Reply", "ReplyLost", "Request",
    "RespondentFailed", "RespondentResult", "Throttled", "move_request",
]

API = "/a/api/v2/surveys"
FAULT_HEADER = "x-loadtest-fault"  # the reference platform's tag on a fault it injected (its extension)


# Request, Reply, PageShown and OutcomeReached are made for every request, so not frozen (a frozen
# dataclass's __init__ sets each field through object.__setattr__: 4x the time); hashable as
# frozen ones are, and never changed once made.
@dataclass(slots=True, unsafe_hash=True)
class Request:
    step: str  # take | submit-page | previous-page | resume | redirect: what reports name it by
    method: str
    url: str  # a path on the target, or an absolute URL (redirects)
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    think_s: float = 0.0  # wait this long before sending (think time, back-off, Retry-After)


@dataclass(slots=True, unsafe_hash=True)
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
    api_key_env: str = "LOADTEST_API_KEY"  # named (never its value) when the target refuses the key
    headers: tuple[tuple[str, str], ...] = ()  # sent on every respondent-API request (a gateway's own)
    # accept, api-key and `headers`: how every request begins, built once rather than per request;
    # with a submit's content-type after them; and the three paths of the survey
    head: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    head_json: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    paths: tuple[str, str, str] = field(init=False, repr=False, compare=False)  # take, submit-page, previous-page

    def __post_init__(self) -> None:
        key = () if self.api_key is None else (("api-key", self.api_key),)
        head = (("accept", "application/json"), *key, *self.headers)
        object.__setattr__(self, "head", head)
        object.__setattr__(self, "head_json", (*head, ("content-type", "application/json")))
        base = f"{API}/{self.survey_id}"
        object.__setattr__(self, "paths", (f"{base}/take", f"{base}/submit-page", f"{base}/previous-page"))


@dataclass(frozen=True, slots=True)
class FlowPolicy:
    """How much a respondent puts up with. One default for every driver."""

    max_requests: int = 200  # a persona going round in circles ends, named
    max_lost_in_a_row: int = 8  # lost replies with no usable reply between them
    max_recoveries: int = 30  # lost replies in all
    rate_limit_budget_s: float = 120.0  # seconds a respondent waits out 429s before it gives up
    max_wait_s: float = 30.0  # no single Retry-After holds a respondent longer than this
    strict_extensions: bool = False  # checks of the reference platform's extensions fail a respondent


@dataclass(frozen=True, slots=True)
class Recovery:
    """One reply that was lost (or spoiled), and how the respondent came out of it.

    how: retried (the first take, sent again), resumed (the lost move had landed), resubmitted /
    back_again (it had not; the persona decided the page again), resume_lost (the resume itself
    was lost), gave_up, pending (the run ended before the resume was answered)."""

    lost: str  # the step whose reply was lost
    error: str  # the error's type name
    how: str


# --- events: what happened, for the driver's metrics and live views --------------------------
@dataclass(slots=True, unsafe_hash=True)
class PageShown:
    step: str
    status: str
    questions: tuple[int, ...]


@dataclass(slots=True, unsafe_hash=True)
class OutcomeReached:
    outcome: str
    expected: bool
    redirect_url: str | None


@dataclass(frozen=True, slots=True)
class CheckFailed:
    name: str
    detail: str
    blame: Blame


@dataclass(frozen=True, slots=True)
class ExtensionNotSeen:
    """Something only the reference platform promises did not happen: information, not a failure."""

    name: str
    detail: str


@dataclass(frozen=True, slots=True)
class RedirectFollowed:
    url: str
    http_status: int


@dataclass(frozen=True, slots=True)
class ReplyLost:
    step: str
    error: str


@dataclass(frozen=True, slots=True)
class Throttled:
    """The target answered 429 (or 503 with Retry-After): every respondent of it should pause."""

    step: str
    wait_s: float
    http_status: int


@dataclass(frozen=True, slots=True)
class RespondentFailed:
    blame: Blame
    error: str
    message: str


Event = (PageShown | OutcomeReached | CheckFailed | ExtensionNotSeen | RedirectFollowed | ReplyLost | Throttled
         | RespondentFailed)


_NONE: Mapping[str, Any] = {}  # a dict (orjson writes it), typed read-only: see RespondentResult


@dataclass(slots=True)
class RespondentResult:
    index: int
    persona: str
    seed: int
    survey_id: int
    transaction_id: str
    outcome: str | None = None  # a terminal status, "abandoned", "rate_limited", "incomplete" or "failed"
    expected: bool = False
    statuses: list[str] = field(default_factory=list)
    pages: list[tuple[int, ...]] = field(default_factory=list)  # question ids of each page shown
    redirect_url: str | None = None
    redirect_followed: int | None = None  # HTTP status of the followed redirect
    # What most respondents never meet is a tuple, added to by replacing it: the empty tuple is
    # one shared object, where an empty list is 56 bytes in each of 100,000 respondents in flight.
    checks: tuple[FailedCheck, ...] = ()
    extensions_not_seen: tuple[str, ...] = ()
    error: dict[str, str] | None = None
    requests: int = 0
    # Replaced, never changed in place (Mapping): until then both are the one shared empty dict.
    details: Mapping[str, Any] = field(default_factory=lambda: _NONE)  # terminateReason, quotaId of the outcome
    # What the platform should hold for this respondent: the last form submitted for each page
    # on its final path (going back and submitting a page again drops the pages after it).
    answers: Mapping[str, Any] = field(default_factory=lambda: _NONE)
    recoveries: tuple[Recovery, ...] = ()
    faults: tuple[str, ...] = ()  # injected faults this respondent met, by kind
    throttled_s: float = 0.0  # time spent waiting out 429s
    invalid_questions: tuple[int, ...] = ()  # named by each validation_errors reply


def move_request(target: FlowTarget, token: str | None, move: Move) -> Request:
    """The respondent-API request that carries out `move`, echoing the latest token (seed 000)."""
    if isinstance(move, Submit):
        # Copied to its own size: orjson returns its bytes in a ~4 KB allocation whatever the
        # length, and a respondent keeps its last request through its think time
        # (bench/RESULTS.md: a parked respondent's memory).
        body = bytes(memoryview(orjson.dumps(move.form)))
        step, method, url, headers = "submit-page", "POST", target.paths[1], target.head_json
    elif isinstance(move, Take):
        step, method, url, body, headers = "take", "GET", target.paths[0], b"", target.head
        if move.query:
            url += "?" + _query(move.query)
    elif isinstance(move, Back):
        step, method, url, body, headers = "previous-page", "GET", target.paths[2], b"", target.head
    else:  # pragma: no cover - Move is a closed union
        raise TypeError(move)
    if token:
        headers = (*headers, ("x-survey-token", token))
    return Request(step, method, url, headers, body, move.think_s)


_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")  # what urlencode's quote_plus leaves as it is


def _query(query: dict[str, str]) -> str:
    """urlencode(query), without its quoting machinery for the common case (a transaction id, a
    language code: nothing to quote); anything else goes through urlencode itself."""
    plain = _PLAIN.fullmatch
    for k, v in query.items():
        if type(k) is not str or type(v) is not str or not plain(k) or not plain(v):
            return urlencode(query)
    return "&".join([f"{k}={v}" for k, v in query.items()])
