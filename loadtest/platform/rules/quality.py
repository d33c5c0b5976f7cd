"""Data-quality rules that terminate a respondent: speeding and straight-lining."""

from __future__ import annotations

from typing import Any

from loadtest.survey.model import Page, Question, Survey

__all__ = ["is_speeder", "straightlined_question"]


def is_speeder(survey: Survey, started_at: float, now: float) -> bool:
    limit = survey.quality.speeder_min_seconds
    return limit is not None and (now - started_at) < limit


def straightlined_question(survey: Survey, page: Page, values: dict[str, Any]) -> Question | None:
    """A grid on this page whose rows were all answered with the same column, if any."""
    for q in page.questions:
        if q.kind != "grid" or not q.straightline_check or len(q.rows) < survey.quality.straightline_min_rows:
            continue
        picked = [values.get(f"u_{row.id}") for row in q.rows]
        if None not in picked and len(set(picked)) == 1:
            return q
    return None
