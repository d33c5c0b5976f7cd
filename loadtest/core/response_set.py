"""Ingestion payloads from what a respondent submitted: seed 002 response sets, seed 004 records.

`response_set` is the exact inverse of the reference platform's responses API
(platform/responses_api.py), which turns a `responseSet` into the submit-page forms the flow
would have posted. It reads only what a client sees: the questions of the pages shown (parsed
by core/page.py, with their formParam and ids) and the form submitted for them. The kind of a
question comes from its formParam (answers.kind_of), as when the Answerer built the form:

    single / multi   u_{q} / m_{q}: one answerValue per chosen answerID; the text of an "other"
                     choice ({otherParamPrefix}{answerId}) in value.other
    grid             u_{row}: questionID is the row's id, answerID the chosen column
    text / numeric   t_{answerId}: answerID is the field, value.text the text or number
    date             the three parts named by formParam.partPrefixes -> value.text "YYYY-MM-DD";
                     answerID is the question's own id (a date has no answers; the seed names
                     none and the platform reads only the text)
    rank / sum       {paramPrefix}{answerId}: one answerValue per item, value.text its rank or amount

A question the form says nothing about (blank values only) gets no entry, as the platform
leaves an absent answer blank. Values are passed as submitted (strings), so posting the set
makes the platform rebuild the very form that was submitted. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from loadtest.core.answers import DEFAULT_DATE_PARTS, kind_of
from loadtest.core.page import Question

__all__ = ["DATA_STATUS", "data_record", "response_set", "responses_body"]

# The platform's outcome of a walk -> the `status` a seed 004 record is written with.
DATA_STATUS = {"survey_complete": "complete", "already_completed": "complete", "terminated": "screened",
               "redirect": "screened", "quota_full": "quotafull"}


def _blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _choices(q: Question, ids: list[Any], form: Mapping[str, Any]) -> list[dict[str, Any]]:
    prefix = q.form.other_prefix or "t_"
    others = {str(a.id) for a in q.answers if a.is_other}
    values = []
    for aid in ids:
        value: dict[str, Any] = {"answerID": int(aid)}
        text = form.get(f"{prefix}{aid}")
        if str(aid) in others and not _blank(text):
            value["value"] = {"other": text}
        values.append(value)
    return values


def _date_text(parts: dict[str, Any]) -> str:
    year, month, day = parts["year"], parts["month"], parts["day"]
    if all(isinstance(v, str) and v.isdecimal() for v in (year, month, day)):
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return f"{year}-{month}-{day}"  # not a date: the platform refuses it as the page would


def _entries(q: Question, form: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = kind_of(q)
    if kind == "single":
        value = form.get(f"u_{q.id}")
        return [] if _blank(value) else [{"questionID": q.id, "answerValues": _choices(q, [value], form)}]
    if kind == "multi":
        picks = form.get(f"m_{q.id}")
        picks = [picks] if isinstance(picks, str) else list(picks or ())
        return [{"questionID": q.id, "answerValues": _choices(q, picks, form)}] if picks else []
    if kind == "grid":
        return [{"questionID": row.id, "answerValues": [{"answerID": int(form[f"u_{row.id}"])}]}
                for row in q.rows if not _blank(form.get(f"u_{row.id}"))]
    if kind in ("text", "numeric"):
        field = q.answers[0].id
        text = form.get(f"t_{field}")
        return [] if _blank(text) else [{"questionID": q.id, "answerValues": [{"answerID": field,
                                                                              "value": {"text": text}}]}]
    if kind == "date":
        rules = q.form.rules.get("partPrefixes")
        prefixes = rules if isinstance(rules, dict) else DEFAULT_DATE_PARTS
        parts = {part: form.get(f"{prefixes.get(part, default)}{q.id}") for part, default in DEFAULT_DATE_PARTS.items()}
        if all(_blank(v) for v in parts.values()):
            return []
        return [{"questionID": q.id, "answerValues": [{"answerID": q.id, "value": {"text": _date_text(parts)}}]}]
    # rank, sum: one answerValue per item the form gives a value for
    items = [{"answerID": a.id, "value": {"text": form[f"{q.form.prefix}{a.id}"]}}
             for a in q.answers if not _blank(form.get(f"{q.form.prefix}{a.id}"))]
    return [{"questionID": q.id, "answerValues": items}] if items else []


def response_set(questions: Iterable[Question], form: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Seed 002 `responseSet` entries for `questions`, answered as `form` answers them."""
    out: list[dict[str, Any]] = []
    for q in questions:
        out.extend(_entries(q, form))
    return out


def responses_body(questions: Iterable[Question], form: Mapping[str, Any], transaction_id: str,
                   language: str | None = None) -> dict[str, Any]:
    """The body of POST /a/api/v2/surveys/{id}/responses. `timeTaken` is left out on purpose: it
    would subject the response to the speeder rule, and a replayed walk has no real duration."""
    body: dict[str, Any] = {"responseSet": response_set(questions, form), "externalReference": transaction_id}
    if language:
        body["language"] = language
    return body


def data_record(form: Mapping[str, Any], transaction_id: str, outcome: str | None,
                language: str | None = None) -> dict[str, Any]:
    """A seed 004 record to POST: writable system variables (respid and the other read-only ones
    are the platform's to choose) and one answer variable per non-blank form key."""
    record: dict[str, Any] = {"status": DATA_STATUS.get(outcome or "", "incomplete"), "transaction_id": transaction_id}
    if language:
        record["language"] = language
    record.update({k: v for k, v in form.items() if not _blank(v)})
    return record
