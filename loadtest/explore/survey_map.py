"""The survey map: what exploring showed, as one JSON document (survey-map.json).

Pages in the order the survey shows them, each with its questions and their formParam rules; for
each choice answer what followed it (the next page, or the ending it caused); for each page the
validation messages its probe drew; display logic (pages some walks skip, and the answers that
showed them); the screeners, quota cells, chain redirects and quality rules found; every walk
with its seed, plan and steps, so each path is reproduced from them; and what was not explored.
The document is plain JSON so that a scenario can be written from a saved map (scenario_writer).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from loadtest.core.answers import keys_of, kind_of
from loadtest.core.errors import UnanswerableQuestion
from loadtest.core.page import Question
from loadtest.explore.explorer import ExploreResult
from loadtest.explore.knowledge import LEADS_ON, Answer, Knowledge, Submitted, WalkRecord, choice_kind, ending_detail
from loadtest.explore.persona import PageKey

__all__ = ["build_map", "display_logic", "write_map"]


def build_map(result: ExploreResult, meta: dict[str, Any]) -> dict[str, Any]:
    k = result.knowledge
    order = k.order()
    number = {p: i + 1 for i, p in enumerate(order)}
    by_index = {w.index: w for w in k.walks}
    culprit = {id(s): a for a, seen in k.endings.items() for s in seen}
    logic = display_logic(k, order)
    doc: dict[str, Any] = {
        **meta,
        "stopped": result.stopped,
        "used": {"respondents": result.respondents, "requests": result.requests,
                 "seconds": round(result.seconds, 3), "throttled_429": result.throttled},
        "gates": _gates(k),
        "pages": [_page(k, p, number, culprit, logic.get(p)) for p in order],
        "outcomes": _outcomes(k),
        "screeners": [], "quota_cells": [], "chains": [],
        "quality": _quality(k, number),
        "display_logic": [{"page": number[p], "questions": list(p), "shown_after": cond}
                          for p, cond in logic.items()],
        "redirect_hosts": _redirect_hosts(k),
    }
    for (qid, aid), seen in sorted(k.endings.items()):
        first = seen[0]
        walk = k.walks[first.walk]
        found = {"question": qid, "answer": aid, "text": _answer_text(k, qid, aid), "page": number.get(first.page),
                 "walk": walk.index, "seed": walk.seed, "count": len(seen)}
        step = walk.steps[first.step]
        if first.result == "terminated":
            doc["screeners"].append({**found, "reason": step.details.get("terminateReason"),
                                     "redirect_host": step.details.get("redirect_host")})
        elif first.result == "quota_full":
            before = sum(1 for w in k.walks[: first.walk] if w.outcome == "survey_complete"
                         and aid in k.path_of(w).get(qid, ()))
            doc["quota_cells"].append({**found, "quota_id": step.details.get("quotaId"),
                                       "completes_before": before})
        else:
            doc["chains"].append({**found, "host": step.details.get("redirect_host"),
                                  "url": step.details.get("redirect_url")})
    doc["recommended_answers"] = _recommended(k, by_index)
    doc["not_explored"] = not_explored(result, order, number)
    doc["walks"] = [_walk(w, number) for w in sorted(k.walks, key=lambda w: w.index)]
    return doc


def write_map(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")


# --- pages -----------------------------------------------------------------------------------------
def _question(q: Question) -> dict[str, Any]:
    out: dict[str, Any] = {"id": q.id, "type": q.type, "kind": choice_kind(q) or _kind(q), "text": q.text,
                           "required": q.form.required, "formParam": q.form.rules,
                           "answers": [{"id": a.id, "text": a.text, **({"isOther": True} if a.is_other else {})}
                                       for a in q.answers]}
    if q.rows:
        out["rows"] = [{"id": r.id, "text": r.text} for r in q.rows]
    return out


def _kind(q: Question) -> str:
    try:
        return kind_of(q)
    except UnanswerableQuestion:
        return "unanswerable"


def _page(k: Knowledge, page: PageKey, number: dict[PageKey, int], culprit: dict[int, Answer],
          shown_after: list[dict[str, Any]] | None) -> dict[str, Any]:
    mine = [s for s in k.submits if s.page == page]
    questions = []
    for qid in page:
        q = k.questions.get(qid)
        if q is None:
            continue
        entry = _question(q)
        if choice_kind(q) is not None:
            for a in entry["answers"]:
                a["followed"] = _followed(k, [s for s in mine if not s.probe and a["id"] in s.choices.get(qid, ())],
                                          (qid, a["id"]), number, culprit)
        questions.append(entry)
    nexts: Counter[str] = Counter(_label(k, s, number) for s in mine if s.result in LEADS_ON)
    out: dict[str, Any] = {"page": number[page], "questions": questions,
                           "first_shown_by": k.pages.get(page),
                           "next": [{"to": to, "count": n} for to, n in sorted(nexts.items())]}
    if shown_after is not None:
        out["shown_only_after"] = shown_after
    out["validation"] = _validation(k, page)
    loose = [s for s in mine if s.result == "quota_full" and s in k.unexplained]
    if loose:
        out["unexplained_endings"] = [{"result": s.result, "detail": s.detail, "walk": k.walks[s.walk].index}
                                      for s in loose]
    return out


def _label(k: Knowledge, s: Submitted, number: dict[PageKey, int]) -> str:
    if s.result == "next":
        shown = k.walks[s.walk].steps[s.step].shown
        return f"page {number.get(shown) if shown is not None else '?'}"
    return s.result


def _followed(k: Knowledge, seen: list[Submitted], answer: Answer, number: dict[PageKey, int],
              culprit: dict[int, Answer]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Submitted]] = {}
    for s in seen:
        if s.result in LEADS_ON:
            groups.setdefault((_label(k, s, number), ""), []).append(s)
        elif culprit.get(id(s)) == answer:
            groups.setdefault((s.result, s.detail), []).append(s)
    out = []
    for (result, detail), group in groups.items():
        walk = k.walks[group[0].walk]
        entry: dict[str, Any] = {"result": result, "count": len(group), "walk": walk.index, "seed": walk.seed}
        if detail:
            entry["detail"] = detail
        out.append(entry)
    return out


def _validation(k: Knowledge, page: PageKey) -> dict[str, Any] | None:
    """What the page's probe drew: the messages, and the questions broken that no message named."""
    for walk in k.walks:
        for i, s in enumerate(walk.steps):
            if not s.probe or s.page != page:
                continue
            errors = s.details.get("validation_errors") or []
            named = {e.get("question") for e in errors}
            valid = next((t.form for t in walk.steps[i + 1:] if t.kind == "submit" and not t.probe), None) or {}
            sent = s.form or {}
            broken = [qid for qid in page if (q := k.questions.get(qid)) is not None
                      and any(sent.get(key) != valid.get(key) for key in _keys(q))]
            return {"walk": walk.index, "status": s.status, "errors": errors,
                    "not_enforced": [qid for qid in broken if qid not in named]}
    return None


