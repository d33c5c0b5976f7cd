"""What the walks so far have shown: pages and their order, and what each answer did.

Theory of operation. Every submit of every walk is one observation: the page, the choices on it
(single and multi questions), the choices on the walk's path up to it, and what followed. A submit
that led on (another page, or completion) clears every answer on it: none of them ends a walk.
An ending (terminated, quota_full, redirect) is put on one answer only when that is certain:

- by difference: another submit of the same page led on with the same path but one question
  answered otherwise (for quota_full that submit must come later: a cell fills over time);
- or, for endings that do not depend on time, when exactly one answer on the page was never
  cleared.

A quota_full neither explains stays "unexplained" until the planner's probes (a walk that changes
one answer of it) explain it. Terminations whose reason says `quality` are the survey's quality
rules, never an answer's doing. Walks that probe a rule (no think time, a straight-lined grid)
are kept out of the answers' endings for the same reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from loadtest.core.answers import kind_of
from loadtest.core.errors import UnanswerableQuestion
from loadtest.core.page import Question
from loadtest.explore.persona import CHOICE_KINDS, PageKey, Plan, default_choice

__all__ = ["ENDINGS", "LEADS_ON", "Answer", "Knowledge", "Path", "Step", "Submitted", "WalkRecord", "choice_kind",
           "ending_detail"]

LEADS_ON = frozenset({"next", "survey_complete"})
ENDINGS = frozenset({"terminated", "quota_full", "redirect"})
RULE_PROBES = frozenset({"speeder", "straightline"})
Answer = tuple[int, int]  # (question id, answer id)
Path = dict[int, frozenset[int]]  # question id -> answer ids chosen


@dataclass(slots=True)
class Step:
    kind: str  # take | submit | gate | resume
    status: str  # the reply's status; "lost" (no reply), "http_NNN", "contract_error"
    page: PageKey | None = None  # the page a submit was sent from
    form: dict[str, Any] | None = None
    shown: PageKey | None = None  # the page the reply showed
    probe: bool = False  # a validation probe: the page's rules broken on purpose
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self, number: dict[PageKey, int]) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "status": self.status}
        if self.page is not None:
            out["page"] = number.get(self.page)
        if self.form is not None:
            out["form"] = self.form
        if self.shown is not None:
            out["shown"] = number.get(self.shown)
        if self.probe:
            out["probe"] = True
        out.update(self.details)
        return out


@dataclass(slots=True, eq=False)  # one walk is one walk: kept in sets and dicts by identity
class WalkRecord:
    index: int
    seed: int
    transaction_id: str
    plan: Plan
    steps: list[Step] = field(default_factory=list)
    outcome: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # terminateReason, quotaId of the outcome
    redirect_url: str | None = None
    error: dict[str, str] | None = None
    requests: int = 0
    seconds: float = 0.0  # think time and replies, first take to last reply

    def shown_pages(self) -> list[PageKey]:
        seen: list[PageKey] = []
        for s in self.steps:
            if s.shown is not None and (not seen or seen[-1] != s.shown):
                seen.append(s.shown)
        return seen


@dataclass(frozen=True, slots=True)
class Submitted:
    walk: int  # the walk's place in Knowledge.walks (finish order)
    step: int
    page: PageKey
    choices: Path  # on this page
    path: Path  # on the walk's path up to and with this page
    result: str  # next | survey_complete | terminated | quota_full | redirect | validation_errors | ...
    detail: str  # the ending's reason, quota id or redirect host
    probe: bool
    purpose: str


def choice_kind(q: Question) -> str | None:
    try:
        kind = kind_of(q)
    except UnanswerableQuestion:
        return None
    return kind if kind in CHOICE_KINDS else None


def _ids(value: Any) -> frozenset[int]:
    values = value if isinstance(value, list) else [value]
    return frozenset(int(v) for v in values if isinstance(v, (str, int)) and str(v).isdecimal())


def ending_detail(status: str, details: dict[str, Any]) -> str:
    if status == "terminated":
        reason = details.get("terminateReason")
        if isinstance(reason, dict):
            return ":".join(str(reason[k]) for k in ("kind", "rule") if k in reason)
        return str(reason) if reason else ""
    if status == "quota_full":
        return str(details.get("quotaId") or "")
    if status == "redirect":
        return str(details.get("redirect_host") or "")
    return ""


class Knowledge:
    def __init__(self) -> None:
        self.walks: list[WalkRecord] = []
        self.questions: dict[int, Question] = {}
        self.pages: dict[PageKey, int] = {}  # page -> the walk index that first showed it
        self.submits: list[Submitted] = []
        self.cleared: set[Answer] = set()
        self.endings: dict[Answer, list[Submitted]] = {}
        self.unexplained: list[Submitted] = []  # quota_full on no one answer yet
        self.rule_endings: list[Submitted] = []  # quality terminations, rule probes' endings
        self._final: dict[int, Path] = {}  # id(walk) -> the answers on its final path

    # --- input -------------------------------------------------------------------------------------
    def note_page(self, questions: Iterable[Question], status: str, walk_index: int) -> PageKey:
        qs = tuple(questions)
        key = tuple(q.id for q in qs)
        self.pages.setdefault(key, walk_index)
        for q in qs:  # the plain version, not one shown again with earlier answers marked
            known = self.questions.get(q.id)
            if known is None or (_marked(known) and not _marked(q)):
                self.questions[q.id] = q
        return key

    def add(self, walk: WalkRecord) -> None:
        self.walks.append(walk)
        self._analyse()

    # --- derived -----------------------------------------------------------------------------------
    def page_choices(self, page: PageKey, form: dict[str, Any]) -> Path:
        out: Path = {}
        for qid in page:
            q = self.questions.get(qid)
            kind = choice_kind(q) if q is not None else None
            if q is None or kind is None:
                continue
            ids = _ids(form.get(f"u_{qid}") if kind == "single" else form.get(f"m_{qid}"))
            if ids:
                out[qid] = ids
        return out

    def _analyse(self) -> None:
        self.submits, self._final = [], {}
        for w, walk in enumerate(self.walks):
            path: Path = {}
            for i, step in enumerate(walk.steps):
                if step.kind != "submit" or step.page is None or step.form is None or step.status in (
                        "lost", "contract_error"):
                    continue
                choices = self.page_choices(step.page, step.form)
                result = "next" if step.status == "success" and step.shown is not None else step.status
                if result != "validation_errors":
                    path = {**path, **choices}
                self.submits.append(Submitted(w, i, step.page, choices, dict(path), result,
                                              ending_detail(step.status, step.details), step.probe,
                                              walk.plan.purpose))
            self._final[id(walk)] = path
        self.cleared = {(q, a) for s in self.submits if s.result in LEADS_ON for q, ids in s.choices.items()
                        for a in ids}
        led_on: dict[PageKey, list[Submitted]] = {}
        for s in self.submits:
            if s.result in LEADS_ON:
                led_on.setdefault(s.page, []).append(s)
        self.endings, self.rule_endings = {}, []
        open_quota: list[Submitted] = []
        for s in self.submits:
            if s.result not in ENDINGS:
                continue
            if s.purpose in RULE_PROBES or (s.result == "terminated" and s.detail.startswith("quality")):
                self.rule_endings.append(s)
                continue
            culprit = self._culprit(s, led_on.get(s.page, []))
            if culprit is not None:
                self.endings.setdefault(culprit, []).append(s)
            elif s.result == "quota_full":
                open_quota.append(s)
        quota = self.quota_answers()
        self.unexplained = [s for s in open_quota if not any((q, a) in quota for q, ids in s.path.items() for a in ids)]

    def _culprit(self, s: Submitted, led_on: list[Submitted]) -> Answer | None:
        for t in led_on:
            if t.path.keys() != s.path.keys():
                continue
            if s.result == "quota_full" and t.walk <= s.walk:
                continue
            differ = [q for q in s.path if s.path[q] != t.path[q]]
            if len(differ) == 1:
                extra = sorted(s.path[differ[0]] - t.path[differ[0]])
                if extra:
                    return differ[0], extra[0]
        if s.result == "quota_full":
            return None
        unknown = [(q, a) for q, ids in s.choices.items() for a in ids if (q, a) not in self.cleared]
        return unknown[0] if len(unknown) == 1 else None

    def quota_answers(self) -> set[Answer]:
        return {a for a, seen in self.endings.items() if any(s.result == "quota_full" for s in seen)}

    def ends_walk(self, answer: Answer, *, quota_too: bool = True) -> bool:
        seen = self.endings.get(answer, ())
        return any(quota_too or s.result != "quota_full" for s in seen)

    def tried(self) -> set[Answer]:
        """Answers given where what followed says something about them: the page led on, or every
        other answer on it is known to lead on (so an ending there is theirs, or a quota's)."""
        out: set[Answer] = set()
        for s in self.submits:
            if s.probe:
                continue
            given = [(q, a) for q, ids in s.choices.items() for a in ids]
            for answer in given:
                if s.result in LEADS_ON or all(other in self.cleared for other in given if other != answer):
                    out.add(answer)
        return out

    def led_on(self, page: PageKey) -> bool:
        return any(s.page == page and s.result in LEADS_ON for s in self.submits)

    def order(self) -> list[PageKey]:
        """Pages in the order walks meet them (display logic skips some: a topological order)."""
        first = list(self.pages)
        after: dict[PageKey, set[PageKey]] = {p: set() for p in first}
        for walk in self.walks:
            seq = walk.shown_pages()
            for a, b in itertools.pairwise(seq):
                if a != b and b in after and a in after:
                    after[b].add(a)
        out: list[PageKey] = []
        left = list(first)
        while left:
            ready = next((p for p in left if after[p] <= set(out)), left[0])  # a cycle: first seen goes first
            out.append(ready)
            left.remove(ready)
        return out

    def choice_questions(self, page: PageKey) -> list[Question]:
        return [q for qid in page if (q := self.questions.get(qid)) is not None and choice_kind(q) is not None]

    def suspects(self) -> set[Answer]:
        """Answers on the page of a quota_full no one answer explains yet: one of them is in a full cell."""
        return {(q, a) for s in self.unexplained for q, ids in s.choices.items() for a in ids}

    def safe(self, q: Question) -> int:
        """An answer to q that led on and ends no walk (nor may be in a full cell): the default one
        when it qualifies."""
        candidates = [default_choice(q), *(a.id for a in q.answers)]
        suspects = self.suspects()
        for wanted in (lambda a: (q.id, a) in self.cleared and (q.id, a) not in suspects,
                       lambda a: (q.id, a) in self.cleared, lambda a: True):
            for a in candidates:
                if wanted(a) and not self.ends_walk((q.id, a)):
                    return a
        return default_choice(q)

    def completes(self) -> list[WalkRecord]:
        return [w for w in self.walks if w.outcome == "survey_complete" and w.plan.purpose not in RULE_PROBES]

    def path_of(self, walk: WalkRecord) -> Path:
        return self._final.get(id(walk), {})

    def probed(self) -> frozenset[PageKey]:
        return frozenset(s.page for w in self.walks for s in w.steps if s.probe and s.page is not None)


def _marked(q: Question) -> bool:
    return any(a.selected or a.value is not None for a in (*q.answers, *q.rows)) or q.value is not None
