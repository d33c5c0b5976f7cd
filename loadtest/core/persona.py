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

What cannot be got wrong quietly: a status name in @rule is checked when the class is defined
(a typo fails at load, with the file, the method and the closest status); a method that
overrides a rule without @rule is refused; a precondition may name a method of the persona
(`when="going_back"`): an ordinary method, so mypy checks its body against the persona's own
class, and a name that is no method is refused when the class is defined; parameters are
declared (`parameters = {"max_pages": Param(int, 3, "...")}`) so a scenario's misspelt one is an
error. A persona keeps its own memory in plain attributes: the flow snapshots them before each
move and puts them back when the move's reply was lost and it never landed, so no script has
to undo anything.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from loadtest.core.answers import Answerer
from loadtest.core.errors import Blame, PersonaDefinitionError
from loadtest.core.page import HTTP_ERROR, STATUSES, PageReply
from loadtest.core.rng import RespondentRandom

__all__ = [
    "Abandon",
    "Back",
    "FailedCheck",
    "Fixed",
    "LogNormal",
    "Move",
    "Param",
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
# Made for every request, so not frozen (a frozen dataclass's __init__ sets each field through
# object.__setattr__: 4x the time); hashable as frozen ones are, and never changed once made.
@dataclass(slots=True, unsafe_hash=True)
class Take:
    query: dict[str, str] = field(default_factory=dict)
    fresh: bool = False  # drop the session token: a new browser entering with the same link
    think_s: float = 0.0


@dataclass(slots=True, unsafe_hash=True)
class Submit:
    form: dict[str, Any]
    think_s: float = 0.0


@dataclass(slots=True, unsafe_hash=True)
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
    blame: Blame = Blame.SERVER  # who broke it: server (contract), script (ours)


@dataclass(frozen=True, slots=True)
class Param:
    """A persona parameter a scenario may set in its [personas.NAME] table."""

    type: type | tuple[type, ...]
    default: Any
    help: str


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
    pinned: Mapping[int, str] = field(default_factory=dict)  # the scenario's answers (question id -> answer id)
    set_language: Callable[[str], None] = lambda lang: None  # switches the text locale (polyglot)


# --- rules --------------------------------------------------------------------------------------
P = TypeVar("P", bound="Persona")
RuleMethod = Callable[[P, PageReply], "Move | None"]
RULE_STATUSES = STATUSES | {HTTP_ERROR}  # the seed's 14 statuses, and a non-2xx reply
# Infrastructure every persona has; not part of what a lost move must put back.
_NOT_MEMORY = frozenset({"r", "rng", "params", "checks", "extensions", "statuses", "waited_s", "_pinned"})
_UNCHANGED_BY_COPY = frozenset({int, float, str, bytes, bool, type(None), tuple, frozenset})
_NOTHING: Mapping[str, Any] = MappingProxyType({})  # remember() of a persona with no state of its own


def rule(status: str | Iterable[str] | None = None,
         when: str | Callable[[Any, PageReply], bool] | None = None) -> Callable[[RuleMethod[P]], RuleMethod[P]]:
    """Mark a method as a rule: it applies when the reply has `status` (one or several) and `when`
    holds. `when` names a method of the persona (type-checked like any method; the name is
    checked when the class is defined) or is a callable."""
    statuses = frozenset({status} if isinstance(status, str) else status) if status is not None else None

    def mark(fn: RuleMethod[P]) -> RuleMethod[P]:
        for s in sorted(statuses or ()):
            if s not in RULE_STATUSES:
                close = difflib.get_close_matches(s, sorted(RULE_STATUSES), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (one of {', '.join(sorted(RULE_STATUSES))})"
                raise PersonaDefinitionError(f"{_where(fn)}: @rule(status={s!r}): unknown status{hint}")
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(params) != 2:
            given = ", ".join(p.name for p in params)
            raise PersonaDefinitionError(f"{_where(fn)}: a rule takes (self, page), not ({given})")
        fn._rule = (statuses, when)  # type: ignore[attr-defined]
        return fn

    return mark


def _where(fn: Callable[..., Any]) -> str:
    code = getattr(fn, "__code__", None)
    place = f"{code.co_filename}:{code.co_firstlineno}" if code is not None else "?"
    return f"{place}: {getattr(fn, '__qualname__', fn)}"


class Persona:
    name: ClassVar[str] = "persona"
    expects: ClassVar[frozenset[str]] = frozenset({"survey_complete"})
    think: ClassVar[ThinkTime] = Uniform(0.2, 0.6)  # per question on a page
    requires: ClassVar[tuple[str, ...]] = ()  # scenario params this persona cannot do without
    # What the target must have for this persona's expectations to hold (shown by `loadtest personas`).
    needs_target_rules: ClassVar[tuple[str, ...]] = ()
    parameters: ClassVar[Mapping[str, Param]] = {
        "answers": Param(dict, {}, "question id = answer id, pinned for this persona (a screener, a quota cell)"),
        "expects": Param(list, None, "outcomes that count as success, instead of the persona's own"),
        "password": Param(str, None, "the survey's own access code, for authentication_required"),
        "think_scale": Param((int, float), 1.0, "times the persona's think time (0: none)"),
        "lang_in_link": Param(bool, False, "send the respondent's language in the entry link"),
        "language": Param(str, None, "the respondent's language (default: the survey's)"),
    }
    _rules: ClassVar[tuple[str, ...]] = ()
    _rule_specs: ClassVar[tuple[tuple[str, Any, Any], ...]] = ()  # (name, statuses, when) of each of _rules

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        own = [n for n, v in vars(cls).items() if callable(v) and hasattr(v, "_rule")]
        for n in cls._rules:
            if n in vars(cls) and n not in own:
                raise PersonaDefinitionError(
                    f"{_where(vars(cls)[n])}: overrides the rule {n!r} without @rule; decorate it with "
                    "@rule(...) or give it another name")
        inherited = [n for n in cls._rules if n not in own]
        cls._rules = (*own, *inherited)
        cls._rule_specs = _specs(cls)
        if not cls._rules:
            raise PersonaDefinitionError(f"persona {cls.__qualname__}: no @rule method, so it can make no move")
        for n in own:
            when = vars(cls)[n]._rule[1]
            if isinstance(when, str) and not callable(getattr(cls, when, None)):
                raise PersonaDefinitionError(f"{_where(vars(cls)[n])}: when={when!r} names no method of "
                                             f"{cls.__qualname__}")
        merged: dict[str, Param] = {}
        for base in reversed(cls.__mro__):
            merged.update(vars(base).get("parameters", {}))
        cls.parameters = merged

    @classmethod
    def check_parameter(cls, key: str, value: Any) -> str | None:
        """None when the scenario may set `key` to `value`; else what was expected, for one line."""
        spec = cls.parameters.get(key)
        if spec is None:
            close = difflib.get_close_matches(key, sorted(cls.parameters), n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(cls.parameters))}"
            return f"a parameter of persona {cls.name!r} ({hint})"
        if isinstance(value, bool) and spec.type in (int, float, (int, float)):
            return f"{_type_name(spec.type)} (got a boolean)"
        if not isinstance(value, spec.type):
            return f"{_type_name(spec.type)} (got {type(value).__name__})"
        return None

    def __init__(self, respondent: Respondent) -> None:
        self.r = respondent
        self.rng = respondent.rng
        self.params = respondent.params
        self.checks: list[FailedCheck] = []
        self.extensions: list[tuple[str, str]] = []  # reference-platform behaviour not seen: (name, detail)
        self.statuses: list[str] = []
        self.passwords_sent = 0
        self.waited_s = 0.0  # time the flow spent waiting out lost replies and 429s
        self._pinned = respondent.pinned  # shared by every respondent of the scenario's entry

    def param(self, key: str) -> Any:
        """A declared parameter's value: the scenario's, else its default."""
        return self.params.get(key, self.parameters[key].default)

    # --- what the flow calls ----------------------------------------------------------------
    def entry(self) -> Take:
        """The first move: take with the panel's entry parameters."""
        query = {"transaction_id": self.r.transaction_id}
        if self.r.language and self.params.get("lang_in_link", False):
            query["lang"] = self.r.language
        return Take(query=query)

    def decide(self, page: PageReply) -> Move | None:
        """The first applicable rule's move; None when no rule applies."""
        status = page.status
        self.statuses.append(status)
        for name, statuses, when in self._rule_specs:  # status first: no bound method for a rule that cannot apply
            if statuses is not None and status not in statuses:
                continue
            if when is not None and not (getattr(self, when)(page) if isinstance(when, str) else when(self, page)):
                continue
            move = getattr(self, name)(page)
            if move is not None:
                return move  # type: ignore[no-any-return]
        return None

    def rules_for(self, page: PageReply) -> tuple[str, ...]:
        """The rules that take this page's status (for PersonaStuck: what was tried)."""
        tried = []
        for n in self._rules:
            statuses = getattr(self, n)._rule[0]
            if statuses is None or page.status in statuses:
                tried.append(n)
        return tuple(tried)

    def expected_outcomes(self) -> frozenset[str]:
        configured = self.params.get("expects")
        return frozenset(configured) if configured else self.expects

    def expected(self, outcome: str) -> bool:
        return outcome in self.expected_outcomes()

    def remember(self) -> Mapping[str, Any]:
        """The persona's own memory (its attributes but the infrastructure), copied one level deep."""
        # Called before every move and held while the move is out, so kept cheap: a persona
        # that keeps nothing but the infrastructure shares one empty memory, and values
        # copy.copy hands back unchanged skip its dispatch.
        memory = {}
        for k, v in vars(self).items():  # one pass, no set of the keys (a persona has a dozen at most)
            if k not in _NOT_MEMORY:
                memory[k] = v if type(v) in _UNCHANGED_BY_COPY else copy.copy(v)
        return memory or _NOTHING

    def restore(self, memory: Mapping[str, Any]) -> None:
        """Back to what remember() took: the move made since never reached the platform."""
        for k in [k for k in vars(self) if k not in _NOT_MEMORY and k not in memory]:
            delattr(self, k)
        for k, v in memory.items():
            setattr(self, k, v)

    # --- helpers for rules ------------------------------------------------------------------
    def fail_check(self, name: str, detail: str, blame: Blame | str = Blame.SERVER) -> None:
        self.checks.append(FailedCheck(name, detail, Blame(blame)))

    def note_extension(self, name: str, detail: str) -> None:
        """Something only the reference platform does did not happen: information, unless the
        scenario asks for the extensions (then a failed check)."""
        self.extensions.append((name, detail))

    def think_for(self, page: PageReply) -> float:
        """Seconds to answer the page: one draw per question, times think_scale."""
        scale = float(self.params.get("think_scale", 1.0))
        return scale * sum(self.think.sample(self.rng) for _ in page.questions)

    def pause(self) -> float:
        """Seconds before a move that answers nothing (going back, coming back): one draw, times think_scale."""
        return float(self.params.get("think_scale", 1.0)) * self.think.sample(self.rng)

    def submit(self, form: dict[str, Any], page: PageReply | None = None) -> Submit:
        return Submit(form=form, think_s=self.think_for(page) if page is not None else 0.0)

    def fill(self, page: PageReply, overrides: dict[int, Any] | None = None,
             straightline: bool = False) -> dict[str, Any]:
        """Valid answers to every question on the page. `overrides` maps question id -> answer id
        (from the scenario, e.g. the screener answer a screenout persona gives)."""
        chosen: Mapping[int, Any] = {**self._pinned, **overrides} if overrides else self._pinned
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
            self.fail_check("password_refused", "the configured password was refused", blame=Blame.CONFIGURATION)
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


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {int: "a whole number", float: "a number", str: "a string", bool: "true or false", dict: "a table",
             list: "an array"}
    if isinstance(t, tuple):
        return "a number" if set(t) == {int, float} else " or ".join(names.get(x, x.__name__) for x in t)
    return names.get(t, t.__name__)


def _specs(cls: type[Persona]) -> tuple[tuple[str, Any, Any], ...]:
    return tuple((n, *getattr(cls, n)._rule) for n in cls._rules)


# The base class's own rules (__init_subclass__ runs for subclasses only).
Persona._rules = tuple(n for n, v in vars(Persona).items() if callable(v) and hasattr(v, "_rule"))
Persona._rule_specs = _specs(Persona)
