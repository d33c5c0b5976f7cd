"""Replay's pure parts: what a reply shows, how two differ, reading a recording. No sockets."""

from __future__ import annotations

from typing import Any

import anyio
import orjson
import pytest

from loadtest.replay.diff import (
    PANEL_QUOTA,
    Divergence,
    RespondentReplay,
    compare,
    format_divergence,
    observe,
    report_json,
    summary_line,
    transport_failure,
)
from loadtest.replay.driver import Turns
from loadtest.replay.script import RecordingError, fresh_url, read_recording

TID = "lt42-000003"
RECORDED_ORIGIN = "http://127.0.0.1:41000"


def question(qid: int) -> dict[str, Any]:
    return {"json": {"id": qid, "type": "U", "text": f"q{qid}", "answers": [{"id": 1, "text": "a"}],
                     "formParam": {"paramPrefix": "u_", "paramIdType": "questionId"}}}


def page(status: str = "success", qids: tuple[int, ...] = (10001, 10002), **extra: Any) -> bytes:
    response: dict[str, Any] = {"status": status, "questions": [question(q) for q in qids], **extra}
    return orjson.dumps({"response": response, "requestID": "volatile-request-id"})


def final(status: str, **extra: Any) -> bytes:
    return orjson.dumps({"response": {"status": status, **extra}})


def test_the_same_reply_observed_twice_is_identical() -> None:
    a = observe(200, page(), True)
    b = observe(200, page(), True)
    assert compare(a, b) == ()
    assert a.questions == (10001, 10002) and a.status == "success"


def test_a_status_change_is_named_with_both_values() -> None:
    recorded = observe(200, final("terminated", terminateReason={"kind": "screener", "rule": "screener"}), True)
    replayed = observe(200, page("success", (10004, 10005)), True)
    diffs = {d.field: (d.recorded, d.replayed) for d in compare(recorded, replayed)}
    assert diffs["status"] == ("terminated", "success")
    assert diffs["questions"] == ((), (10004, 10005))
    assert diffs["terminate_reason"] == ("screener", None)
    assert "http" not in diffs  # both 200: the status says it all


def test_a_different_page_is_a_questions_divergence_only() -> None:
    diffs = compare(observe(200, page(qids=(10004, 10005, 10006)), True), observe(200, page(qids=(10007, 10008)), True))
    assert [(d.field, d.recorded, d.replayed) for d in diffs] == [
        ("questions", (10004, 10005, 10006), (10007, 10008))]


def test_a_changed_validation_error_names_the_question_and_message() -> None:
    def errors(*pairs: tuple[int, str]) -> bytes:
        return page("validation_errors", validationErrors=[{"questionId": q, "message": m} for q, m in pairs])

    recorded = observe(200, errors((10010, "Please enter at least 5 characters.")), True)
    moved = observe(200, errors((10011, "Please enter at least 5 characters.")), True)
    reworded = observe(200, errors((10010, "Too short.")), True)
    (d,) = compare(recorded, moved)
    assert (d.field, d.recorded, d.replayed) == (
        "validation_errors", ((10010, "Please enter at least 5 characters."),),
        ((10011, "Please enter at least 5 characters."),))
    (d,) = compare(recorded, reworded)
    assert d.field == "validation_errors" and d.replayed == ((10010, "Too short."),)
    assert compare(recorded, observe(200, errors((10010, "Please enter at least 5 characters.")), True)) == ()


def test_redirect_urls_compare_without_the_transaction_id_or_the_port() -> None:
    chain = "{base}/a/api/v2/surveys/200002/take?transaction_id={tid}"
    recorded = observe(200, final("redirect", redirectUrl=chain.format(base=RECORDED_ORIGIN, tid=TID)), True,
                       transaction_id=TID, origin=RECORDED_ORIGIN)
    fresh = f"{TID}-rpabc123"
    replayed = observe(200, final("redirect", redirectUrl=chain.format(base="http://127.0.0.1:52000", tid=fresh)),
                       True, transaction_id=fresh, origin="http://127.0.0.1:52000")
    assert recorded.redirect_url == "{target}/a/api/v2/surveys/200002/take?transaction_id={transaction_id}"
    assert compare(recorded, replayed) == ()
    elsewhere = observe(200, final("redirect", redirectUrl=chain.format(base="http://other.test", tid=fresh)),
                        True, transaction_id=fresh, origin="http://127.0.0.1:52000")
    assert [d.field for d in compare(recorded, elsewhere)] == ["redirect_url"]


def test_panel_quota_ids_are_random_per_set_up_so_they_compare_as_one_placeholder() -> None:
    a = observe(200, final("quota_full", quotaId="4f4741a3-7f13-40c4-b6fd-e74e252ff163"), True)
    b = observe(200, final("quota_full", quotaId="0b8d29c4-1111-4c4c-9d9d-aaaaaaaaaaaa"), True)
    survey_cell = observe(200, final("quota_full", quotaId="gender_male"), True)
    assert a.quota_id == PANEL_QUOTA and compare(a, b) == ()
    assert [(d.field, d.replayed) for d in compare(a, survey_cell)] == [("quota_id", "gender_male")]


