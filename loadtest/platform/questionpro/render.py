"""Render survey pages into the respondent API's `questions[]` entries (seed 000 / 001).

Each entry has `html` (a small pre-rendered row) and `json` (the question with its `formParam`).
formParam carries everything a client needs to answer correctly: prefix, id type, and the
validation rules (required, lengths, ranges, selection counts, date parts, sum total).
Pages with nothing selected are rendered once per language and cached; a page re-shown with
earlier answers (previous-page, validation errors) marks them: `selected: true` on chosen
answers, `value` with the string that was posted (text, numbers, grid rows, ranks, sums, dates).
"""

from __future__ import annotations

import copy
from html import escape
from typing import Any

import orjson

from loadtest.platform.rules.validation import DATE_PARTS
from loadtest.survey.model import QUESTION_CODES, Page, Question, Survey

__all__ = ["PageRenderer"]


def _form_param(q: Question) -> dict[str, Any]:
    fp: dict[str, Any] = {"required": q.required}
    kind = q.kind
    if kind == "single":
        fp.update(paramPrefix="u_", paramIdType="questionId")
    elif kind == "multi":
        fp.update(paramPrefix="m_", paramIdType="questionId")
        if q.min_selections is not None:
            fp["minSelections"] = q.min_selections
        if q.max_selections is not None:
            fp["maxSelections"] = q.max_selections
    elif kind == "text":
        fp.update(paramPrefix="t_", paramIdType="answerId")
        if q.min_length is not None:
            fp["minLength"] = q.min_length
        if q.max_length is not None:
            fp["maxLength"] = q.max_length
    elif kind == "numeric":
        fp.update(paramPrefix="t_", paramIdType="answerId", inputType="number", integer=q.integer)
        if q.min_value is not None:
            fp["min"] = q.min_value
        if q.max_value is not None:
            fp["max"] = q.max_value
    elif kind == "grid":
        fp.update(paramPrefix="u_", paramIdType="rowId")
    elif kind == "date":
        fp.update(
            paramPrefix="dt_",
            paramIdType="questionId",
            partPrefixes={part: prefix for part, prefix in DATE_PARTS},
            minYear=q.min_year,
            maxYear=q.max_year,
        )
    elif kind == "rank":
        fp.update(paramPrefix="r_", paramIdType="answerId", minRank=1, maxRank=len(q.answers))
    elif kind == "sum":
        fp.update(paramPrefix="s_", paramIdType="answerId", total=q.total)
    if any(a.other for a in q.answers):
        fp["otherParamPrefix"] = "t_"
    return fp


def _question_json(q: Question, lang: str) -> dict[str, Any]:
    answers = []
    for a in q.answers:
        entry: dict[str, Any] = {"id": a.id, "text": a.text[lang]}
        if a.other:
            entry["isOther"] = True
        answers.append(entry)
    out: dict[str, Any] = {"id": q.id, "type": QUESTION_CODES[q.kind], "text": q.text[lang], "answers": answers}
    if q.rows:
        out["rows"] = [{"id": r.id, "text": r.text[lang]} for r in q.rows]
    out["formParam"] = _form_param(q)
    return out


def _html(qj: dict[str, Any]) -> str:
    """A minimal question row; selected answers carry `checked`, entered values `value`."""
    items = "".join(
        f"<li data-answer-id='{a['id']}'{' checked' if a.get('selected') else ''}>{escape(a['text'])}</li>"
        for a in qj["answers"]
    )
    return (
        f"<div class='qstn-row' data-question-id='{qj['id']}' data-type='{qj['type']}'>"
        f"<p class='qstn-text'>{escape(qj['text'])}</p><ul>{items}</ul></div>"
    )


def _mark(q: Question, qj: dict[str, Any], values: dict[str, Any]) -> None:
    """Mark a question's JSON with earlier answers (mutates the copy it is given)."""
    # Values can be whatever a client sent (a validation_errors page shows them back): only a
    # string marks a single choice, only strings in a list mark a multi choice.
    chosen: set[str] = set()
    single, multi = values.get(f"u_{q.id}"), values.get(f"m_{q.id}")
    if q.kind == "single" and isinstance(single, str):
        chosen = {single}
    elif q.kind == "multi" and isinstance(multi, list):
        chosen = {v for v in multi if isinstance(v, str)}
    for a in qj["answers"]:
        sid = str(a["id"])
        if sid in chosen:
            a["selected"] = True
        for prefix in ("t_", "r_", "s_"):
            if f"{prefix}{sid}" in values:
                a["value"] = values[f"{prefix}{sid}"]
    for row in qj.get("rows", ()):
        if f"u_{row['id']}" in values:
            row["value"] = values[f"u_{row['id']}"]
    if q.kind == "date" and f"dt_day_{q.id}" in values:
        qj["value"] = {part: values.get(f"{prefix}{q.id}") for part, prefix in DATE_PARTS}


class PageRenderer:
    """Renders one survey's pages; unmarked pages are cached per (page id, language)."""

    def __init__(self, survey: Survey) -> None:
        self.survey = survey
        self._cache: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def _entry(self, qj: dict[str, Any]) -> dict[str, Any]:
        as_json: Any = orjson.dumps(qj).decode() if self.survey.json_as_string else qj
        return {"html": _html(qj), "json": as_json}

    def questions(self, page: Page, lang: str, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        if not values:
            key = (page.id, lang)
            cached = self._cache.get(key)
            if cached is None:
                cached = self._cache[key] = [self._entry(_question_json(q, lang)) for q in page.questions]
            return cached
        out = []
        for q in page.questions:
            qj = copy.deepcopy(_question_json(q, lang))
            _mark(q, qj, values)
            out.append(self._entry(qj))
        return out