def _keys(q: Question) -> set[str]:
    try:
        return keys_of(q)
    except UnanswerableQuestion:
        return set()


def display_logic(k: Knowledge, order: list[PageKey]) -> dict[PageKey, list[dict[str, Any]]]:
    """Pages some walks skipped: the answers (on earlier pages) every walk given them was shown
    the page after, and no walk that skipped it gave."""
    position = {p: i for i, p in enumerate(order)}
    paths = {w: k.path_of(w) for w in k.walks}
    out: dict[PageKey, list[dict[str, Any]]] = {}
    for page in order[1:]:
        shown, skipped = [], []
        for w in k.walks:
            seq = w.shown_pages()
            if page in seq:
                shown.append(w)
            elif w.outcome == "survey_complete" or any(position.get(p, -1) > position[page] for p in seq):
                skipped.append(w)
        if not shown or not skipped:
            continue
        earlier = {q for p in order[: position[page]] for q in p}

        def given(w: WalkRecord, earlier: set[int] = earlier) -> set[Answer]:
            return {(q, a) for q, ids in paths[w].items() if q in earlier for a in ids}

        never = set().union(*(given(w) for w in skipped))
        opened = sorted(set().union(*(given(w) for w in shown)) - never)
        by_q: dict[int, list[int]] = {}
        for q, a in opened:
            by_q.setdefault(q, []).append(a)
        out[page] = [{"question": q, "answers": ids} for q, ids in by_q.items()]
    return out


# --- findings ----------------------------------------------------------------------------------------
def _gates(k: Knowledge) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for w in k.walks:
        for s in w.steps:
            if s.status in ("authentication_required", "language_selection_required") and s.status not in out:
                out[s.status] = {"status": s.status, **({"languages": s.details["languages"]}
                                                        if "languages" in s.details else {})}
    for gate in out.values():
        gate["passed"] = any(w.shown_pages() for w in k.walks)
    return list(out.values())


def _outcomes(k: Knowledge) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[WalkRecord]] = {}
    for w in sorted(k.walks, key=lambda w: w.index):
        detail = _outcome_detail(w)
        groups.setdefault((w.outcome or "none", detail), []).append(w)
    return [{"outcome": o, **({"detail": d} if d else {}), "count": len(ws),
             "paths": [{"walk": w.index, "seed": w.seed, "purpose": w.plan.purpose} for w in ws[:10]]}
            for (o, d), ws in sorted(groups.items())]


def _outcome_detail(w: WalkRecord) -> str:
    if w.outcome == "failed" and w.error:
        return f"{w.error.get('error')}: {w.error.get('message')}"
    host = w.redirect_url and w.outcome == "redirect"
    return ending_detail(w.outcome or "", {**w.details, **({"redirect_host": _host(w)} if host else {})})


