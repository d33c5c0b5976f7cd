"""Which walk to send next, from what the walks so far have shown (knowledge.py).

In this order, the first that has something to do:

1. a quota_full no one answer explains: a walk like it with one answer changed (in the order
   the path asked them; one such probe at a time), until one leads on where it ended;
2. once a walk completed: the same answers with no think time at all (a speeder rule?), then with
   every grid straight-lined (a straight-lining rule?);
3. every choice of every choice question not tried yet, page by page in the order the survey
   shows them, each on the answers that are known to lead on (so the walk differs from the
   others in that one answer); a page shown only after certain answers is reached with them; a
   page no answers have got past yet is tried one walk at a time, and the pages after it wait;
4. quota chasing: walks that complete with the same answers, so the cells those answers are in
   fill; combination j gives each question its j-th answer that leads on, until a quota_full is
   met or `chase_cap` completes were spent on it.

Nothing to do while walks are out means: wait for them (they may show more). A variation whose
walk ended for another answer's reason (or before its page) is handed out again, three times at
most; after that it stays untried, and the map says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loadtest.core.page import Question
from loadtest.explore.knowledge import Answer, Knowledge, Path, Submitted, choice_kind
from loadtest.explore.persona import PageKey, Plan

__all__ = ["Planner"]


@dataclass
class Planner:
    knowledge: Knowledge
    chase_cap: int = 25
    started: set[tuple[Any, ...]] = field(default_factory=set)  # plan keys handed out
    in_flight: dict[tuple[Any, ...], Plan] = field(default_factory=dict)
    chase_j: int = 0
    _chase_n: int = 0
    _attempts: Counter[Answer] = field(default_factory=Counter)

    def next(self) -> Plan | None:
        k = self.knowledge
        if not k.walks:
            return None if self.in_flight else self._hand(Plan("baseline", self._pins(), note="the default answers",
                                                              key=("baseline",)))
        for make in (self._quota_probe, self._rule_probes, self._variation, self._chase):
            plan = make()
            if plan is not None:
                return self._hand(plan)
        return None

    def finished(self, plan: Plan) -> None:
        self.in_flight.pop(plan.key, None)

    def _hand(self, plan: Plan) -> Plan:
        plan = Plan(plan.purpose, plan.pins, plan.think, plan.straightline, self.knowledge.probed(), plan.note,
                    plan.key)
        self.started.add(plan.key)
        self.in_flight[plan.key] = plan
        return plan

    def _fresh(self, key: tuple[Any, ...]) -> bool:
        return key not in self.started

    # --- answers ------------------------------------------------------------------------------------
    def _pins(self, path: Path | None = None, **change: tuple[int, ...]) -> tuple[tuple[int, tuple[int, ...]], ...]:
        """Every known choice question on a safe answer, then `path`'s answers, then the changes."""
        k = self.knowledge
        pins: dict[int, tuple[int, ...]] = {q.id: (k.safe(q),) for q in k.questions.values()
                                            if choice_kind(q) is not None}
        for qid, ids in (path or {}).items():
            pins[qid] = tuple(sorted(ids))
        pins.update({int(q): ids for q, ids in change.items()})
        return tuple(sorted(pins.items()))

    # --- 1. quota probes -------------------------------------------------------------------------------
    def _quota_probe(self) -> Plan | None:
        k = self.knowledge
        if any(key[0] == "quota_probe" for key in self.in_flight):
            return None  # one at a time: one probe that leads on explains every ending like it
        for s in k.unexplained:
            alike = tuple(sorted((q, tuple(sorted(ids))) for q, ids in s.path.items()))  # endings with these answers
            for q in self._probe_order(s):
                key = ("quota_probe", alike, q.id)
                if not self._fresh(key):
                    continue
                others = [a.id for a in q.answers if a.id not in s.path[q.id] and not k.ends_walk((q.id, a.id))]
                suspects = k.suspects()
                other = next((a for a in others if (q.id, a) in k.cleared and (q.id, a) not in suspects),
                             next((a for a in others if (q.id, a) in k.cleared), others[0] if others else None))
                if other is None:
                    continue
                walk = k.walks[s.walk]
                return Plan("quota_probe", self._pins(s.path, **{str(q.id): (other,)}), key=key,
                            note=f"respondent {walk.index} met quota_full: does question {q.id} = {other} instead?")
        return None

    def _probe_order(self, s: Submitted) -> list[Question]:
        """The path's questions in the order asked: a cell checked at completion is most often over
        an early (screening, demographic) question, and a cell checked on its own page is on the
        page the ending came from, which is then the path's last."""
        return [self.knowledge.questions[qid] for qid in s.path]

    # --- 2. rule probes ---------------------------------------------------------------------------------
    def _rule_probes(self) -> Plan | None:
        k = self.knowledge
        done = k.completes()
        if not done:
            return None
        twin = done[0]
        pins = self._pins(k.path_of(twin))
        if self._fresh(("speeder",)):
            return Plan("speeder", pins, think=False, key=("speeder",),
                        note=f"respondent {twin.index}'s answers with no think time at all")
        grids = [q for page in twin.shown_pages() for qid in page if (q := k.questions.get(qid)) is not None
                 and q.form.prefix == "u_" and q.form.id_type == "rowId" and len(q.rows) > 1 and len(q.answers) > 1]
        if grids and self._fresh(("straightline",)):
            return Plan("straightline", pins, straightline=True, key=("straightline",),
                        note=f"respondent {twin.index}'s answers with every grid row in one column")
        return None

    # --- 3. variations ----------------------------------------------------------------------------------
    def _variation(self) -> Plan | None:
        k = self.knowledge
        tried = k.tried()
        for page in k.order():
            passed = k.led_on(page)
            if not passed and any(key[0] == "vary" and key[1] in page for key in self.in_flight):
                return None  # one at a time until some answers get past this page: the others learn from it
            for q in k.choice_questions(page):
                for a in q.answers:
                    answer = (q.id, a.id)
                    n = self._attempts[answer]
                    # A walk that ended for another answer's reason said nothing of this one: once more.
                    if answer in tried or n >= 3 or any(key[:3] == ("vary", *answer) for key in self.in_flight):
                        continue
                    self._attempts[answer] += 1
                    return Plan("vary", self._pins(self._reach(page), **{str(q.id): (a.id,)}),
                                key=("vary", q.id, a.id, n), note=f"question {q.id} = {a.id}")
            if not passed:
                return None  # the pages after it are not reached yet
        return None

    def _reach(self, page: PageKey) -> Path:
        """For a page some walks skip (display logic): the answers of the latest walk that was shown
        it, but those that end walks or may be in a full cell. Other pages need none."""
        k = self.knowledge
        skipped = any(page not in w.shown_pages() and w.outcome == "survey_complete" for w in k.walks)
        if not skipped:
            return {}
        avoid = k.suspects()
        for s in reversed(k.submits):
            if s.result == "next" and k.walks[s.walk].steps[s.step].shown == page:
                return {q: ids for q, ids in s.path.items()
                        if not any(k.ends_walk((q, a)) or (q, a) in avoid for a in ids)}
        return {}

    # --- 4. quota chasing ----------------------------------------------------------------------------------
    def _chase(self) -> Plan | None:
        k = self.knowledge
        if not k.completes():
            return None
        questions = [q for page in k.order() for q in k.choice_questions(page)]
        options = {q.id: [a.id for a in q.answers if (q.id, a.id) in k.cleared
                          and not k.ends_walk((q.id, a.id), quota_too=False)] for q in questions}
        widest = max((len(v) for v in options.values()), default=0)
        quota = k.quota_answers()
        while self.chase_j < widest:
            j = self.chase_j
            mine = [w for w in k.walks if w.plan.key[:2] == ("chase", j)]
            spent = sum(w.outcome == "survey_complete" for w in mine) + sum(
                1 for key in self.in_flight if key[:2] == ("chase", j))
            if any(w.outcome == "quota_full" for w in mine) or spent >= self.chase_cap:
                self.chase_j += 1
                continue
            combo: dict[int, tuple[int, ...]] = {}
            for q in questions:
                ids = options[q.id]
                pick = ids[j % len(ids)] if ids else k.safe(q)
                combo[q.id] = ((k.safe(q) if (q.id, pick) in quota else pick),)
            self._chase_n += 1
            return Plan("chase", self._pins(None, **{str(q): a for q, a in combo.items()}),
                        key=("chase", j, self._chase_n),
                        note=f"combination {j}: completes with these answers, until a quota cell fills")
        return None