def test_http_errors_compare_by_status_name_and_message_not_request_id() -> None:
    def err(rid: str, message: str = "No previous page to navigate back to.") -> bytes:
        return orjson.dumps({"error": {"code": 1002, "message": message}, "requestID": rid})

    assert compare(observe(400, err("a"), True), observe(400, err("b"), True)) == ()
    diffs = compare(observe(400, err("a"), True), observe(404, err("b"), True))
    assert [d.field for d in diffs] == ["status"] and diffs[0].replayed == "http_404"
    assert compare(observe(400, err("a"), True), transport_failure())[0].replayed == "transport_error"
    assert [d.field for d in compare(observe(200, page(), True), observe(200, page(), False))] == ["token"]


def test_a_divergence_reads_as_who_where_what() -> None:
    recorded = observe(200, final("terminated", terminateReason={"kind": "screener", "rule": "screener"}), True)
    fields = compare(recorded, observe(200, page("success", (10004,)), True))
    r = RespondentReplay(3, "screenout", 77, 100001, 2, 2, "terminated", "success",
                         Divergence(2, "submit-page", (10001, 10002), '{"u_10001":"50002"}', fields))
    text = format_divergence(r)
    assert text.splitlines()[0] == ("respondent 3 (screenout, survey 100001, seed 77): diverged at step 2 of 2, "
                                    "submit-page on page [10001, 10002]")
    assert "status" in text and "recorded terminated  |  replayed success" in text
    same = RespondentReplay(4, "completer", 78, 100001, 6, 6, "survey_complete", "survey_complete")
    assert summary_line([r, same]) == "replay: 2 respondents replayed, 1 identical, 1 diverged"
    doc = orjson.loads(orjson.dumps(report_json([r, same], recording="rec.jsonl")))
    assert (doc["respondents"], doc["identical"], doc["diverged"]) == (2, 1, 1)
    (only,) = doc["divergences"]
    assert only["index"] == 3 and only["divergence"]["step"] == 2
    assert {"field": "status", "recorded": "terminated", "replayed": "success"} in only["divergence"]["fields"]


# --- reading a recording ---------------------------------------------------------------------
def line(respondent: int, step: str, url: str, reply_body: bytes, body: str = "", **extra: Any) -> bytes:
    doc = {"respondent": respondent, "persona": "completer", "seed": 9, "survey_id": 100001, "step": step,
           "method": "GET" if step != "submit-page" else "POST", "url": url,
           "headers": {"accept": "application/json", "api-key": "<redacted>"}, "body": body, "think_s": 0.5,
           "reply": {"status": 200, "token": "t", "body": reply_body.decode(), "elapsed_ms": 1.0}, **extra}
    return orjson.dumps(doc)


HEADER = orjson.dumps({"recording": "loadtest", "version": 1, "scenario": "/s.toml", "seed": 42,
                       "target_url": RECORDED_ORIGIN, "api_key_env": "LOADTEST_API_KEY",
                       "surveys": [{"id": 100001, "file": "/cs.toml"}]})


def test_a_recording_becomes_one_script_per_respondent_in_order_of_first_appearance() -> None:
    take = "/a/api/v2/surveys/100001/take?transaction_id="
    rec = read_recording([
        HEADER,
        line(7, "take", take + "lt42-000007", page()),
        line(2, "take", take + "lt42-000002", page()),
        line(7, "submit-page", "/a/api/v2/surveys/100001/submit-page", final("survey_complete"), '{"u_10001":"1"}'),
    ])
    assert rec.header is not None and rec.header.surveys == ((100001, "/cs.toml"),)
    assert [s.index for s in rec.scripts] == [7, 2] and rec.requests == 3
    seven = rec.scripts[0]
    assert seven.transaction_id == "lt42-000007" and seven.outcome == "survey_complete"
    assert [(s.n, s.line, s.step) for s in seven.steps] == [(1, 2, "take"), (2, 4, "submit-page")]
    assert seven.steps[1].body == b'{"u_10001":"1"}' and seven.steps[0].recorded.questions == (10001, 10002)


@pytest.mark.parametrize(("lines", "line_no", "expected"), [
    ([b"{not json"], 1, "a JSON object"),
    ([b"[1, 2]"], 1, "a JSON object"),
    ([HEADER, b'{"persona": "x"}'], 2, '"respondent": int'),
    ([line(1, "jump", "/x", page())], 1, '"step": one of'),
    ([line(1, "take", "/x", page(), reply=None)], 1, 'a "reply" object or an "error" string'),
    ([line(1, "take", "/x", page()), HEADER], 2, "the header only as the first line"),
    ([], 0, "at least one recorded request"),
])
def test_a_garbled_recording_names_the_line_and_what_was_expected(lines: list[bytes], line_no: int,
                                                                  expected: str) -> None:
    with pytest.raises(RecordingError) as caught:
        read_recording(lines)
    assert caught.value.line == line_no and caught.value.expected.startswith(expected)


