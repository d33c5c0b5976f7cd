"""Check one submitted page against its questions: the platform's side of formParam.

Keys follow the formParam rules the page advertises: `u_{questionId}` (single; one per row for a
grid), `m_{questionId}` (multi: a list), `t_{answerId}` (text, numeric, and the text of an
"other" choice), `r_{answerId}` (rank), `s_{answerId}` (constant sum), and
`dt_day_{questionId}` / `dt_month_` / `dt_year_` (date). Values are strings (`m_` a list of them).
Keys for questions not on the page are ignored; a page's values are kept only if all are valid.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, TypeGuard

from loadtest.survey.model import Page, Question

__all__ = ["DATE_PARTS", "chosen_answers", "validate_page"]

DATE_PARTS = (("day", "dt_day_"), ("month", "dt_month_"), ("year", "dt_year_"))

REQUIRED = "This question requires an answer."

Errors = list[dict[str, Any]]


def validate_page(page: Page, body: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    """Return (the page's accepted form values, validation errors as {questionId, message})."""
    values: dict[str, Any] = {}
    errors: Errors = []
    for q in page.questions:
        message = _CHECKS[q.kind](q, body, values)
        if message is not None:
            errors.append({"questionId": q.id, "message": message})
    return (values if not errors else {}), errors


def chosen_answers(question: Question, values: dict[str, Any]) -> set[int]:
    """Answer ids chosen for a single or multi question, from accepted form values."""
    if question.kind == "single":
        value = values.get(f"u_{question.id}")
        return {int(value)} if value is not None else set()
    if question.kind == "multi":
        return {int(v) for v in values.get(f"m_{question.id}", ())}
    return set()


def _is_str(value: Any) -> TypeGuard[str]:
    return isinstance(value, str)


def _answer_id(q: Question, value: Any) -> int | None:
    if not _is_str(value) or not value.isdecimal():
        return None
    aid = int(value)
    return aid if q.answer(aid) is not None else None


def _other_text(q: Question, aid: int, body: dict[str, Any], values: dict[str, Any]) -> str | None:
    answer = q.answer(aid)
    if answer is None or not answer.other:
        return None
    text = body.get(f"t_{aid}")
    if not _is_str(text) or not text.strip():
        return "Please specify your other answer."
    values[f"t_{aid}"] = text
    return None


def _single(q: Question, body: dict[str, Any], values: dict[str, Any]) -> str | None:
    key = f"u_{q.id}"
    raw = body.get(key)
    if raw is None or raw == "":
        return REQUIRED if q.required else None
    aid = _answer_id(q, raw)
    if aid is None:
        return f"{raw!r} is not one of this question's answers."
    values[key] = raw
    return _other_text(q, aid, body, values)


def _multi(q: Question, body: dict[str, Any], values: dict[str, Any]) -> str | None:
    key = f"m_{q.id}"
    raw = body.get(key)
    if raw is None or raw == []:
        if q.required or q.min_selections:
            return REQUIRED
        return None
    if not isinstance(raw, list):
        return "Expected a list of answer ids."
    ids = [_answer_id(q, v) for v in raw]
    if any(a is None for a in ids):
        return "Every selection must be one of this question's answers."
    if len(set(ids)) != len(ids):
        return "Each answer may be selected once."
    if q.min_selections is not None and len(ids) < q.min_selections:
        return f"Select at least {q.min_selections}."
    if q.max_selections is not None and len(ids) > q.max_selections:
        return f"Select at most {q.max_selections}."
    values[key] = list(raw)
    for aid in ids:
        assert aid is not None
        message = _other_text(q, aid, body, values)
        if message:
            return message
    return None


def _text(q: Question, body: dict[str, Any], values: dict[str, Any]) -> str | None:
    key = f"t_{q.answers[0].id}"
    raw = body.get(key)
    if raw is None or (_is_str(raw) and not raw.strip()):
        return REQUIRED if q.required else None
    if not _is_str(raw):
        return "Expected text."
    if q.min_length is not None and len(raw) < q.min_length:
        return f"Please enter at least {q.min_length} characters."
    if q.max_length is not None and len(raw) > q.max_length:
        return f"Please enter at most {q.max_length} characters."
    values[key] = raw
    return None


def _numeric(q: Question, body: dict[str, Any], values: dict[str, Any]) -> str | None:
    key = f"t_{q.answers[0].id}"
    raw = body.get(key)
    if raw is None or raw == "":
        return REQUIRED if q.required else None
    try:
        number = float(raw) if _is_str(raw) else None
    except ValueError:
        number = None
    if number is None or number != number or number in (float("inf"), float("-inf")):
        return "Please enter a number."
    if q.integer and not number.is_integer():
        return "Please enter a whole number."
    if q.min_value is not None and number < q.min_value:
        return f"Please enter a number of at least {_fmt(q.min_value)}."
    if q.max_value is not None and number > q.max_value:
        return f"Please enter a number of at most {_fmt(q.max_value)}."
    values[key] = raw
    return None


def _grid(q: Question, body: dict[str, Any], values: dict[str, Any]) -> str | None:
    picked: dict[str, Any] = {}
    for row in q.rows:
        key = f"u_{row.id}"
        raw = body.get(key)
        if raw is None or raw == "":
            continue
        if _answer_id(q, raw) is None:
            return f"{raw!r} is not one of this grid's columns."
        picked[key] = raw
    if q.required and len(picked) < len(q.rows):
        return "Please answer every row."
    values.update(picked)
    return None


def _date(q: Question, body: dict[str, Any], values: dict[str, Any]) -> str | None:
    raw: dict[str, Any] = {part: body.get(f"{prefix}{q.id}") for part, prefix in DATE_PARTS}
    if all(v is None or v == "" for v in raw.values()):
        return REQUIRED if q.required else None
    if not all(_is_str(v) and v.isdecimal() for v in raw.values()):
        return "Please enter a day, a month and a year."
    try:
        day = datetime.date(int(raw["year"]), int(raw["month"]), int(raw["day"]))
    except (ValueError, OverflowError):  # OverflowError: a year past C's long (10^30)
        return "Please enter a valid date."
    if not q.min_year <= day.year <= q.max_year:
        return f"Please enter a year from {q.min_year} to {q.max_year}."
    values.update({f"{prefix}{q.id}": raw[part] for part, prefix in DATE_PARTS})
    return None


def _rank(q: Question, body: dict[str, Any], values: dict[str, Any]) -> str | None:
    raw: dict[str, Any] = {f"r_{a.id}": body.get(f"r_{a.id}") for a in q.answers}
    if all(v is None or v == "" for v in raw.values()):
        return REQUIRED if q.required else None
    n = len(q.answers)
    if not all(_is_str(v) and v.isdecimal() for v in raw.values()):
        return f"Please rank every item from 1 to {n}."
    if sorted(int(v) for v in raw.values()) != list(range(1, n + 1)):
        return f"Each rank from 1 to {n} must be used once."
    values.update(raw)
    return None


def _sum(q: Question, body: dict[str, Any], values: dict[str, Any]) -> str | None:
    raw: dict[str, Any] = {f"s_{a.id}": body.get(f"s_{a.id}") for a in q.answers}
    if all(v is None or v == "" for v in raw.values()):
        return REQUIRED if q.required else None
    if not all(_is_str(v) and v.isdecimal() for v in raw.values()):
        return "Please enter a whole number of 0 or more for every item."
    total = sum(int(v) for v in raw.values())
    if total != q.total:
        return f"The values must add up to {q.total} (they add up to {total})."
    values.update(raw)
    return None


def _fmt(x: float) -> str:
    return str(int(x)) if x.is_integer() else str(x)


_CHECKS: dict[str, Callable[[Question, dict[str, Any], dict[str, Any]], str | None]] = {
    "single": _single,
    "multi": _multi,
    "text": _text,
    "numeric": _numeric,
    "grid": _grid,
    "date": _date,
    "rank": _rank,
    "sum": _sum,
}
