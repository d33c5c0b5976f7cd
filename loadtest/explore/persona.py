"""The exploring respondent: a persona that answers as its plan says, and probes validation once.

A plan pins choice questions (single and multi) to answer ids; every other question gets a valid
answer from its formParam (core/answers.py), drawn from the respondent's own seeded generator, so
a walk is reproduced from its seed and plan alone. A choice question the plan does not name gets
its first answer that is not an "other" one: unpinned walks agree with each other, which is what
lets a walk that differs in one answer say what that answer did.

Validation is probed on a page the plan does not list as probed: the first submit breaks every
rule the page's formParam advertises that core/answers.py knows how to break (sent at once, so one
request names them all), then the valid form follows. The driver reads `probing` after each move
to tell the probe from the real submit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from loadtest.core.answers import Answerer, keys_of, kind_of
from loadtest.core.page import TERMINAL, PageReply, Question
from loadtest.core.persona import Abandon, Move, Param, Persona, Respondent, Submit, Uniform, rule

__all__ = ["CHOICE_KINDS", "ExplorerPersona", "PageKey", "Plan", "default_choice"]

PageKey = tuple[int, ...]  # a page is known by its question ids: the API gives pages no id
CHOICE_KINDS = ("single", "multi")


@dataclass(frozen=True, slots=True)
class Plan:
    purpose: str  # baseline | vary | speeder | straightline | quota_probe | chase
    pins: tuple[tuple[int, tuple[int, ...]], ...] = ()  # question id -> answer ids chosen
    think: bool = True  # False: no think time at all (the speeder probe)
    straightline: bool = False  # every grid row in one column (the straight-lining probe)
    probed: frozenset[PageKey] = frozenset()  # pages whose validation was probed already
    note: str = ""  # why this walk: shown in the map
    key: tuple[Any, ...] = field(default=(), compare=False)  # the planner's name for it

    def pin_map(self) -> dict[int, tuple[int, ...]]:
        return dict(self.pins)

    def to_json(self) -> dict[str, Any]:
        return {"purpose": self.purpose, "note": self.note, "think": self.think, "straightline": self.straightline,
                "pins": {str(q): list(a) for q, a in self.pins}}


def default_choice(q: Question) -> int:
    plain = [a.id for a in q.answers if not a.is_other]
    return plain[0] if plain else q.answers[0].id


class ExplorerPersona(Persona):
    name = "explorer"
    expects = frozenset(TERMINAL)  # nothing is unexpected: every outcome is information
    think = Uniform(0.4, 1.0)  # per question: a human pace, so only the speeder probe is a speeder
    parameters: ClassVar[Mapping[str, Param]] = {
        "plan": Param(Plan, None, "what this exploring respondent answers (the planner's)")}

    def __init__(self, respondent: Respondent) -> None:
        super().__init__(respondent)
        self.plan: Plan = self.params["plan"]
        self.probing = False  # the move just made is a validation probe
        self.probed_here: set[PageKey] = set()
        self.valid_form: dict[str, Any] | None = None  # the real answers of the page being probed

    def think_for(self, page: PageReply) -> float:
        return super().think_for(page) if self.plan.think else 0.0

    @rule(status="success")
    def answer(self, page: PageReply) -> Move:
        self.probing = False
        key = tuple(q.id for q in page.questions)
        form = self.form_for(page)
        if key not in self.plan.probed and key not in self.probed_here:
            self.probed_here.add(key)
            broken = self.broken(page, form)
            if broken is not None:
                self.probing, self.valid_form = True, form
                return Submit(broken, think_s=0.0)
        return self.submit(form, page)

    @rule(status="validation_errors")
    def fix(self, page: PageReply) -> Move:
        was_probe, self.probing = self.probing, False
        if was_probe and self.valid_form is not None:
            form, self.valid_form = self.valid_form, None
            return self.submit(form, page)
        # Our answers met every rule formParam advertises and were refused all the same: the map
        # shows the message; another guess would not be systematic.
        return Abandon("answers that met formParam were refused")

    @rule(status="language_selection_required")
    def pick_language(self, page: PageReply) -> Move:
        self.probing = False
        offered = list(page.languages) or ["en"]
        self.r.language = offered[0]  # the first offered: every explorer walks the same language
        self.r.set_language(offered[0])
        return Submit({"language": offered[0]})

    # --- forms ------------------------------------------------------------------------------------
    def form_for(self, page: PageReply) -> dict[str, Any]:
        pins = self.plan.pin_map()
        answers: Answerer = self.r.answers
        form: dict[str, Any] = {}
        for q in page.questions:
            kind = kind_of(q)  # a question we cannot answer fails the walk, named
            chosen = [a for a in pins.get(q.id, ()) if any(c.id == a for c in q.answers)]
            if kind == "single":
                form.update(answers.answer(q, prefer=str(chosen[0] if chosen else default_choice(q))))
            elif kind == "multi":
                form.update(self._multi(q, chosen or [default_choice(q)]))
            else:
                form.update(answers.answer(q, straightline=self.plan.straightline))
        return form

    def _multi(self, q: Question, picks: list[int]) -> dict[str, Any]:
        rules = q.form.rules
        low, high = rules.get("minSelections"), rules.get("maxSelections")
        low = low if isinstance(low, int) and not isinstance(low, bool) else 1
        high = high if isinstance(high, int) and not isinstance(high, bool) else len(q.answers)
        for a in q.answers:  # as few extra choices as the minimum needs, in order, never "other"
            if len(picks) >= low:
                break
            if a.id not in picks and not a.is_other:
                picks.append(a.id)
        picks = picks[: max(1, high)]
        prefix = q.form.other_prefix or "t_"
        form: dict[str, Any] = {f"m_{q.id}": [str(a) for a in picks]}
        for a in q.answers:
            if a.is_other and a.id in picks:
                form[f"{prefix}{a.id}"] = self.r.answers.text(3, 60)
        return form

    def broken(self, page: PageReply, form: dict[str, Any]) -> dict[str, Any] | None:
        """The page's form with every breakable question broken at once, or None if none is."""
        out = dict(form)
        broke = False
        for q in page.questions:
            bad = self.r.answers.invalid(q)
            if bad is None:
                continue
            for k in keys_of(q):
                out.pop(k, None)
            out.update(bad)
            broke = True
        return out if broke else None
