"""core/response_set.py: the exact inverse of the platform's responseSet -> form conversion.

Round trip, no sockets: a page of customer_satisfaction.toml is rendered by the platform's own
renderer and parsed by the client's page parser; the Answerer fills it; `response_set` turns the
form into seed 002 entries; responses_api's form builder (`_forms`) must give back that very form.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from loadtest.core.answers import Answerer, kind_of
from loadtest.core.page import Choice, FormParam, Question, parse_reply
from loadtest.core.response_set import data_record, response_set, responses_body
from loadtest.platform.questionpro.render import PageRenderer
from loadtest.platform.questionpro.respondent_api import RespondentApi
from loadtest.platform.questionpro.responses_api import ResponsesApi, _forms
from loadtest.platform.storage import Store
from loadtest.survey.file import load_survey
from loadtest.survey.model import Survey
from tests.helpers import CS_PAGES, CUSTOMER

SURVEY = load_survey(CUSTOMER)


def page_questions(survey: Survey, page_id: str) -> tuple[Question, ...]:
    """A page as a client sees it: rendered by the platform, parsed by core/page.py."""
    page = survey.pages[survey.page_index(page_id)]
    entries = PageRenderer(survey).questions(page, survey.languages[0])
    body = orjson.dumps({"response": {"status": "success", "questions": entries}})
    return parse_reply(200, body).questions


PAGES = {p.id: page_questions(SURVEY, p.id) for p in SURVEY.pages}


def text(low: int, high: int) -> str:
    return ("Some words " * 40)[:max(low, min(high, 25))].strip() or "x"


def test_the_survey_has_every_question_type() -> None:
    kinds = {kind_of(q) for questions in PAGES.values() for q in questions}
    assert kinds == {"single", "multi", "grid", "text", "numeric", "date", "rank", "sum"}


@pytest.mark.parametrize("page_id", [p.id for p in SURVEY.pages])
def test_a_page_answered_by_the_answerer_comes_back_as_the_same_form(page_id: str) -> None:
    for seed in range(40):
        rng = random.Random(seed)
        answerer = Answerer(rng, lambda low, high: text(low, high))
        form: dict[str, Any] = {}
        for q in PAGES[page_id]:
            prefer = "50025" if q.id == 10004 and seed % 2 else None  # the "other, please specify" choice
            form.update(answerer.answer(q, prefer=prefer, straightline=seed % 5 == 0))
        entries = response_set(PAGES[page_id], form)
        assert _forms(SURVEY, entries) == {page_id: form}, seed


def test_a_whole_response_with_other_text_and_a_leap_day_round_trips() -> None:
    questions = [q for p in SURVEY.pages for q in PAGES[p.id]]
    merged = {k: v for form in CS_PAGES.values() for k, v in form.items()}
    entries = response_set(questions, merged)
    assert _forms(SURVEY, entries) == CS_PAGES
    by_id = {e["questionID"]: e["answerValues"] for e in entries}
    assert by_id[10004] == [{"answerID": 50025, "value": {"other": "It depends on the day"}}]
    assert by_id[10003] == [{"answerID": 10003, "value": {"text": "1984-02-29"}}]
    assert by_id[60003] == [{"answerID": 50042}]  # a grid row is its own questionID
    assert by_id[10005] == [{"answerID": 50031}, {"answerID": 50033}]
    assert by_id[10007] == [{"answerID": 50051, "value": {"text": "4"}}]
    assert [v["value"]["text"] for v in by_id[10009]] == ["40", "30", "20", "10"]


def test_the_platform_stores_a_posted_response_exactly_as_the_form() -> None:
    store = Store(":memory:")
    try:
        api = RespondentApi({SURVEY.id: SURVEY}, store)
        questions = [q for p in SURVEY.pages for q in PAGES[p.id]]
        merged = {k: v for form in CS_PAGES.values() for k, v in form.items()}
        body = responses_body(questions, merged, "ing1-0-0", "en")
        reply = ResponsesApi(api, "k").handle("POST", str(SURVEY.id), "", {"api-key": "k"}, orjson.dumps(body))
        assert reply.status == 200, reply.body
        assert orjson.loads(reply.body)["response"]["responseStatus"] == "Completed"
        (row,) = store.responses(SURVEY.id)
        assert row.transaction_id == "ing1-0-0" and row.answers == CS_PAGES
    finally:
        store.close()


def test_blank_answers_give_no_entry() -> None:
    questions = PAGES["feedback"] + PAGES["screener"]
    form = {"t_50081": "Faster delivery", "t_50091": "  ", "u_10001": "", "m_10005": []}
    assert response_set(questions, form) == [
        {"questionID": 10010, "answerValues": [{"answerID": 50081, "value": {"text": "Faster delivery"}}]}]


def test_formparam_prefixes_are_read_from_the_page_not_assumed() -> None:
    other = Question(id=1, type="U", text="", answers=(Choice(7, "Other", is_other=True),),
                     form=FormParam("u_", "questionId", True, "o_", {}))
    assert response_set([other], {"u_1": "7", "o_7": "mine", "t_7": "not this"}) == [
        {"questionID": 1, "answerValues": [{"answerID": 7, "value": {"other": "mine"}}]}]
    date = Question(id=2, type="D", text="", form=FormParam("dt_", "questionId", True, None, {
        "partPrefixes": {"day": "d_", "month": "mo_", "year": "y_"}}))
    assert response_set([date], {"d_2": "9", "mo_2": "11", "y_2": "2001"}) == [
        {"questionID": 2, "answerValues": [{"answerID": 2, "value": {"text": "2001-11-09"}}]}]


def test_a_data_record_carries_writable_system_variables_and_the_answers() -> None:
    record = data_record({"u_10001": "50001", "t_50091": "", "m_10005": ["50031"]}, "ing3-1-4", "survey_complete", "en")
    assert record == {"status": "complete", "transaction_id": "ing3-1-4", "language": "en", "u_10001": "50001",
                      "m_10005": ["50031"]}
    assert data_record({}, "t", "terminated")["status"] == "screened"
    assert data_record({}, "t", "abandoned")["status"] == "incomplete"
    assert "respid" not in record  # the platform chooses it
