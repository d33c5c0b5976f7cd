"""The platform's side of formParam: every question kind accepts what its rules allow, nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.platform.rules.validation import validate_page
from loadtest.survey.file import load_survey
from tests.helpers import CS_PAGES, CUSTOMER

SURVEY = load_survey(CUSTOMER)
PAGES = {p.id: p for p in SURVEY.pages}


@pytest.mark.parametrize("page_id", list(CS_PAGES))
def test_the_reference_answers_are_valid(page_id: str) -> None:
    values, errors = validate_page(PAGES[page_id], CS_PAGES[page_id])
    assert errors == []
    assert values == CS_PAGES[page_id]


def _errors(page_id: str, **changes: Any) -> dict[int, str]:
    form = {**CS_PAGES[page_id], **changes}
    form = {k: v for k, v in form.items() if v is not None}
    values, errors = validate_page(PAGES[page_id], form)
    assert (values == {}) == bool(errors)
    return {e["questionId"]: e["message"] for e in errors}


@pytest.mark.parametrize(
    ("page_id", "changes", "question", "message"),
    [
        ("screener", {"u_10001": None}, 10001, "requires an answer"),
        ("screener", {"u_10001": "59999"}, 10001, "not one of this question's answers"),
        ("screener", {"u_10001": 50001}, 10001, "not one of"),  # values are strings
        ("screener", {"dt_day_10003": "30"}, 10003, "valid date"),  # 30 February
        ("screener", {"dt_year_10003": "2012"}, 10003, "year from 1920 to 2008"),
        ("experience", {"t_50025": None}, 10004, "Please specify"),  # other without text
        ("experience", {"m_10005": []}, 10005, "requires an answer"),
        ("experience", {"m_10005": ["50031", "50032", "50033", "50034"]}, 10005, "at most 3"),
        ("experience", {"m_10005": "50031"}, 10005, "list of answer ids"),
        ("experience", {"u_60004": None}, 10006, "every row"),
        ("support", {"t_50051": "2.5"}, 10007, "whole number"),
        ("support", {"t_50051": "51"}, 10007, "at most 50"),
        ("support", {"t_50051": "many"}, 10007, "a number"),
        ("support", {"r_50061": "4"}, 10008, "Each rank from 1 to 4"),
        ("feedback", {"s_50074": "11"}, 10009, "add up to 100 (they add up to 101)"),
        ("feedback", {"t_50081": "meh"}, 10010, "at least 5 characters"),
        ("feedback", {"t_50081": "x" * 301}, 10010, "at most 300 characters"),
    ],
)
def test_invalid_answers_are_named_per_question(page_id: str, changes: dict[str, Any], question: int,
                                                message: str) -> None:
    errors = _errors(page_id, **changes)
    assert list(errors) == [question]
    assert message in errors[question]


def test_an_optional_question_may_be_left_empty_and_unknown_keys_are_ignored() -> None:
    form = {**CS_PAGES["feedback"], "t_50091": "", "u_99999": "1"}
    values, errors = validate_page(PAGES["feedback"], form)
    assert errors == [] and "u_99999" not in values and "t_50091" not in values
