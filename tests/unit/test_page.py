"""Parsing replies: every status, both json forms, unknown fields, malformed bodies, the seeds'
own (not-quite-JSON) error examples."""

from __future__ import annotations

import orjson
import pytest

from loadtest.core.errors import ServerContractError
from loadtest.core.page import STATUSES, parse_reply

QUESTION = {"id": 10001, "type": "U", "text": "How satisfied?", "answers": [{"id": 50001, "text": "Very"},
            {"id": 50002, "text": "Not", "selected": True}], "formParam": {"paramPrefix": "u_",
            "paramIdType": "questionId"}, "somethingNew": {"x": 1}}


def page(status: str = "success", as_string: bool = False, **extra: object) -> bytes:
    q = orjson.dumps(QUESTION).decode() if as_string else QUESTION
    response = {"status": status, "meta": {"isFinalPage": True, "progressPercentage": 80},
                "navigation": {"previousPageUrl": "/prev", "nextPageSubmitUrl": "/next"},
                "questions": [{"html": "<div/>", "json": q}], "unknownField": [1, 2], **extra}
    return orjson.dumps({"response": response, "requestID": "r-1"})


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_every_documented_status_parses(status: str) -> None:
    body = page(status) if status in ("success", "validation_errors") else orjson.dumps(
        {"response": {"status": status, "redirectUrl": "https://x.test/r"}, "requestID": "r"})
    reply = parse_reply(200, body)
    assert reply.status == status
    assert reply.terminal == (status not in {"success", "validation_errors", "authentication_required",
                                             "language_selection_required"})


def test_json_as_object_or_as_encoded_string_gives_the_same_question() -> None:
    a, b = parse_reply(200, page()), parse_reply(200, page(as_string=True))
    assert a.questions == b.questions
    q = a.questions[0]
    assert (q.id, q.form.prefix, q.form.id_type) == (10001, "u_", "questionId")
    assert [c.selected for c in q.answers] == [False, True]
    assert a.is_final and a.progress == 80 and a.previous_url == "/prev"


def test_the_same_question_json_is_parsed_once_and_shown_values_are_part_of_it() -> None:
    first, again = parse_reply(200, page()), parse_reply(200, page())
    assert again.questions[0] is first.questions[0]  # shared between respondents: frozen
    with pytest.raises(AttributeError):
        first.questions[0].text = "changed"  # type: ignore[misc]
    chosen = {**QUESTION, "answers": [{"id": 50001, "text": "Very", "selected": True}, {"id": 50002, "text": "Not"}]}
    response = {"status": "success", "questions": [{"html": "", "json": chosen}]}
    other = parse_reply(200, orjson.dumps({"response": response}))
    assert [c.selected for c in other.questions[0].answers] == [True, False]


def test_the_parsed_question_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from loadtest.core import page as page_mod

    monkeypatch.setattr(page_mod, "_PARSED_MAX", 5)
    for n in range(12):
        response = {"status": "success", "questions": [{"html": "", "json": {**QUESTION, "id": 20000 + n}}]}
        assert parse_reply(200, orjson.dumps({"response": response})).questions[0].id == 20000 + n
        assert len(page_mod._PARSED) <= 5


def test_validation_errors_and_details_are_read() -> None:
    reply = parse_reply(200, page("validation_errors", validationErrors=[{"questionId": 10001, "message": "m"}],
                                  terminateReason={"kind": "screener"}))
    assert reply.validation_errors == ((10001, "m"),)
    assert reply.details == {"terminateReason": {"kind": "screener"}}


@pytest.mark.parametrize("body", [
    b"<html>502 Bad Gateway</html>",
    b'{"response": {"status": "teleported"}}',
    b'{"response": {}}',
    b'[1, 2, 3]',
    b'{"response": {"status": "success", "questions": []}}',
    b'{"response": {"status": "success", "questions": [{"json": "{not json"}]}}',
    b'{"response": {"status": "success", "questions": [{"json": {"id": 1}}]}}',  # no formParam
    b'{"response": {"status": "success", "questions": [{"json": {"id": "x", "formParam": {"paramPrefix": "u_"}}}]}}',
])
def test_a_reply_breaking_the_contract_is_a_server_contract_error_with_status_and_excerpt(body: bytes) -> None:
    with pytest.raises(ServerContractError) as err:
        parse_reply(200, body)
    assert err.value.http_status == 200
    assert err.value.excerpt and err.value.excerpt[:10] == body[:10].decode()


# Seed 000's 500 example, verbatim: "docs" is not quoted, so this is not JSON.
SEED_500 = b'''{
    "response": {
     "error": {
         "docs": www.questionpro.com/api/error-codes.html
         "name": "INTERNAL_SERVER_ERROR",
         "httpStatusCode": 500,
         "id" : "1026",
         "message": "We are not able to process your request",
         "resourceUrl":"resource_url"
        }
    }
}'''


def test_the_seeds_own_error_examples_are_read_although_they_are_not_json() -> None:
    reply = parse_reply(500, SEED_500)
    assert reply.status == "http_error" and reply.error is not None
    assert (reply.error.name, reply.error.message, reply.error.code) == (
        "INTERNAL_SERVER_ERROR", "We are not able to process your request", "1026")


def test_both_400_shapes_of_previous_page() -> None:
    envelope = parse_reply(400, b'{"response": {"error": {"name": "BAD_REQUEST", "message": "Invalid URL '
                                b'parameters", "id": "1000", "httpStatusCode": 400}}}')
    short = parse_reply(400, b'{"error": {"code": 1002, "message": "No previous page to navigate back to."},'
                             b' "requestID": "r"}')
    assert envelope.error and envelope.error.name == "BAD_REQUEST"
    assert short.error and (short.error.code, short.error.message) == ("1002", "No previous page to navigate back to.")


def test_an_error_body_that_is_just_text_still_gives_a_message() -> None:
    reply = parse_reply(503, b"upstream unavailable")
    assert reply.error is not None and reply.error.message == "upstream unavailable"
