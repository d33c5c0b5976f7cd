"""RespondentFlow fed hand-written replies: no sockets, no clocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from loadtest.core.errors import TransportError
from loadtest.core.flow import FlowTarget, OutcomeReached, Reply, RespondentFlow
from loadtest.core.population import PersonaEntry, Population
from loadtest.scenario.persona_loader import load_persona
from tests.helpers import ROOT

PERSONAS = ROOT / "personas"
Q = {"id": 1, "type": "U", "text": "?", "answers": [{"id": 11, "text": "a"}, {"id": 12, "text": "b"}],
     "formParam": {"paramPrefix": "u_", "paramIdType": "questionId", "required": True}}


def body(status: str, **extra: Any) -> bytes:
    response: dict[str, Any] = {"status": status, **extra}
    if status in ("success", "validation_errors"):
        response.setdefault("questions", [{"html": "", "json": Q}])
    return orjson.dumps({"response": response, "requestID": "r"})


def reply(status: str, token: str | None = "tok", http: int = 200, **extra: Any) -> Reply:
    return Reply(http, {"x-survey-token": token} if token else {}, body(status, **extra))


def make_flow(script: str, follow: frozenset[str] = frozenset(), **params: Any) -> RespondentFlow:
    entry = PersonaEntry(name=script, cls=load_persona(PERSONAS / f"{script}.py"), weight=1, survey_id=5,
                         params={"answers": {}, **params})
    _, persona = Population([entry], seed=9).respondent(0)
    return RespondentFlow(persona, FlowTarget(5, "KEY", "127.0.0.1", follow), entry.name)


def headers(req: Any) -> dict[str, str]:
    return dict(req.headers)


def test_the_flow_echoes_the_latest_token_and_names_requests_by_step() -> None:
    flow = make_flow("completer")
    req = flow.start()
    assert (req.step, req.method, req.url) == ("take", "GET", "/a/api/v2/surveys/5/take?transaction_id=lt9-000000")
    assert "x-survey-token" not in headers(req) and headers(req)["api-key"] == "KEY"
    _, req = flow.receive(reply("success", token="t1"))
    assert req is not None and req.step == "submit-page" and headers(req)["x-survey-token"] == "t1"
    assert orjson.loads(req.body) in ({"u_1": "11"}, {"u_1": "12"})
    assert req.think_s > 0
    _, req = flow.receive(reply("success", token="t2"))
    assert req is not None and headers(req)["x-survey-token"] == "t2"
    events, req = flow.receive(reply("survey_complete", token="t3"))
    assert req is None and flow.done
    assert OutcomeReached("survey_complete", True, None) in events
    assert flow.result.statuses == ["success", "success", "survey_complete"]
    assert flow.result.pages == [(1,), (1,)] and flow.result.checks == ()


def test_an_outcome_the_persona_does_not_expect_is_a_failed_check() -> None:
    flow = make_flow("completer")
    flow.start()
    flow.receive(reply("terminated"))
    assert flow.result.outcome == "terminated" and not flow.result.expected
    assert [c.name for c in flow.result.checks] == ["unexpected_outcome"]


def test_a_persona_with_no_move_fails_loudly_with_the_page_it_was_stuck_on() -> None:
    flow = make_flow("completer")  # no password configured
    flow.start()
    flow.receive(reply("authentication_required"))
    assert flow.result.outcome == "failed"
    assert flow.result.error is not None and flow.result.error["error"] == "PersonaStuck"
    assert flow.result.error["blame"] == "script"
    assert "authentication_required" in flow.result.error["message"]


@pytest.mark.parametrize(("raw", "http"), [(b"<html>oops</html>", 200), (b'{"response":{"status":"weird"}}', 200)])
def test_a_contract_breaking_reply_ends_the_respondent_with_server_blame(raw: bytes, http: int) -> None:
    flow = make_flow("completer")
    flow.start()
    flow.receive(Reply(http, {}, raw))
    assert flow.result.error is not None and flow.result.error["blame"] == "server"
    assert flow.result.error["error"] == "ServerContractError"


def test_an_http_500_ends_the_respondent_with_server_blame() -> None:
    flow = make_flow("completer")
    flow.start()
    _, req = flow.receive(Reply(500, {}, b'{"response":{"error":{"name":"INTERNAL_SERVER_ERROR","message":"x"}}}'))
    assert req is None and flow.result.error is not None
    assert flow.result.error["blame"] == "server" and "HTTP 500 INTERNAL_SERVER_ERROR" in flow.result.error["message"]


def test_a_transport_failure_is_typed_transport() -> None:
    flow = make_flow("completer")
    flow.start()
    flow.fail(TransportError("connection refused"))
    assert flow.result.error == {"blame": "transport", "error": "TransportError", "message": "connection refused",
                                 "step": "take"}


def test_a_reply_without_a_token_is_a_failed_check() -> None:
    flow = make_flow("completer")
    flow.start()
    flow.receive(reply("success", token=None))
    assert [c.name for c in flow.result.checks] == ["missing_token"]


def test_redirects_are_followed_only_to_allow_listed_hosts() -> None:
    flow = make_flow("completer", expects=["redirect"])
    flow.start()
    _, req = flow.receive(reply("redirect", redirectUrl="https://elsewhere.example.test/x"))
    assert req is None and flow.result.redirect_url == "https://elsewhere.example.test/x"
    assert flow.result.redirect_followed is None

    flow = make_flow("completer", follow=frozenset({"127.0.0.1"}), expects=["redirect"])
    flow.start()
    _, req = flow.receive(reply("redirect", redirectUrl="http://127.0.0.1:8/a/api/v2/surveys/6/take?t=1"))
    assert req is not None and req.step == "redirect" and req.url.startswith("http://127.0.0.1:8/")
    assert headers(req) == {"api-key": "KEY"}  # same host as the target: the API's own key
    _, req = flow.receive(Reply(200, {}, body("authentication_required")))
    assert req is None and flow.result.redirect_followed == 200 and flow.result.outcome == "redirect"


def test_backtracker_reports_a_server_that_forgets_earlier_answers() -> None:
    flow = make_flow("backtracker", max_back_after=1)
    flow.start()
    _, req = flow.receive(reply("success"))
    sent = orjson.loads(req.body)  # type: ignore[union-attr]
    _, req = flow.receive(reply("success"))
    assert req is not None and req.step == "previous-page"
    _, req = flow.receive(reply("success"))  # the earlier page, but nothing marked selected
    assert [c.name for c in flow.result.checks] == ["previous_page_mismatch"]
    assert str(sent["u_1"]) in flow.result.checks[0].detail
    assert req is not None and orjson.loads(req.body)["u_1"] != sent["u_1"]  # it changed one answer


def test_validation_fixer_checks_the_server_names_the_broken_question() -> None:
    flow = make_flow("validation_fixer")
    flow.start()
    _, req = flow.receive(reply("success"))
    assert orjson.loads(req.body) == {}  # type: ignore[union-attr]  # the required question left empty
    _, req = flow.receive(reply("validation_errors", validationErrors=[{"questionId": 2, "message": "no"}]))
    assert [c.name for c in flow.result.checks] == ["validation_errors_mismatch"]
    assert req is not None and orjson.loads(req.body)["u_1"] in ("11", "12")


def test_gatecrasher_reports_a_wrong_password_that_opens_the_survey() -> None:
    flow = make_flow("gatecrasher", password="right")
    flow.start()
    _, req = flow.receive(reply("authentication_required"))
    assert orjson.loads(req.body)["password"].startswith("not-right")  # type: ignore[union-attr]
    flow.receive(reply("success"))
    assert [c.name for c in flow.result.checks] == ["wrong_password_accepted"]


def test_returner_re_enters_as_a_fresh_browser_with_the_same_link() -> None:
    flow = make_flow("returner")
    flow.start()
    _, req = flow.receive(reply("survey_complete", token="done"))
    assert req is not None and req.step == "take" and "x-survey-token" not in headers(req)
    assert "transaction_id=lt9-000000" in req.url
    flow.receive(reply("already_completed"))
    assert flow.result.outcome == "already_completed" and flow.result.expected


def test_population_mix_is_exact_and_respondents_are_reproducible(tmp_path: Path) -> None:
    a = PersonaEntry("a", load_persona(PERSONAS / "completer.py"), 3, 5, {"answers": {}})
    b = PersonaEntry("b", load_persona(PERSONAS / "speeder.py"), 1, 5, {"answers": {}})
    pop = Population([a, b], seed=4)
    names = [pop.entry(i).name for i in range(400)]
    assert names.count("a") == 300 and names.count("b") == 100
    first = [pop.respondent(i)[1].r.rng.random() for i in range(5)]
    again = [Population([a, b], seed=4).respondent(i)[1].r.rng.random() for i in range(5)]
    assert first == again and len(set(first)) == 5


def test_backtracker_checks_the_echo_only_on_previous_page_not_on_a_resume() -> None:
    # Its changed submit after going back is lost; the resume (a take with the token) shows the
    # same page again without selections, which seed 001 does not promise on a take.
    flow = make_flow("backtracker", max_back_after=1)
    flow.start()
    _, req = flow.receive(reply("success"))
    sent = orjson.loads(req.body)  # type: ignore[union-attr]
    flow.receive(reply("success"))
    echoed = {**Q, "answers": [{**a, "selected": str(a["id"]) == str(sent["u_1"])} for a in Q["answers"]]}
    _, req = flow.receive(reply("success", questions=[{"html": "", "json": echoed}]))  # previous-page, echoed
    assert req is not None and req.step == "submit-page" and flow.result.checks == ()
    _, req = flow.lost(TransportError("connection reset"))
    assert req is not None and req.step == "resume"
    _, req = flow.receive(reply("success"))  # the same page, as a take shows it: nothing marked selected
    assert flow.result.checks == () and [r.how for r in flow.result.recoveries] == ["resubmitted"]
    assert req is not None and req.step == "submit-page"


@pytest.mark.parametrize(("script", "ending"), [("backtracker", "success"), ("returner", "survey_complete")])
@pytest.mark.parametrize("scale", [0.0, 1.0])
def test_think_scale_scales_every_wait_going_back_and_coming_back_too(script: str, ending: str, scale: float) -> None:
    flow = make_flow(script, think_scale=scale)
    req = flow.start()
    sent = []
    for i in range(12):  # pages until the persona goes back (backtracker) or comes back after completing (returner)
        _, req = flow.receive(reply(ending if i == 3 else "success", token=f"t{i}"))
        assert req is not None
        sent.append(req)
        if req.step in ("previous-page", "take"):
            break
    assert req.step == ("previous-page" if script == "backtracker" else "take")
    if scale == 0:
        assert [r.think_s for r in sent] == [0.0] * len(sent)
    else:
        assert req.think_s > 0
