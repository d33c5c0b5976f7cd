"""Lost replies (reset, timeout, a cut body): the flow never repeats a request blind, asks the
platform where the respondent is, and says in its result what it did. Hand-written replies."""

from __future__ import annotations

from typing import Any

import orjson

from loadtest.core.errors import TransportError
from loadtest.core.flow import Recovery, Reply
from tests.unit.test_flow import Q, headers, make_flow, reply

Q2 = {**Q, "id": 2, "answers": [{"id": 21, "text": "c"}, {"id": 22, "text": "d"}]}


def page(question: dict[str, Any], token: str) -> Reply:
    doc = {"response": {"status": "success", "questions": [{"html": "", "json": question}]}, "requestID": "r"}
    return Reply(200, {"x-survey-token": token}, orjson.dumps(doc))


LOST = TransportError("connection reset by peer")


def test_a_first_take_that_got_no_reply_is_sent_again_after_a_backoff() -> None:
    flow = make_flow("completer")
    first = flow.start()
    _, again = flow.lost(LOST)
    assert again is not None and (again.step, again.url, again.body) == (first.step, first.url, first.body)
    assert again.think_s == 0.1 and flow.result.recoveries == (Recovery("take", "TransportError", "retried"),)


def test_a_lost_submit_that_never_landed_is_answered_again_and_reported_as_resubmitted() -> None:
    flow = make_flow("completer")
    flow.start()
    _, submit = flow.receive(page(Q, "t1"))
    assert submit is not None and submit.step == "submit-page"
    _, resume = flow.lost(LOST)
    assert resume is not None and (resume.step, resume.method, resume.body) == ("resume", "GET", b"")
    assert resume.url == "/a/api/v2/surveys/5/take" and headers(resume)["x-survey-token"] == "t1"
    _, again = flow.receive(page(Q, "t1b"))  # the platform still shows page 1: the submit never landed
    assert again is not None and again.step == "submit-page" and orjson.loads(again.body).keys() == {"u_1"}
    assert flow.result.recoveries == (Recovery("submit-page", "TransportError", "resubmitted"),)


def test_a_lost_submit_that_landed_carries_on_from_the_next_page_without_repeating_it() -> None:
    flow = make_flow("completer")
    flow.start()
    flow.receive(page(Q, "t1"))
    flow.lost(LOST)
    _, nxt = flow.receive(page(Q2, "t2"))  # page 2: the submit had been processed
    assert nxt is not None and orjson.loads(nxt.body).keys() == {"u_2"}
    assert flow.result.recoveries[0].how == "resumed" and flow.result.pages == [(1,), (2,)]
    _, done = flow.receive(reply("survey_complete", token="t3"))
    assert done is None and flow.result.outcome == "survey_complete" and flow.result.expected


def test_a_lost_final_submit_ends_with_the_outcome_the_platform_recorded() -> None:
    flow = make_flow("completer")
    flow.start()
    flow.receive(page(Q, "t1"))
    _, resume = flow.lost(LOST)
    assert resume is not None
    _, done = flow.receive(reply("survey_complete", token="t2"))
    assert done is None and flow.result.outcome == "survey_complete" and flow.result.recoveries[0].how == "resumed"


def test_losses_in_a_row_are_bounded_then_the_respondent_fails_with_a_transport_error() -> None:
    flow = make_flow("completer")
    flow.start()
    flow.receive(page(Q, "t1"))
    waits = []
    for _ in range(8):
        _, req = flow.lost(LOST)
        assert req is not None
        waits.append(req.think_s)
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]  # about 9 s: long enough for a restart
    _, req = flow.lost(LOST)
    assert req is None and flow.done and flow.result.outcome == "failed"
    assert flow.result.error == {"blame": "transport", "error": "TransportError", "message": "connection reset by peer",
                                 "step": "resume"}
    assert [r.how for r in flow.result.recoveries][-2:] == ["resume_lost", "gave_up"]


def test_a_usable_reply_resets_the_run_of_losses() -> None:
    flow = make_flow("completer")
    flow.start()
    flow.receive(page(Q, "t1"))
    for _ in range(20):  # lost, then recovered, twenty times over: never more than one in a row
        _, req = flow.lost(LOST)
        assert req is not None and req.think_s == 0.1
        _, req = flow.receive(page(Q, "t1"))
        assert req is not None
    assert len(flow.result.recoveries) == 20 and not flow.done