def test_fresh_transaction_ids_keep_the_other_query_parameters() -> None:
    url = "/a/api/v2/surveys/100001/take?transaction_id=lt42-000001&opt_out=1"
    assert fresh_url(url, "rp1") == "/a/api/v2/surveys/100001/take?transaction_id=lt42-000001-rp1&opt_out=1"
    assert fresh_url("/a/api/v2/surveys/100001/submit-page", "rp1") == "/a/api/v2/surveys/100001/submit-page"


def test_turns_let_lines_go_strictly_in_order_even_when_asked_out_of_order() -> None:
    went: list[int] = []

    async def main() -> None:
        turns = Turns([2, 3, 5, 8])

        async def go(line: int) -> None:
            await turns.wait(line)
            went.append(line)
            turns.done((line,))

        async with anyio.create_task_group() as tg:
            for n in (8, 5, 3):
                tg.start_soon(go, n)
            await anyio.wait_all_tasks_blocked()
            assert went == []  # 2 is not done yet: nobody may go
            turns.done((2,))  # e.g. a respondent that stopped early drops its lines

    anyio.run(main)
    assert went == [3, 5, 8]


# --- lost replies, and what the driver sends (a fake transport: no sockets) ---------------------
def lost(respondent: int, step: str, url: str, body: str = "") -> bytes:
    doc = orjson.loads(line(respondent, step, url, b"", body))
    del doc["reply"]
    doc["error"] = "TransportError: connection closed before the reply was complete"
    return orjson.dumps(doc)


SUBMIT = "/a/api/v2/surveys/100001/submit-page"
TAKE = "/a/api/v2/surveys/100001/take"


def lost_submit_script(resume_page: tuple[int, ...]) -> Any:
    rec = read_recording([
        HEADER,
        line(1, "take", TAKE + "?transaction_id=lt42-000001", page(qids=(10001,))),
        lost(1, "submit-page", SUBMIT, '{"u_10001":"1"}'),
        line(1, "resume", TAKE, page(qids=resume_page), headers={"x-survey-token": "old", "api-key": "<redacted>"}),
    ])
    return rec.scripts[0]


def test_a_lost_request_is_sent_again_only_if_the_run_shows_it_landed() -> None:
    landed = lost_submit_script(resume_page=(10004,))  # resume showed the next page: the submit had landed
    missed = lost_submit_script(resume_page=(10001,))  # the same page: it never arrived
    assert [(s.step, s.lost, s.send) for s in landed.steps] == [
        ("take", False, True), ("submit-page", True, True), ("resume", False, True)]
    assert [(s.step, s.lost, s.send) for s in missed.steps] == [
        ("take", False, True), ("submit-page", True, False), ("resume", False, True)]
    retried = read_recording([lost(1, "take", TAKE + "?transaction_id=lt42-000001"),
                              line(1, "take", TAKE + "?transaction_id=lt42-000001", page())]).scripts[0]
    assert [s.send for s in retried.steps] == [False, True]  # a lost first take: the retry is the take


class FakeTransport:
    """Answers from a list, in order, and keeps what it was sent."""

    def __init__(self, replies: list[tuple[bytes, str]]) -> None:
        self.replies = replies
        self.sent: list[Any] = []

    async def send(self, request: Any) -> Any:
        from loadtest.core.flow import Reply

        self.sent.append(request)
        body, token = self.replies.pop(0)
        return Reply(200, {"x-survey-token": token}, body)


def test_the_driver_sends_fresh_ids_and_tokens_and_the_key_and_skips_what_never_landed() -> None:
    from loadtest.replay.driver import ReplayOptions, replay_script

    script = lost_submit_script(resume_page=(10001,))
    fake = FakeTransport([(page(qids=(10001,)), "new-1"), (page(qids=(10001,)), "new-2")])
    opts = ReplayOptions(target_url="http://127.0.0.1:1", api_key="the-key", suffix="rpX", think_scale=0)
    result = anyio.run(replay_script, script, fake, opts)  # type: ignore[arg-type]
    assert result.identical and result.steps_replayed == 2
    take, resume = fake.sent
    assert take.url == TAKE + "?transaction_id=lt42-000001-rpX"
    assert dict(take.headers)["api-key"] == "the-key" and "x-survey-token" not in dict(take.headers)
    assert resume.step == "resume" and dict(resume.headers)["x-survey-token"] == "new-1"

    landed = lost_submit_script(resume_page=(10004,))
    fake = FakeTransport([(page(qids=(10001,)), "t1"), (page(qids=(10004,)), "t2"), (page(qids=(10004,)), "t3")])
    result = anyio.run(replay_script, landed, fake, opts)  # type: ignore[arg-type]
    assert result.identical and [r.step for r in fake.sent] == ["take", "submit-page", "resume"]
    assert fake.sent[1].body == b'{"u_10001":"1"}'
