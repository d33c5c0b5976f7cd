"""What a respondent record of the data API (seed 004) is on the reference platform.

A record is one stored response as variable -> value, in three groups:

* System variables. `respid` (the response's integer id, the token's `rs`), `responseid` (its
  uuid), `status` (Forsta's vocabulary, mapped from the platform's status by `FORSTA_STATUS`),
  `platform_status` (the platform's own status, unmapped), `reason` (terminate rule or quota id),
  `transaction_id`, `language`, `interview_start` and `interview_end` (ISO 8601, UTC, `Z`).
  Writable through the API: `status`, `transaction_id`, `language`; the rest are read-only.
* Answer variables: one per stored form value, named by its form key exactly as respondents
  submit it (`u_10001`, `m_10005` a list, `t_50081`, `r_50061`, `s_50071`, `dt_day_10003`, ...,
  values as stored: strings, `m_` a list of strings), taken from the answers of the pages on the
  respondent's path (pages submitted and not undone by going back), in path order.
* User variables, declared with `POST .../respondents/uservariables` (see user_vars.py).

As the seed says, blank datapoints are not serialized: a variable with no value is left out.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from loadtest.platform.response_row import ResponseRow
from loadtest.survey.model import Page, Question, Survey

__all__ = [
    "ANSWER_KEY",
    "FORSTA_STATUS",
    "PLATFORM_STATUS",
    "SYSTEM_VARIABLES",
    "WRITABLE_SYSTEM",
    "Slot",
    "answer_slots",
    "blank",
    "iso_time",
    "question_keys",
    "record_of",
]

# The platform's status -> the record's `status`. Forsta knows complete, screened, quotafull and
# incomplete: a chain redirect leaves this survey like a screen-out; an opt-out never finished.
FORSTA_STATUS = {
    "survey_complete": "complete",
    "terminated": "screened",
    "redirect": "screened",
    "quota_full": "quotafull",
    "in_progress": "incomplete",
    "survey_opt_out": "incomplete",
}
# A `status` written through the API -> the platform's status it is stored as.
PLATFORM_STATUS = {"complete": "survey_complete", "screened": "terminated", "quotafull": "quota_full",
                   "incomplete": "in_progress"}

SYSTEM_VARIABLES = ("respid", "responseid", "status", "platform_status", "reason", "transaction_id",
                    "language", "interview_start", "interview_end")
WRITABLE_SYSTEM = frozenset({"status", "transaction_id", "language"})
# Every name of this shape is reserved for answer variables (user variables may not use one).
ANSWER_KEY = re.compile(r"(?:[umtrs]|dt_day|dt_month|dt_year)_\d+")


@dataclass(frozen=True, slots=True)
class Slot:
    """Where an answer variable lives: its page and its question."""

    page: Page
    question: Question


def question_keys(q: Question) -> list[str]:
    """Every form key a question can store (validation.py's formParam rules)."""
    others = [f"t_{a.id}" for a in q.answers if a.other]
    if q.kind == "single":
        return [f"u_{q.id}", *others]
    if q.kind == "multi":
        return [f"m_{q.id}", *others]
    if q.kind in ("text", "numeric"):
        return [f"t_{q.answers[0].id}"]
    if q.kind == "grid":
        return [f"u_{row.id}" for row in q.rows]
    if q.kind == "date":
        return [f"dt_{part}_{q.id}" for part in ("day", "month", "year")]
    prefix = "r_" if q.kind == "rank" else "s_"
    return [f"{prefix}{a.id}" for a in q.answers]


def answer_slots(survey: Survey) -> dict[str, Slot]:
    """Every answer variable the survey has, in page and question order."""
    slots: dict[str, Slot] = {}
    for page in survey.pages:
        for q in page.questions:
            for key in question_keys(q):
                slots.setdefault(key, Slot(page, q))
    return slots


def iso_time(ts: float | None) -> str | None:
    if ts is None:
        return None
    moment = datetime.datetime.fromtimestamp(ts, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def record_of(row: ResponseRow, user_values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The full record of one response row (blank datapoints left out)."""
    out: dict[str, Any] = {
        "respid": row.id,
        "responseid": row.uuid,
        "status": FORSTA_STATUS.get(row.status, row.status),
        "platform_status": row.status,
        "reason": row.reason,
        "transaction_id": row.transaction_id,
        "language": row.language,
        "interview_start": iso_time(row.started_at),
        "interview_end": iso_time(row.finished_at),
    }
    record = {k: v for k, v in out.items() if not blank(v)}
    for page_id in _unique(row.path):
        for key, value in row.answers.get(page_id, {}).items():
            if not blank(value):
                record[key] = value
    for key, value in (user_values or {}).items():
        if not blank(value):
            record[key] = value
    return record


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
