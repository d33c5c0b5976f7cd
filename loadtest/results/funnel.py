"""The survey funnel: per survey and persona, how many respondents reached each page, answered
it, and ended there (by outcome). Mergeable like Metrics' counters (Locust workers -> master).

A page is known by the question ids it showed ("10001,10002"): that is all a respondent sees of a
remote target. Against a survey file (the embedded platform) the summary names each page by the
survey's own page id and puts them in the survey's order; otherwise pages are ordered by where
respondents first met them (the mean position on their paths), ties by question id.

Per respondent, from RespondentResult.pages (every page shown, repeats included):
- reached: each distinct page shown, once;
- answered: a page followed by a page first met later on the path (a forward move: going back
  goes to a page met earlier, a validation error shows the same page again), or the last page
  when the platform's own outcome followed it (its submit ended the survey: complete, screened
  out, quota full); a respondent that abandoned, was cut off or failed left it unanswered;
- ended there: the last page shown, by outcome; a respondent shown no page at all (quota full
  or closed on entry, a failed take) ended before the first page;
- validation errors: each validation_errors reply, on the page it showed again (the result
  keeps statuses and pages apart: every success or validation_errors reply shows a page, so the
  n-th of them is the n-th page; a respondent whose two lists do not line up is left out of it).
Beside them, per survey and persona: terminate reasons and the quota cells that were full.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from loadtest.core.flow_values import RespondentResult
from loadtest.survey.model import Survey

__all__ = ["BEFORE_FIRST_PAGE", "Funnel", "funnel_rows", "funnel_summary", "terminate_reason"]

MAX_PAGES = 300  # distinct pages kept per survey and persona; the rest are counted as "other"
OTHER = "other"
OTHER_KEY: tuple[int, ...] = ()  # inside: a page is the tuple of its question ids; no page shows none
BEFORE_FIRST_PAGE = "(entry)"  # the take: every respondent reached it; those shown a page passed it
NOT_SUBMITTED = frozenset({"abandoned", "incomplete", "failed", "rate_limited"})

PAGE_STATUSES = frozenset({"success", "validation_errors"})  # replies that always show a page (seed 000)

# persona -> [respondents, {outcome: n} of those shown no page, {page key: [reached, answered, position sum,
# {outcome: n}, validation errors]}, {terminate reason: n}, {quota id: n}]
PersonaCells = list[Any]


def _new() -> PersonaCells:
    return [0, Counter(), {}, Counter(), Counter()]


def terminate_reason(details: Mapping[str, Any]) -> str:
    """A terminate reason as a label: the reference platform's {kind, rule}, or a target's string."""
    reason = details.get("terminateReason")
    if isinstance(reason, dict):
        kind, rule = reason.get("kind"), reason.get("rule")
        return f"{kind}: {rule}" if kind and rule and kind != rule else str(rule or kind or "unknown")
    return str(reason) if reason not in (None, "") else "(not given)"


class Funnel:
    def __init__(self) -> None:
        self.surveys: dict[int, dict[str, PersonaCells]] = {}

    def record(self, result: RespondentResult) -> None:
        outcome = result.outcome or "incomplete"
        personas = self.surveys.get(result.survey_id)
        if personas is None:
            personas = self.surveys[result.survey_id] = {}
        cells = personas.get(result.persona)
        if cells is None:  # not setdefault: that would build three Counters a respondent
            cells = personas[result.persona] = _new()
        cells[0] += 1
        if outcome == "terminated":
            cells[3][terminate_reason(result.details)] += 1
        elif outcome == "quota_full":
            cells[4][str(result.details.get("quotaId") or "(not given)")] += 1
        if not result.pages:
            cells[1][outcome] += 1
            return
        # Every respondent passes here, on the drivers' loop: tuples and sets, no strings.
        keys = result.pages
        first = {key: i for i, key in enumerate(dict.fromkeys(keys))}
        answered = {a for a, b in pairwise(keys) if first[b] > first[a]}
        if outcome not in NOT_SUBMITTED:
            answered.add(keys[-1])
        pages = cells[2]
        cell_of = self._cell
        for key, position in first.items():
            cell = pages.get(key) or cell_of(pages, key)
            cell[0] += 1
            cell[1] += key in answered
            cell[2] += position
        ended = (pages.get(keys[-1]) or cell_of(pages, keys[-1]))[3]
        ended[outcome] = ended.get(outcome, 0) + 1
        if "validation_errors" in result.statuses:
            shown = [s for s in result.statuses if s in PAGE_STATUSES]
            if len(shown) == len(keys):
                for key, status in zip(keys, shown, strict=True):
                    if status == "validation_errors":
                        cell_of(pages, key)[4] += 1

    @staticmethod
    def _cell(pages: dict[tuple[int, ...], list[Any]], key: tuple[int, ...]) -> list[Any]:
        cell = pages.get(key)
        if cell is None:
            if len(pages) >= MAX_PAGES:
                key = OTHER_KEY
                cell = pages.get(key)
            if cell is None:
                cell = pages[key] = [0, 0, 0, {}, 0]
        return cell

    # --- between processes --------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        return {str(sid): {name: [c[0], dict(c[1]),
                                  {_text(k): [*v[:3], dict(v[3]), v[4]] for k, v in c[2].items()},
                                  dict(c[3]), dict(c[4])]
                           for name, c in personas.items()}
                for sid, personas in self.surveys.items()}

    def absorb(self, data: dict[str, Any]) -> None:
        for sid, personas in data.items():
            mine = self.surveys.setdefault(int(sid), {})
            for name, (respondents, before, pages, reasons, quotas) in personas.items():
                _add(mine.setdefault(name, _new()),
                     [respondents, before, {_key(k): v for k, v in pages.items()}, reasons, quotas], self._cell)


def _text(key: tuple[int, ...]) -> str:
    return ",".join(map(str, key)) if key else OTHER


def _key(text: str) -> tuple[int, ...]:
    return tuple(int(q) for q in text.split(",")) if text != OTHER else OTHER_KEY


def _add(cells: PersonaCells, other: PersonaCells, cell_of: Any) -> None:
    respondents, before, pages, reasons, quotas = other
    cells[0] += respondents
    cells[1].update(before)
    cells[3].update(reasons)
    cells[4].update(quotas)
    for key, (reached, answered, positions, ended, invalid) in pages.items():
        cell = cell_of(cells[2], key)
        cell[0] += reached
        cell[1] += answered
        cell[2] += positions
        cell[4] += invalid
        for outcome, n in ended.items():
            cell[3][outcome] = cell[3].get(outcome, 0) + n


# --- summary.json ------------------------------------------------------------------------------------
def _labels(survey: Survey | None) -> dict[int, tuple[int, str]]:
    """Question id -> (page index, page id) in the survey file, when there is one."""
    if survey is None:
        return {}
    return {q.id: (i, page.id) for i, page in enumerate(survey.pages) for q in page.questions}


def _merge(personas: list[PersonaCells]) -> PersonaCells:
    out = _new()
    for cells in personas:
        _add(out, cells, lambda pages, key: pages.setdefault(key, [0, 0, 0, {}, 0]))
    return out


Key = tuple[int, ...]


def _order(cells: PersonaCells, labels: dict[int, tuple[int, str]]) -> list[Key]:
    def key(page: Key) -> tuple[float, Key]:
        known = [labels[q][0] for q in page if q in labels]
        where = float(min(known)) if known else cells[2][page][2] / max(cells[2][page][0], 1)
        return (where if page != OTHER_KEY else float("inf"), page)

    return sorted(cells[2], key=key)


def _block(cells: PersonaCells, order: list[Key], labels: dict[int, tuple[int, str]]) -> dict[str, Any]:
    pages = []
    for key in order:
        if key not in cells[2]:
            continue
        reached, answered, _, ended, invalid = cells[2][key]
        named = next((labels[q][1] for q in key if q in labels), None)
        pages.append({"page": named or (f"questions {_text(key)}" if key != OTHER_KEY else OTHER),
                      "questions": list(key),
                      "reached": reached, "answered": answered, "ended": dict(sorted(ended.items())),
                      "validation_errors": invalid})
    return {"respondents": cells[0], "ended_before_first_page": dict(sorted(cells[1].items())), "pages": pages,
            "terminate_reasons": dict(sorted(cells[3].items())), "quota_full_cells": dict(sorted(cells[4].items()))}


def funnel_summary(funnel: Funnel, surveys: tuple[Survey, ...] = ()) -> dict[str, Any]:
    """summary.json's `funnel`: per survey, all personas together (`all`) and each persona, pages
    in the survey's order."""
    by_id = {s.id: s for s in surveys}
    out: dict[str, Any] = {}
    for sid, personas in sorted(funnel.surveys.items()):
        labels = _labels(by_id.get(sid))
        total = _merge(list(personas.values()))
        order = _order(total, labels)
        out[str(sid)] = {"title": by_id[sid].title if sid in by_id else None,
                         "all": _block(total, order, labels),
                         "personas": {name: _block(cells, order, labels) for name, cells in sorted(personas.items())}}
    return out