def _host(w: WalkRecord) -> str:
    return urlsplit(w.redirect_url or "").hostname or ""


def _redirect_hosts(k: Knowledge) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for w in k.walks:
        if w.redirect_url:
            out.setdefault(w.outcome or "none", set()).add(_host(w))
    return {status: sorted(hosts) for status, hosts in sorted(out.items())}


def _quality(k: Knowledge, number: dict[PageKey, int]) -> dict[str, Any]:
    twins = k.completes()
    out: dict[str, Any] = {}
    for purpose, name in (("speeder", "speeder"), ("straightline", "straightlining")):
        probe = next((w for w in k.walks if w.plan.purpose == purpose), None)
        if probe is None:
            out[name] = {"found": None, "why": "not probed"}
            continue
        ended = next((s for s in reversed(probe.steps) if s.kind == "submit" and s.page is not None), None)
        entry: dict[str, Any] = {"found": probe.outcome == "terminated", "walk": probe.index, "seed": probe.seed,
                                 "outcome": probe.outcome, "reason": probe.details.get("terminateReason"),
                                 "seconds": probe.seconds}
        if twins:
            entry.update(twin=twins[0].index, twin_seconds=twins[0].seconds)
        if purpose == "straightline" and ended is not None:
            entry["page"] = number.get(ended.page) if ended.page is not None else None
            entry["grids"] = [q for q in ended.page or () if (g := k.questions.get(q)) is not None and g.rows]
        out[name] = entry
    return out


def _recommended(k: Knowledge, by_index: dict[int, WalkRecord]) -> list[dict[str, Any]]:
    out = []
    for page in k.order():
        for q in k.choice_questions(page):
            if choice_kind(q) != "single":
                continue
            a = k.safe(q)
            led = next((s for s in k.submits if s.result in LEADS_ON and a in s.choices.get(q.id, ())), None)
            if led is None:
                continue
            walk = k.walks[led.walk]
            others = [f"{b.id} {e[0].result}" for b in q.answers if (e := k.endings.get((q.id, b.id)))]
            out.append({"question": q.id, "answer": a, "text": _answer_text(k, q.id, a), "walk": walk.index,
                        "seed": walk.seed, "led_to": _label(k, led, {p: i + 1 for i, p in enumerate(k.order())}),
                        "others_ending": others})
    return out


def _answer_text(k: Knowledge, qid: int, aid: int) -> str:
    q = k.questions.get(qid)
    return next((a.text for a in q.answers if a.id == aid), "") if q is not None else ""


def not_explored(result: ExploreResult, order: list[PageKey], number: dict[PageKey, int]) -> list[str]:
    k, planner = result.knowledge, result.planner
    out: list[str] = []
    if result.stopped != "explored":
        budget = {"respondents": "--respondents", "requests": "--requests", "duration": "--duration"}
        out.append(f"the budget ran out ({budget.get(result.stopped, result.stopped)}): exploring stopped "
                   f"after {result.respondents} respondents and {result.requests} requests")
    tried = k.tried()
    for page in order:
        for q in k.choice_questions(page):
            left = [a.id for a in q.answers if (q.id, a.id) not in tried]
            if left:
                out.append(f"page {number[page]}: question {q.id}: answers {', '.join(map(str, left))} never given")
    if not k.completes():
        out.append("no respondent completed the survey: pages after the last one shown are unknown")
    elif not any(w.plan.purpose == "speeder" for w in k.walks):
        out.append("the speeder probe (no think time) was not sent")
    grids = any(q.rows for q in k.questions.values())
    if grids and k.completes() and not any(w.plan.purpose == "straightline" for w in k.walks):
        out.append("the straight-lining probe (a grid in one column) was not sent")
    for s in k.unexplained:
        out.append(f"respondent {k.walks[s.walk].index} met quota_full on page {number.get(s.page)}; "
                   "which answer's cell it is was not found")
    if k.completes() and result.stopped != "explored":
        found = "no quota cell filled" if not k.quota_answers() else "cells of other answers may fill later"
        out.append(f"quota chasing stopped at answer combination {planner.chase_j + 1} ({planner.chase_cap} completes "
                   f"each): {found}")
    for page in order:
        if _validation(k, page) is None:
            out.append(f"page {number[page]}: validation was not probed")
    return out


def _walk(w: WalkRecord, number: dict[PageKey, int]) -> dict[str, Any]:
    return {"walk": w.index, "seed": w.seed, "transaction_id": w.transaction_id, "plan": w.plan.to_json(),
            "outcome": w.outcome, **({"details": w.details} if w.details else {}),
            **({"redirect_url": w.redirect_url} if w.redirect_url else {}),
            **({"error": w.error} if w.error else {}), "requests": w.requests, "seconds": w.seconds,
            "pages": [number.get(p) for p in w.shown_pages()],
            "steps": [s.to_json(number) for s in w.steps]}
