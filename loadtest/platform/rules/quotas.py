"""Quota cells: which cells a respondent falls in, and whether any of them is already full.

Counting is done once, at completion, by `Store.complete` (atomic). The early check here turns a
respondent away as soon as it picks an answer of a full cell, as real platforms do; a cell can
still fill between that check and completion, which the atomic count catches.
"""

from __future__ import annotations

from typing import Any

from loadtest.platform.rules.validation import chosen_answers
from loadtest.survey.model import Quota, Survey

__all__ = ["cells_of", "first_full"]


def cells_of(survey: Survey, answers: dict[str, dict[str, Any]], extra: tuple[Quota, ...] = ()) -> list[Quota]:
    """The quota cells a respondent's answers (page id -> form values) place it in: the survey
    file's own and `extra` ones (a panel's DIY quotas, checked against the survey when set)."""
    cells = []
    for quota in (*survey.quotas, *extra):
        question = survey.question(quota.question)
        assert question is not None  # checked when the survey was loaded
        for values in answers.values():
            if chosen_answers(question, values) & quota.answers:
                cells.append(quota)
                break
    return cells


def first_full(cells: list[Quota], counts: dict[str, int], limits: dict[str, int]) -> Quota | None:
    for quota in cells:
        if counts.get(quota.id, 0) >= limits.get(quota.id, quota.limit):
            return quota
    return None
