"""The Persona API: a respondent's behaviour as rules with preconditions.

A persona is a class; one instance plays one respondent. Each reply the respondent gets is
offered to its rules in order (the subclass's own rules first, in the order written, then the
inherited ones it did not override); the first rule whose precondition holds returns the next
move. A reply no rule accepts ends the respondent: terminal statuses end it with that outcome,
anything else fails loudly (PersonaStuck, with the page it was stuck on).

    class Completer(Persona):
        name = "completer"
        expects = frozenset({"survey_complete"})

        @rule(status="success")
        def answer(self, page):
            return self.submit(self.fill(page))

Moves: Take (enter again, optionally as a fresh browser), Submit (a form), Back, Abandon.
Think time is data on the move (seconds to wait before sending it); the driver honours it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from loadtest.core.answers import Answerer
from loadtest.core.page import PageReply
from loadtest.core.rng import RespondentRandom

__all__ = [
    "Abandon",
    "Back",
    "FailedCheck",
    "Fixed",
    "LogNormal",
    "Move",
    "Persona",
    "Respondent",
    "Submit",
    "Take",
    "ThinkTime",
    "Uniform",
    "rule",
]


# --- think-time distributions ---------------------------------------------------------------
class ThinkTime:
    def sample(self, rng: RespondentRandom) -> float:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Fixed(ThinkTime):
    seconds: float

    def sample(self, rng: RespondentRandom) -> float:
        return self.seconds


@dataclass(frozen=True, slots=True)
class Uniform(ThinkTime):
    low: float
    high: float

    def sample(self, rng: RespondentRandom) -> float:
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class LogNormal(ThinkTime):
    median: float
    sigma: float = 0.5
    cap: float = 60.0

    def sample(self, rng: RespondentRandom) -> float:
        return min(self.cap, rng.lognormvariate(math.log(self.median), self.sigma))


# --- moves ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Take:
    query: dict[str, str] = field(default_factory=dict)
    fresh: bool = False  # drop the session token: a new browser entering with the same link
    think_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Submit:
    form: dict[str, Any]
    think_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Back:
    think_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Abandon:
    reason: str = "abandoned"


Move = Take | Submit | Back | Abandon


@dataclass(frozen=True, slots=True)
class FailedCheck:
    name: str
    detail: str
    blame: str = "server"  # who broke it: server (contract), script (ours)


@dataclass(slots=True)
class Respondent:
    """What a persona knows about the respondent it plays: all randomness comes from here."""

    index: int
    seed: int
    rng: RespondentRandom
    answers: Answerer
    transaction_id: str
    language: str | None
    params: dict[str, Any]
    set_language: Callable[[str], None] = lambda lang: None  # switches the text locale (polyglot)


# --- rules --------------------------------------------------------------------------------------
Precondition = Callable[["Persona", PageReply], bool]


def rule(status: str | Iterable[str] | None = None, when: Precondition | None = None) -> Callable[[Any], Any]:
    """Mark a method as a rule: it applies when the reply has `status` (one or several) and `when` holds."""
    statuses = {status} if isinstance(status, str) else set(status) if status is not None else None

    def mark(fn: Any) -> Any:
        fn._rule = (statuses, when)
        return fn

    return mark


class Persona:
    name: ClassVar[str] = "persona"
    expects: ClassVar[frozenset[str]] = frozenset({"survey_complete"})
    think: ClassVar[ThinkTime] = Uniform(0.2, 0.6)  # per question on a page
    requires: ClassVar[tuple[str, ...]] = ()  # scenario params this persona cannot do without
    _rules: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        own = [n for n, v in vars(cls).items() if callable(v) and hasattr(v, "_rule")]
        inherited = [n for n in cls._rules if n not in own]
        cls._rules = (*own, *inherited)

    def __init__(self, respondent: Respondent) -> None:
        self.r = respondent
        self.rng = respondent.rng
        self.params = respondent.params
        self.checks: list[FailedCheck] = []
        self.statuses: list[str] = []
        self.passwords_sent = 0
        self.waited_s = 0.0  # time the flow spent waiting out lost replies (recoveries back off)
        raw = self.params.get("answers") or {}
        self._pinned = {int(k): str(v) for k, v in raw.items()}  # once, not on every page

    # --- what the flow calls ----------------------------------------------------------------
    def entry(self) -> Take:
        """The first move: take with the panel's entry parameters."""
        query = {"transaction_id": self.r.transaction_id}
        if self.r.language and self.params.get("lang_in_link", False):
            query["lang"] = self.r.language
        return Take(query=query)

    def decide(self, page: PageReply) -> Move | None:
        """The first applicable rule's move; None when no rule applies."""
        self.statuses.append(page.status)
        for name in self._rules:
            method = getattr(self, name)
            statuses, when = method._rule
            if statuses is not None and page.status not in statuses:
                continue
            if when is not None and not when(self, page):
                continue
            move = method(page)
            if move is not None:
                return move
        return None

    def expected(self, outcome: str) -> bool:
        configured = self.params.get("expects")
        allowed = frozenset(configured) if configured else self.expects
        return outcome in allowed

    # --- helpers for rules ------------------------------------------------------------------
    def fail_check(self, name: str, detail: str, blame: str = "server") -> None:
        self.checks.append(FailedCheck(name, detail, blame))

    def think_for(self, page: PageReply) -> float:
        scale = float(self.params.get("think_scale", 1.0))
        return scale * sum(self.think.sample(self.rng) for _ in page.questions)

    def move_lost(self, move: str, page_status: str) -> None:
        """The last move ("submit" or "back") never reached the platform: its reply was lost and
        the platform still shows that page (whose status is given), so the page will be decided
        on again. A persona that counts or remembers its moves takes the last one back here (and
        calls this)."""
        if move == "submit" and page_status == "authentication_required" and self.passwords_sent:
            self.passwords_sent -= 1  # that password was never seen, so it was never refused

    def submit(self, form: dict[str, Any], page: PageReply | None = None) -> Submit:
        return Submit(form=form, think_s=self.think_for(page) if page is not None else 0.0)

    def fill(self, page: PageReply, overrides: dict[str, Any] | None = None, straightline: bool = False) -> dict[str, Any]:
        """Valid answers to every question on the page. `overrides` maps question id -> answer id
        (from the scenario, e.g. the screener answer a screenout persona gives)."""
        chosen = {**self._pinned, **overrides} if overrides else self._pinned
        form: dict[str, Any] = {}
        for q in page.questions:
            form.update(self.r.answers.answer(q, prefer=chosen.get(q.id), straightline=straightline))
        return form

    # --- default rules: gates every persona passes the same way --------------------------------
    @rule(status="authentication_required")
    def give_password(self, page: PageReply) -> Move | None:
        password = self.params.get("password")
        if password is None:
            return None  # stuck: the scenario did not say the survey's password
        if self.passwords_sent:
            self.fail_check("password_refused", "the configured password was refused", blame="script")
            return Abandon("password refused")
        self.passwords_sent += 1
        return Submit({"password": str(password)})

    @rule(status="language_selection_required")
    def choose_language(self, page: PageReply) -> Move:
        offered = list(page.languages) or [self.r.language or "en"]
        wanted = self.r.language if self.r.language in offered else self.rng.choice(offered)
        self.r.language = wanted
        self.r.set_language(wanted)
        return Submit({"language": wanted})

    @rule(status="success")
    def answer_page(self, page: PageReply) -> Move:
        return self.submit(self.fill(page), page)

    @rule(status="validation_errors")
    def unexpected_validation(self, page: PageReply) -> Move:
        # Our answers follow formParam; the server refusing them is a contract failure to report.
        detail = "; ".join(f"{qid}: {msg}" for qid, msg in page.validation_errors)
        self.fail_check("unexpected_validation_errors", detail or "no validationErrors given")
        return Abandon("validation errors on valid answers")



# The base class's own rules (gates, answering a page) are inherited by every persona.
Persona._rules = tuple(n for n, v in vars(Persona).items() if callable(v) and hasattr(v, "_rule"))
