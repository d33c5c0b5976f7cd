"""Parsing replies: every status, both json forms, unknown fields, malformed bodies, the seeds'
own (not-quite-JSON) error examples."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_a_progress_that_is_no_number_is_a_contract_error() -> None:
    with pytest.raises(ServerContractError, match="malformed page"):
        parse_reply(200, page(meta={"progressPercentage": "most of it"}))


# The typed fast path must read every reply exactly as the tolerant reading does: the same page,
# or the same error with the same words. Replies are built from the documented fields, each given
# values of the documented type and of types a server might get wrong.
_ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
                         lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner,
                                                                                      max_size=2), max_leaves=4)
_QUESTION_JSON = st.one_of(
    st.just(QUESTION), st.just(orjson.dumps(QUESTION).decode()), st.just({"id": 1}), st.just("{not json"),
    st.builds(lambda i, p: {**QUESTION, "id": i, "formParam": {"paramPrefix": p}}, st.integers(1, 3) | st.just("x"),
              st.just("u_") | st.integers(-9, 9)),
    _ANY_JSON)
_ENTRY = st.fixed_dictionaries({}, optional={"json": _QUESTION_JSON, "html": st.just("<div/>")}) | _ANY_JSON
_ERROR = st.fixed_dictionaries({}, optional={"questionId": st.integers(-10**9, 10**9) | st.text(max_size=2),
                                             "message": st.text(max_size=3)})
_RESPONSE = st.fixed_dictionaries({}, optional={
    "status": st.sampled_from(sorted(STATUSES)) | _ANY_JSON,
    "questions": st.lists(_ENTRY, max_size=2) | _ANY_JSON,
    "validationErrors": st.lists(_ERROR, max_size=2) | _ANY_JSON,
    "navigation": st.fixed_dictionaries({}, optional={"previousPageUrl": st.just("/prev") | _ANY_JSON}) | _ANY_JSON,
    "meta": st.fixed_dictionaries({}, optional={"isFinalPage": _ANY_JSON,
                                                "progressPercentage": st.integers(0, 100) | _ANY_JSON}) | _ANY_JSON,
    "languages": st.lists(st.sampled_from(["en", "de"]), max_size=2) | _ANY_JSON,
    "redirectUrl": st.just("https://x.test/r") | _ANY_JSON,
    "terminateReason": _ANY_JSON, "quotaId": _ANY_JSON, "message": _ANY_JSON, "finalStatus": _ANY_JSON,
    "themeConfig": _ANY_JSON,
})


def _outcome(read: Callable[[int, bytes], object], body: bytes) -> object:
    try:
        return read(200, body)
    except Exception as exc:  # the comparison is of what each path raises
        return (type(exc), str(exc))


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.fixed_dictionaries({"response": _RESPONSE}, optional={"requestID": st.text(max_size=3)}),
                 _ANY_JSON))
def test_the_typed_reading_agrees_with_the_tolerant_one(doc: object) -> None:
    from loadtest.core import page as page_mod

    body = orjson.dumps(doc)
    page_mod._PARSED.clear()
    typed = _outcome(parse_reply, body)
    page_mod._PARSED.clear()
    assert typed == _outcome(page_mod._parse_tolerant, body)


def test_a_documented_reply_is_read_by_the_typed_path_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from loadtest.core import page as page_mod

    def unwanted(*_: object) -> None:
        raise AssertionError("fell back to the tolerant reading")

    monkeypatch.setattr(page_mod, "_parse_tolerant", unwanted)
    invalid = page("validation_errors", validationErrors=[{"questionId": 10001, "message": "m"}])
    ended = orjson.dumps({"response": {"status": "terminated", "terminateReason": "screener"}})
    for body in (page(), page(as_string=True), invalid, ended):
        assert parse_reply(200, body).status in ("success", "validation_errors", "terminated")
