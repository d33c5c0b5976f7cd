"""Answers built from formParam alone must satisfy the platform's validator: the core and the
reference platform are written independently, so each checks the other."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from loadtest.core.answers import Answerer, echo_extension_mismatches, echo_mismatches, keys_of, kind_of
from loadtest.core.errors import UnanswerableQuestion
from loadtest.core.page import FormParam, Question, parse_reply
from loadtest.platform.questionpro.render import PageRenderer
from loadtest.platform.rules.validation import validate_page
from loadtest.survey.file import load_survey
from tests.helpers import CS_PAGES, CUSTOMER

SURVEY = load_survey(CUSTOMER)
RENDER = PageRenderer(SURVEY)


def shown(page_id: str, values: dict | None = None):  # type: ignore[no-untyped-def]
    page = next(p for p in SURVEY.pages if p.id == page_id)
    body = orjson.dumps({"response": {"status": "success", "questions": RENDER.questions(page, "en", values)}})
    return page, parse_reply(200, body)


def text(lo: int, hi: int) -> str:
    return ("lorem ipsum " * 40)[: max(lo, min(hi, 30))]


@pytest.mark.parametrize("page_id", [p.id for p in SURVEY.pages])
def test_generated_answers_pass_the_platform_validator_for_many_seeds(page_id: str) -> None:
    page, reply = shown(page_id)
    for seed in range(300):
        answerer = Answerer(random.Random(seed), text)
        form = {}
        for q in reply.questions:
            form.update(answerer.answer(q))
        values, errors = validate_page(page, form)
        assert errors == [], (seed, form)
        assert values == form


@pytest.mark.parametrize("page_id", [p.id for p in SURVEY.pages])
def test_invalid_fragments_are_refused_on_exactly_that_question(page_id: str) -> None:
    page, reply = shown(page_id)
    answerer = Answerer(random.Random(1), text)
    for q in reply.questions:
        bad = answerer.invalid(q)
        if bad is None:
            continue
        form = {}
        for other in reply.questions:
            form.update(answerer.answer(other))
        form = {k: v for k, v in form.items() if k not in keys_of(q)} | bad
        _, errors = validate_page(page, form)
        assert [e["questionId"] for e in errors] == [q.id]


def test_kinds_come_from_prefix_and_id_type_not_from_the_display_type() -> None:
    _, reply = shown("experience")
    assert [kind_of(q) for q in reply.questions] == ["single", "multi", "grid"]
    _, reply = shown("support")
    assert [kind_of(q) for q in reply.questions] == ["numeric", "rank"]
    _, reply = shown("feedback")
    assert [kind_of(q) for q in reply.questions] == ["sum", "text", "text"]
    _, reply = shown("screener")
    assert [kind_of(q) for q in reply.questions] == ["single", "single", "date"]


@pytest.mark.parametrize(("prefix", "id_type"), [("x_", "questionId"), ("u_", "answerId"), ("slider_", "")])
def test_a_question_we_cannot_answer_is_named_never_guessed(prefix: str, id_type: str) -> None:
    q = Question(id=77, type="U", text="?", form=FormParam(prefix, id_type, True, None, {}), answers=())
    with pytest.raises(UnanswerableQuestion, match=f"question 77: cannot answer formParam paramPrefix='{prefix}'"):
        Answerer(random.Random(0), text).answer(q)


def test_pinned_answers_and_straightlining() -> None:
    _, reply = shown("experience")
    single, multi, grid = reply.questions
    a = Answerer(random.Random(3), text)
    assert a.answer(single, prefer="50022") == {"u_10004": "50022"}
    other = a.answer(single, prefer="50025")
    assert other["u_10004"] == "50025" and other["t_50025"]
    assert "50035" in a.answer(multi, prefer="50035")["m_10005"]
    lines = a.answer(grid, straightline=True)
    assert len(set(lines.values())) == 1 and len(lines) == 4
    for seed in range(200):  # a non-straightliner never straight-lines by chance
        assert len(set(Answerer(random.Random(seed), text).answer(grid).values())) > 1


@pytest.mark.parametrize("page_id", list(CS_PAGES))
def test_previous_page_echo_matches_what_was_sent_and_a_change_is_caught(page_id: str) -> None:
    """A change shows as a broken promise (choices not marked selected) or, for the values only
    the reference platform echoes (texts, grid rows, dates), as an extension mismatch."""
    _, reply = shown(page_id, CS_PAGES[page_id])
    def both(form: dict[str, Any]) -> list[str]:
        return [m for q in reply.questions for m in (*echo_mismatches(q, form), *echo_extension_mismatches(q, form))]
    assert both(CS_PAGES[page_id]) == []
    changed = dict(CS_PAGES[page_id])
    key = next(iter(changed))
    changed[key] = ["50032"] if isinstance(changed[key], list) else "99"
    assert both(changed)


def test_only_choices_are_a_promise_of_seed_001() -> None:
    """A text that comes back different is an extension; a choice not marked selected is not."""
    q = next(q for page in CS_PAGES for q in shown(page, CS_PAGES[page])[1].questions if kind_of(q) == "text")
    form = {f"t_{q.answers[0].id}": "something else entirely"}
    assert echo_mismatches(q, form) == [] and echo_extension_mismatches(q, form)
