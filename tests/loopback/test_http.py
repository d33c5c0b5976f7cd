"""The respondent API over real HTTP on 127.0.0.1, against `loadtest mock` in a subprocess."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import anyio
import httpx
import orjson
import pytest

from tests.helpers import (
    API_KEY,
    CS_ID,
    CS_PAGES,
    CUSTOMER,
    FIXTURES,
    STORE_VISIT,
    SV_ID,
    MockServer,
    Walker,
    no_speeder,
    running_mock,
    survey_variant,
)
from tests.local_http import local_async_client, local_client

SPEEDY_ID = 100009  # customer_satisfaction with a 600 s speeder rule: any scripted walk is a speeder
RACE_ID = 300003
ALL = ["screener", "experience", "support", "feedback", "followup"]
_txn = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    d = tmp_path_factory.mktemp("surveys")
    speedy_dir = d / "speedy"
    speedy_dir.mkdir()
    speedy = survey_variant(CUSTOMER, speedy_dir, **{"id = 100001": f"id = {SPEEDY_ID}",
                                                      "speeder_min_seconds = 3.0": "speeder_min_seconds = 600"})
    with running_mock(no_speeder(d), STORE_VISIT, speedy, FIXTURES / "quota_race.toml", db=d / "mock.db") as srv:
        yield srv


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with local_client(base_url=server.url, timeout=10) as c:
        assert c.post("/__admin/reset").status_code == 200
        yield c


def walk(w: Walker, pages: list[str], **overrides: dict[str, str]) -> str:
    reply = w.take(transaction_id=f"txn-{next(_txn)}")
    for pid in pages:
        assert reply.status == "success", reply.body
        reply = w.submit({**CS_PAGES[pid], **overrides.get(pid, {})})
    return reply.status


def test_every_one_of_the_14_statuses_is_reachable(client: httpx.Client) -> None:
    seen: dict[str, int] = {}

    def note(reply_status: str) -> None:
        seen[reply_status] = seen.get(reply_status, 0) + 1

    w = Walker(client, CS_ID)
    note(w.take(transaction_id="T-100").status)                                  # success
    note(w.submit({}).status)                                                    # validation_errors
    for pid in ALL[:-1]:
        w.submit(CS_PAGES[pid])
    note(w.submit(CS_PAGES["followup"]).status)                                  # survey_complete
    note(Walker(client, CS_ID).take(transaction_id="T-100").status)             # already_completed
    note(walk(Walker(client, CS_ID), ["screener"], screener={"u_10001": "50002"}))  # terminated
    note(walk(Walker(client, CS_ID), ALL, followup={"u_10012": "50103"}))       # redirect
    note(Walker(client, CS_ID).take(opt_out="1").status)                        # survey_opt_out
    gated = Walker(client, SV_ID)
    note(gated.take().status)                                                    # authentication_required
    note(gated.submit({"password": "visit2026"}).status)                         # language_selection_required
    for state in ("closed", "paused", "suspended"):                              # survey_closed/paused/suspended
        client.put(f"/__admin/surveys/{SV_ID}/state", json={"state": state})
        note(Walker(client, SV_ID).take().status)
    client.put(f"/__admin/surveys/{SV_ID}/state", json={"state": "active"})
    race = Walker(client, RACE_ID)
    race.take()
    client.post("/__admin/reset")  # the response set is gone from under a live token
    for _ in range(10):  # fill the cell, then one more respondent is turned away
        r = Walker(client, RACE_ID)
        r.take()
        r.submit({"u_1": "11"})
        assert r.submit({"t_21": "sky"}).status == "survey_complete"
    full = Walker(client, RACE_ID)
    full.take()
    note(full.submit({"u_1": "11"}).status)                                      # quota_full
    lost = Walker(client, CS_ID)
    lost.take()
    lost.submit(CS_PAGES["screener"])
    client.post("/__admin/reset")
    note(lost.submit(CS_PAGES["experience"]).status)                             # error
    assert set(seen) == {
        "success", "validation_errors", "authentication_required", "already_completed", "quota_full",
        "survey_complete", "terminated", "survey_closed", "survey_paused", "survey_suspended",
        "language_selection_required", "survey_opt_out", "redirect", "error",
    }


def test_every_reply_carries_a_token_and_the_client_must_echo_the_latest(client: httpx.Client) -> None:
    w = Walker(client, CS_ID)
    tokens = [w.take().token]
    tokens.append(w.submit(CS_PAGES["screener"]).token)
    tokens.append(w.previous().token)
    assert all(tokens) and len(set(tokens)) == 3


def test_a_speeder_walk_over_http_is_terminated_as_quality(client: httpx.Client) -> None:
    w = Walker(client, SPEEDY_ID)
    assert walk(w, ALL) == "terminated"
    assert w.history[-1].response["terminateReason"] == {"kind": "quality", "rule": "speeder"}


def test_json_is_served_as_an_object_or_as_a_json_encoded_string_by_survey(client: httpx.Client) -> None:
    as_object = Walker(client, CS_ID).take()
    assert isinstance(as_object.response["questions"][0]["json"], dict)
    gated = Walker(client, SV_ID)
    gated.take(lang="de")
    page = gated.submit({"password": "visit2026"})
    raw = page.response["questions"][0]["json"]
    assert isinstance(raw, str) and orjson.loads(raw)["formParam"]["paramPrefix"] == "u_"
    assert page.questions()[0]["text"] == "Welches Geschäft haben Sie besucht?"


def test_back_navigation_on_and_off(client: httpx.Client) -> None:
    w = Walker(client, CS_ID)
    w.take()
    assert w.previous().http_status == 400
    assert w.history[-1].body["error"]["code"] == 1002
    w.submit(CS_PAGES["screener"])
    back = w.previous()
    gender = next(q for q in back.questions() if q["id"] == 10002)
    assert [a["id"] for a in gender["answers"] if a.get("selected")] == [50013]
    off = Walker(client, SV_ID)
    off.take(lang="en")
    off.submit({"password": "visit2026"})
    off.submit({"u_20001": "70001", "t_70011": "5"})
    same = off.previous()
    assert same.status == "success" and [q["id"] for q in same.questions()] == [20003]


@pytest.mark.parametrize(
    ("method", "path", "headers", "http", "name"),
    [
        ("GET", f"/a/api/v2/surveys/{CS_ID}/take", {}, 401, "UNAUTHORIZED"),
        ("GET", f"/a/api/v2/surveys/{CS_ID}/take", {"api-key": "wrong"}, 401, "UNAUTHORIZED"),
        ("GET", "/a/api/v2/surveys/424242/take", {"api-key": API_KEY}, 404, "NOT_FOUND"),
        ("GET", "/a/api/v2/surveys/abc/take", {"api-key": API_KEY}, 400, "BAD_REQUEST"),
        ("GET", f"/a/api/v2/surveys/{CS_ID}/submit-page", {"api-key": API_KEY}, 405, "METHOD_NOT_ALLOWED"),
        ("POST", f"/a/api/v2/surveys/{CS_ID}/submit-page", {"api-key": API_KEY}, 400, "BAD_REQUEST"),
        ("GET", f"/a/api/v2/surveys/{CS_ID}/take", {"api-key": API_KEY, "x-survey-token": "e30.bad"}, 403,
         "FORBIDDEN"),
        ("GET", f"/a/api/v2/surveys/{CS_ID}/nope", {"api-key": API_KEY}, 404, "NOT_FOUND"),
    ],
)
def test_error_envelopes_match_the_seed_schema(client: httpx.Client, method: str, path: str,
                                               headers: dict[str, str], http: int, name: str) -> None:
    r = client.request(method, path, headers=headers)
    assert r.status_code == http
    error = r.json()["response"]["error"]
    assert (error["name"], error["httpStatusCode"]) == (name, http)
    assert set(error) == {"docs", "resourceUrl", "name", "id", "message", "httpStatusCode"}


def test_a_tampered_token_is_refused_with_the_envelope(client: httpx.Client) -> None:
    w = Walker(client, CS_ID)
    w.take()
    assert w.token
    body, sig = w.token.split(".")
    w.token = body[:-1] + ("A" if body[-1] != "A" else "B") + "." + sig
    reply = w.submit(CS_PAGES["screener"])
    assert reply.http_status == 403 and reply.body["response"]["error"]["name"] == "FORBIDDEN"


def test_admin_stats_health_and_openapi(client: httpx.Client) -> None:
    w = Walker(client, CS_ID)
    w.take()
    w.submit({})
    stats = client.get("/__admin/stats").json()
    assert stats["requests"]["take"] == {"200": 1} and stats["requests"]["submit-page"] == {"200": 1}
    assert stats["replies"] == {"success": 1, "validation_errors": 1}
    assert stats["open_sessions"] == 1
    assert stats["surveys"][str(CS_ID)]["quotas"]["gender_male"] == {"count": 0, "limit": 20}
    assert client.get("/__admin/health").json()["surveys"] == [CS_ID, SPEEDY_ID, SV_ID, RACE_ID]
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/a/api/v2/surveys/{surveyId}/take", "/a/api/v2/surveys/{surveyId}/submit-page",
            "/a/api/v2/surveys/{surveyId}/previous-page", "/__admin/stats", "/respondent_result/callbacks/",
            "/api/external/v1/surveys/{surveyId}/transactions"} <= set(spec["paths"])


async def _race_one(client: httpx.AsyncClient, index: int) -> str:
    headers = {"api-key": API_KEY}
    r = await client.get(f"/a/api/v2/surveys/{RACE_ID}/take", headers=headers)
    headers["x-survey-token"] = r.headers["x-survey-token"]
    r = await client.post(f"/a/api/v2/surveys/{RACE_ID}/submit-page", json={"u_1": "11"}, headers=headers)
    if r.json()["response"]["status"] != "success":
        return r.json()["response"]["status"]
    headers["x-survey-token"] = r.headers["x-survey-token"]
    r = await client.post(f"/a/api/v2/surveys/{RACE_ID}/submit-page", json={"t_21": f"because {index}"},
                          headers=headers)
    return str(r.json()["response"]["status"])


@pytest.mark.slow  # ~5 s: a hundred walks
def test_100_respondents_racing_for_a_cell_of_10_give_exactly_10_completes(client: httpx.Client,
                                                                           server: MockServer) -> None:
    outcomes: list[str] = []

    async def race() -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with local_async_client(base_url=server.url, timeout=30, limits=limits) as ac:
            async def one(i: int) -> None:
                outcomes.append(await _race_one(ac, i))

            async with anyio.create_task_group() as tg:
                for i in range(100):
                    tg.start_soon(one, i)

    anyio.run(race)
    assert sorted(set(outcomes)) == ["quota_full", "survey_complete"]
    assert outcomes.count("survey_complete") == 10 and outcomes.count("quota_full") == 90
    stats = client.get("/__admin/stats").json()["surveys"][str(RACE_ID)]
    assert stats["quotas"]["blue"] == {"count": 10, "limit": 10}
    assert stats["responses"] == {"survey_complete": 10, "quota_full": 90}
