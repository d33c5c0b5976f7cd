"""The respondent engine without sockets: a fake clock, an in-memory or temp-file database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from loadtest.platform.envelopes import ApiReply
from loadtest.platform.questionpro.respondent_api import RespondentApi
from loadtest.platform.storage import Store
from loadtest.survey.file import load_survey, parse_survey
from loadtest.survey.model import Survey
from tests.helpers import CS_ID, CS_PAGES, CUSTOMER, STORE_VISIT, SV_ID

BASE = "http://127.0.0.1:9"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Resp:
    """One respondent driven straight through the engine, echoing the latest token."""

    def __init__(self, api: RespondentApi, survey_id: int, clock: Clock, step: float = 5.0) -> None:
        self.api, self.survey_id, self.clock, self.step = api, survey_id, clock, step
        self.token: str | None = None
        self.last: ApiReply | None = None

    def _keep(self, reply: ApiReply) -> dict[str, Any]:
        self.last = reply
        if reply.token:
            self.token = reply.token
        body = orjson.loads(reply.body)
        return body.get("response", body)

    def take(self, **query: str) -> dict[str, Any]:
        return self._keep(self.api.take(self.survey_id, self.token, query, BASE))

    def submit(self, form: dict[str, Any]) -> dict[str, Any]:
        self.clock.now += self.step
        return self._keep(self.api.submit(self.survey_id, self.token, orjson.dumps(form), BASE))

    def previous(self) -> dict[str, Any]:
        return self._keep(self.api.previous(self.survey_id, self.token, BASE))


def qids(page: dict[str, Any]) -> list[int]:
    return [(orjson.loads(q["json"]) if isinstance(q["json"], str) else q["json"])["id"] for q in page["questions"]]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cs() -> Survey:
    return load_survey(CUSTOMER)


@pytest.fixture
def api(clock: Clock, cs: Survey) -> RespondentApi:
    return RespondentApi({CS_ID: cs, SV_ID: load_survey(STORE_VISIT)}, Store(":memory:"), clock=clock)


def walk(r: Resp, pages: list[str], txn: str = "T-1", **overrides: dict[str, Any]) -> dict[str, Any]:
    page = r.take(transaction_id=txn)
    for pid in pages:
        assert page["status"] == "success", page
        page = r.submit({**CS_PAGES[pid], **overrides.get(pid, {})})
    return page


ALL = ["screener", "experience", "support", "feedback", "followup"]


def test_a_full_walk_completes_with_the_panel_redirect_and_stores_every_answer(api: RespondentApi,
                                                                               clock: Clock) -> None:
    r = Resp(api, CS_ID, clock)
    end = walk(r, ALL)
    assert end["status"] == "survey_complete"
    assert end["redirectUrl"] == "https://panel.example.test/complete?transaction_id=T-1"
    (row,) = api.store.responses(CS_ID)
    assert row.status == "survey_complete" and row.transaction_id == "T-1"
    assert row.answers == CS_PAGES and row.path == ALL


def test_pages_carry_navigation_meta_and_form_params(api: RespondentApi, clock: Clock) -> None:
    r = Resp(api, CS_ID, clock)
    first = r.take()
    assert first["navigation"] == {"previousPageUrl": None,
                                   "nextPageSubmitUrl": f"/a/api/v2/surveys/{CS_ID}/submit-page"}
    assert first["meta"] == {"isFinalPage": False, "progressPercentage": 0}
    fp = {q["json"]["id"]: q["json"]["formParam"] for q in first["questions"]}
    assert fp[10001]["paramPrefix"] == "u_" and fp[10001]["paramIdType"] == "questionId"
    assert fp[10003]["partPrefixes"] == {"day": "dt_day_", "month": "dt_month_", "year": "dt_year_"}
    second = r.submit(CS_PAGES["screener"])
    assert second["navigation"]["previousPageUrl"] == f"/a/api/v2/surveys/{CS_ID}/previous-page"
    assert second["meta"]["progressPercentage"] == 20


def test_display_logic_skips_the_support_page_and_knows_the_final_page(api: RespondentApi, clock: Clock) -> None:
    r = Resp(api, CS_ID, clock)
    r.take()
    r.submit(CS_PAGES["screener"])
    page = r.submit({**CS_PAGES["experience"], "m_10005": ["50031"]})  # website only: no support page
    assert qids(page) == [10009, 10010, 10011]
    last = r.submit(CS_PAGES["feedback"])
    assert qids(last) == [10012] and last["meta"]["isFinalPage"] is True


@pytest.mark.parametrize(
    ("pages", "override", "status", "reason"),
    [
        (["screener"], {"screener": {"u_10001": "50002"}}, "terminated", {"kind": "screener", "rule": "screener"}),
        (["screener", "experience"],
         {"experience": {"u_60001": "50043", "u_60002": "50043", "u_60003": "50043", "u_60004": "50043"}},
         "terminated", {"kind": "quality", "rule": "straightliner"}),
    ],
)
def test_screeners_and_straightlining_terminate_with_a_reason(
    api: RespondentApi, clock: Clock, pages: list[str], override: dict[str, Any], status: str, reason: dict[str, str]
) -> None:
    r = Resp(api, CS_ID, clock)
    end = walk(r, pages, **override)
    assert end["status"] == status and end["terminateReason"] == reason
    assert end["redirectUrl"] == "https://panel.example.test/terminate?transaction_id=T-1"
    assert r.submit(CS_PAGES["screener"])["status"] == "already_completed"


def test_a_speeder_is_terminated_at_completion(api: RespondentApi, clock: Clock) -> None:
    r = Resp(api, CS_ID, clock, step=0.1)  # five pages in half a second; the survey wants 3 s
    end = walk(r, ALL)
    assert end["status"] == "terminated"
    assert end["terminateReason"] == {"kind": "quality", "rule": "speeder"}


def test_the_chain_answer_redirects_to_the_chain_survey(api: RespondentApi, clock: Clock) -> None:
    r = Resp(api, CS_ID, clock)
    end = walk(r, ALL, followup={"u_10012": "50103"})
    assert end["status"] == "redirect"
    assert end["redirectUrl"] == f"{BASE}/a/api/v2/surveys/200002/take?transaction_id=T-1"


def test_back_navigation_returns_earlier_answers_and_the_final_path_wins(api: RespondentApi, clock: Clock) -> None:
    r = Resp(api, CS_ID, clock)
    r.take()
    nothing_yet = r.previous()
    assert r.last is not None and r.last.status == 400
    assert nothing_yet["error"] == {"code": 1002, "message": "No previous page to navigate back to."}
    r.submit(CS_PAGES["screener"])
    r.submit(CS_PAGES["experience"])
    back = r.previous()
    assert back["status"] == "success" and qids(back) == [10004, 10005, 10006]
    q = {q["json"]["id"]: q["json"] for q in back["questions"]}
    assert [a["id"] for a in q[10004]["answers"] if a.get("selected")] == [50025]
    assert [a.get("value") for a in q[10004]["answers"] if a["id"] == 50025] == ["It depends on the day"]
    assert {a["id"] for a in q[10005]["answers"] if a.get("selected")} == {50031, 50033}
    assert [row["value"] for row in q[10006]["rows"]] == ["50043", "50044", "50042", "50045"]
    # Change the channel answer so the support page drops out of the path.
    nxt = r.submit({**CS_PAGES["experience"], "m_10005": ["50031"]})
    assert qids(nxt) == [10009, 10010, 10011]
    r.submit(CS_PAGES["feedback"])
    assert r.submit(CS_PAGES["followup"])["status"] == "survey_complete"
    (row,) = api.store.responses(CS_ID)
    assert row.path == ["screener", "experience", "feedback", "followup"]
    assert row.answers["experience"]["m_10005"] == ["50031"] and "support" not in row.answers


def test_going_back_across_two_pages_shows_each_page_in_turn(api: RespondentApi, clock: Clock) -> None:
    r = Resp(api, CS_ID, clock)
    r.take()
    for pid in ["screener", "experience", "support"]:
        r.submit(CS_PAGES[pid])
    assert qids(r.previous()) == [10007, 10008]
    assert qids(r.previous()) == [10004, 10005, 10006]
    first = r.previous()
    assert qids(first) == [10001, 10002, 10003] and first["navigation"]["previousPageUrl"] is None
    date = next(q["json"] for q in first["questions"] if q["json"]["id"] == 10003)
    assert date["value"] == {"day": "29", "month": "2", "year": "1984"}
    r.previous()
    assert r.last is not None and r.last.status == 400


def test_password_then_language_gate_then_pages_in_that_language_with_json_as_strings(
    api: RespondentApi, clock: Clock
) -> None:
    r = Resp(api, SV_ID, clock)
    assert r.take()["status"] == "authentication_required"
    assert r.submit({"password": "wrong"})["status"] == "authentication_required"
    gate = r.submit({"password": "visit2026"})
    assert gate == {"status": "language_selection_required", "languages": ["en", "de"]}
    assert r.submit({"language": "fr"})["status"] == "language_selection_required"
    page = r.submit({"language": "de"})
    assert page["status"] == "success"
    assert all(isinstance(q["json"], str) for q in page["questions"])
    first = orjson.loads(page["questions"][0]["json"])
    assert first["text"] == "Welches Geschäft haben Sie besucht?"
    r.previous()  # nothing submitted yet: 400, back navigation or not (seed 001)
    assert r.last is not None and r.last.status == 400
    r.submit({"u_20001": "70002", "t_70011": "12"})
    again = r.previous()  # back navigation off: the current page again, status success
    assert again["status"] == "success" and qids(again) == [20003]
    assert r.submit({"t_70021": "Kurz und gut."})["status"] == "survey_complete"


def test_the_lang_entry_parameter_skips_language_selection(api: RespondentApi, clock: Clock) -> None:
    r = Resp(api, SV_ID, clock)
    r.take(lang="en")
    page = r.submit({"password": "visit2026"})
    assert orjson.loads(page["questions"][0]["json"])["text"] == "Which store did you visit?"


def test_re_entry_is_already_completed_by_transaction_and_by_token(api: RespondentApi, clock: Clock) -> None:
    r = Resp(api, CS_ID, clock)
    walk(r, ALL)
    assert r.take()["status"] == "already_completed"
    fresh = Resp(api, CS_ID, clock)
    assert fresh.take(transaction_id="T-1")["status"] == "already_completed"
    assert fresh.take(transaction_id="T-2")["status"] == "success"


def test_opt_out_entry_parameter_records_the_opt_out(api: RespondentApi, clock: Clock) -> None:
    r = Resp(api, CS_ID, clock)
    assert r.take(transaction_id="T-9", opt_out="1")["status"] == "survey_opt_out"
    (row,) = api.store.responses(CS_ID)
    assert row.status == "survey_opt_out" and row.transaction_id == "T-9"


@pytest.mark.parametrize(("state", "status"), [("closed", "survey_closed"), ("paused", "survey_paused"),
                                                ("suspended", "survey_suspended")])
def test_survey_states_block_entry_and_progress(api: RespondentApi, clock: Clock, state: str, status: str) -> None:
    r = Resp(api, CS_ID, clock)
    r.take()
    api.store.set_survey_state(CS_ID, state)
    assert r.submit(CS_PAGES["screener"])["status"] == status
    assert Resp(api, CS_ID, clock).take()["status"] == status
    api.store.set_survey_state(CS_ID, "active")
    assert r.submit(CS_PAGES["screener"])["status"] == "success"


def test_quota_full_early_when_the_cell_is_already_full(clock: Clock, cs: Survey) -> None:
    api = RespondentApi({CS_ID: cs}, Store(":memory:"), clock=clock)
    api.quota_limits[CS_ID]["gender_female"] = 0
    r = Resp(api, CS_ID, clock)
    end = walk(r, ["screener"], screener={"u_10002": "50011"})
    assert end == {"status": "quota_full", "quotaId": "gender_female",
                   "redirectUrl": "https://panel.example.test/overquota?transaction_id=T-1"}


def test_quota_counted_atomically_at_completion_when_two_race_for_the_last_place(clock: Clock, cs: Survey) -> None:
    api = RespondentApi({CS_ID: cs}, Store(":memory:"), clock=clock)
    api.quota_limits[CS_ID]["gender_male"] = 1
    a, b = Resp(api, CS_ID, clock), Resp(api, CS_ID, clock)
    for r, txn in ((a, "T-1"), (b, "T-2")):  # both pass the early check while the cell is empty
        walk(r, ["screener", "experience", "support", "feedback"], txn, screener={"u_10002": "50012"})
    assert a.submit(CS_PAGES["followup"])["status"] == "survey_complete"
    assert b.submit(CS_PAGES["followup"]) == {
        "status": "quota_full", "quotaId": "gender_male",
        "redirectUrl": "https://panel.example.test/overquota?transaction_id=T-2"}
    assert api.store.quota_counts(CS_ID) == {"gender_male": 1}


def test_a_restarted_platform_rebuilds_the_session_from_the_database(tmp_path: Path, clock: Clock, cs: Survey) -> None:
    db = tmp_path / "p.db"
    first = RespondentApi({CS_ID: cs}, Store(db), clock=clock)
    r = Resp(first, CS_ID, clock)
    walk(r, ["screener", "experience"])
    first.store.close()
    second = RespondentApi({CS_ID: cs}, Store(db), clock=clock)  # same db: same token key
    r.api = second
    assert qids(r.previous()) == [10004, 10005, 10006]
    for pid in ["experience", "support", "feedback"]:
        r.submit(CS_PAGES[pid])
    assert r.submit(CS_PAGES["followup"])["status"] == "survey_complete"
    assert second.sessions.rebuilt == 1


def test_a_session_lost_after_a_reset_reports_status_error(api: RespondentApi, clock: Clock) -> None:
    r = Resp(api, CS_ID, clock)
    walk(r, ["screener"])
    api.store.reset()
    api.sessions.clear()
    out = r.submit(CS_PAGES["experience"])
    assert out["status"] == "error" and "could not be restored" in out["message"]


@pytest.mark.parametrize(
    ("call", "http", "name"),
    [
        (lambda api, tok: api.take(999, None, {}, BASE), 404, "NOT_FOUND"),
        (lambda api, tok: api.submit(CS_ID, None, b"{}", BASE), 400, "BAD_REQUEST"),
        (lambda api, tok: api.submit(CS_ID, tok[:-2] + "xx", b"{}", BASE), 403, "FORBIDDEN"),
        (lambda api, tok: api.take(SV_ID, tok, {}, BASE), 403, "FORBIDDEN"),  # token of another survey
        (lambda api, tok: api.submit(CS_ID, tok, b"{not json", BASE), 400, "BAD_REQUEST"),
        (lambda api, tok: api.submit(CS_ID, tok, b"[1, 2]", BASE), 400, "BAD_REQUEST"),
    ],
)
def test_error_envelopes(api: RespondentApi, clock: Clock, call, http: int, name: str) -> None:  # type: ignore[no-untyped-def]
    r = Resp(api, CS_ID, clock)
    r.take()
    reply = call(api, r.token)
    assert reply.status == http
    error = orjson.loads(reply.body)["response"]["error"]
    assert error["name"] == name and error["httpStatusCode"] == http
    assert set(error) == {"docs", "resourceUrl", "name", "id", "message", "httpStatusCode"}


def test_validation_errors_reshow_the_page_with_what_was_posted(api: RespondentApi, clock: Clock) -> None:
    r = Resp(api, CS_ID, clock)
    r.take()
    out = r.submit({**CS_PAGES["screener"], "dt_day_10003": "31"})
    assert out["status"] == "validation_errors"
    assert out["validationErrors"] == [{"questionId": 10003, "message": "Please enter a valid date."}]
    gender = next(q["json"] for q in out["questions"] if q["json"]["id"] == 10002)
    assert [a["id"] for a in gender["answers"] if a.get("selected")] == [50013]
    assert r.submit(CS_PAGES["screener"])["status"] == "success"


def test_a_survey_without_languages_or_password_opens_straight_on_the_first_page(clock: Clock) -> None:
    survey = parse_survey(
        '[survey]\nid = 5\ntitle = "t"\n[[pages]]\nid = "only"\n[[pages.questions]]\nid = 1\ntype = "text"\n'
        'text = "Say something"\nanswer_id = 2\n'
    )
    api = RespondentApi({5: survey}, Store(":memory:"), clock=clock)
    r = Resp(api, 5, clock)
    page = r.take()
    assert page["meta"]["isFinalPage"] is True
    assert r.submit({"t_2": "hello"}) == {"status": "survey_complete"}