def funnel_rows(summary_funnel: dict[str, Any], personas: bool = True) -> list[dict[str, Any]]:
    """One flat row per survey, persona ("all" first) and page: the Locust Funnel tab, the report."""
    rows: list[dict[str, Any]] = []
    for sid, survey in summary_funnel.items():
        blocks = [("all", survey["all"])] + (list(survey["personas"].items()) if personas else [])
        for name, block in blocks:
            before = block["ended_before_first_page"]
            rows.append(_row(sid, name, BEFORE_FIRST_PAGE, block["respondents"],
                             block["respondents"] - sum(before.values()), before))
            for page in block["pages"]:
                rows.append(_row(sid, name, page["page"], page["reached"], page["answered"], page["ended"],
                                 page["validation_errors"]))
    return rows


def _row(sid: str, persona: str, page: str, reached: int, answered: int, ended: dict[str, int],
         invalid: int = 0) -> dict[str, Any]:
    main = ("survey_complete", "terminated", "quota_full", "abandoned")
    return {"survey": sid, "persona": persona, "page": page, "reached": reached, "answered": answered,
            "dropped": reached - answered, "completed": ended.get("survey_complete", 0),
            "terminated": ended.get("terminated", 0), "quota_full": ended.get("quota_full", 0),
            "abandoned": ended.get("abandoned", 0),
            "other": sum(n for k, n in ended.items() if k not in main), "validation_errors": invalid}
