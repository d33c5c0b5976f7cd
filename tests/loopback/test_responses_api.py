"""QuestionPro's POST /responses (seed 002) over real HTTP on 127.0.0.1, against `loadtest mock`.

Fixtures: tests/fixtures/seed002_examples.json holds the seed's example request, its reply and
the two JSON schemas as printed (the request's stray brace removed; see that file's _source);
tests/fixtures/seed002_contact.toml is a survey with the example's question and answer ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import (
    API_KEY,
    CS_ID,
    CS_PAGES,
    CUSTOMER,
    FIXTURES,
    MockServer,
    Walker,
    no_speeder,
    running_mock,
    survey_variant,
)
from tests.local_http import local_client

SEED = json.loads((FIXTURES / "seed002_examples.json").read_text())
SEED_ID, RACE_ID, SPEEDY_ID = 7654321, 300003, 100009
DATA_AUTH = {"authorization": "Bearer loadtest-local-data-token"}
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def schema_errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """The JSON-schema subset seed 002 uses: type, properties, required, additionalProperties,
    items, anyOf (format is not checked)."""
    if "anyOf" in schema:
        options = [schema_errors(value, s, where) for s in schema["anyOf"]]
        return [] if any(not o for o in options) else options[0]
    kind = schema.get("type")
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = kind is None or isinstance(value, _TYPES[kind])
    if not ok:
        return [f"{where}: expected {kind}, got {value!r}"]
    errors: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            errors += [f"{where}: unexpected {k}" for k in value if k not in props]
        for k, sub in props.items():
            if k in value:
                errors += schema_errors(value[k], sub, f"{where}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{where}[{i}]")
    return errors


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    d = tmp_path_factory.mktemp("responses-api")
    (d / "speedy").mkdir()
    speedy = survey_variant(CUSTOMER, d / "speedy", **{"id = 100001": f"id = {SPEEDY_ID}",
                                                       "speeder_min_seconds = 3.0": "speeder_min_seconds = 600"})
    with running_mock(no_speeder(d), speedy, FIXTURES / "quota_race.toml", FIXTURES / "seed002_contact.toml",
                      db=d / "mock.db") as srv:
        yield srv


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with local_client(base_url=server.url, timeout=30, headers={"api-key": API_KEY}) as c:
        assert c.post("/__admin/reset").status_code == 200
        yield c


def post(c: httpx.Client, survey_id: int, body: Any, **kw: Any) -> httpx.Response:
    return c.post(f"/a/api/v2/surveys/{survey_id}/responses", json=body, **kw)


def choice(qid: int, *ids: int) -> dict[str, Any]:
    return {"questionID": qid, "answerValues": [{"answerID": a} for a in ids]}


def texts(qid: int, **values: str) -> dict[str, Any]:
    return {"questionID": qid,
            "answerValues": [{"answerID": int(a[1:]), "value": {"text": v}} for a, v in values.items()]}


def race(colour: int) -> dict[str, Any]:
    return {"responseSet": [choice(1, colour), texts(2, a21="because")]}


# customer_satisfaction's CS_PAGES walk as one responseSet (grid rows under their own ids)
CS_RESPONSE = {"responseSet": [
    choice(10001, 50001), choice(10002, 50013), texts(10003, a10003="1984-02-29"),
    {"questionID": 10004, "answerValues": [{"answerID": 50025, "value": {"other": "It depends on the day"}}]},
    choice(10005, 50031, 50033), choice(60001, 50043), choice(60002, 50044), choice(60003, 50042),
    choice(60004, 50045),
    texts(10007, a50051="4"), texts(10008, a50061="2", a50062="4", a50063="1", a50064="3"),
    texts(10009, a50071="40", a50072="30", a50073="20", a50074="10"), texts(10010, a50081="Faster delivery, please"),
    choice(10012, 50101),
], "externalReference": "api-cs-1"}


def test_the_seeds_request_gives_a_completed_response_of_the_seeds_schema(client: httpx.Client) -> None:
    r = post(client, SEED_ID, SEED["request"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert schema_errors(body, SEED["response_schema"]) == []
    got, want = body["response"], SEED["response"]["response"]
    assert (got["surveyID"], got["surveyName"], got["responseStatus"], got["language"], got["duplicate"]) == \
        (want["surveyID"], want["surveyName"], "Completed", "English", False)

    def essentials(response: dict[str, Any]) -> list[Any]:
        return [(q["questionID"], q["questionText"], [(a["answerID"], a["value"]["scale"], a["value"]["text"])
                                                      for a in q["answerValues"]]) for q in response["responseSet"]]

    assert essentials(got) == essentials(want)
    assert got["responseSet"][0]["answerValues"][0]["answerText"] == "Always"


def test_the_full_object_of_the_curl_sample_is_echoed(client: httpx.Client) -> None:
    r = post(client, SEED_ID, SEED["curl_body"], params={"apiKey": API_KEY}, headers={"api-key": ""})
    assert r.status_code == 200, r.text
    got, sent = r.json()["response"], SEED["curl_body"]
    assert schema_errors(r.json(), SEED["response_schema"]) == []
    for key in ("ipAddress", "location", "timeTaken", "externalReference", "customVariables", "language",
                "operatingSystem", "osDeviceType", "browser", "responseStatus"):
        assert got[key] == sent[key], key
    stats = client.get("/__admin/stats").json()["surveys"][str(SEED_ID)]["responses"]
    assert stats == {"survey_complete": 1}


def test_every_question_kind_is_stored_as_the_flow_would_store_it(client: httpx.Client) -> None:
    r = post(client, CS_ID, CS_RESPONSE)
    assert r.json()["response"]["responseStatus"] == "Completed", r.text
    codes = [q["questionCode"] for q in r.json()["response"]["responseSet"]]
    assert codes[:7] == ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6_1", "Q6_2"]
    w = Walker(client, CS_ID)
    w.take(transaction_id="flow-cs-1")
    for page in ["screener", "experience", "support", "feedback", "followup"]:
        w.submit(CS_PAGES[page])
    assert w.history[-1].status == "survey_complete"
    items = httpx.get(client.base_url.join(f"/v1/surveys/{CS_ID}/respondents/data"), headers=DATA_AUTH).json()["items"]
    by_txn = {i["transaction_id"]: {k: v for k, v in i.items() if k[:2] in ("u_", "m_", "t_", "r_", "s_", "dt")}
              for i in items}
    assert by_txn["api-cs-1"] == by_txn["flow-cs-1"] == {k: v for p in CS_PAGES.values() for k, v in p.items()}
    again = post(client, CS_ID, CS_RESPONSE)
    assert again.status_code == 400 and "already" in again.json()["response"]["error"]["message"]


def test_quota_cells_count_api_responses_like_flow_completions(client: httpx.Client) -> None:
    for i in range(5):
        w = Walker(client, RACE_ID)
        w.take(transaction_id=f"flow-{i}")
        w.submit({"u_1": "11"})
        assert w.submit({"t_21": "sky"}).status == "survey_complete"
        assert post(client, RACE_ID, {**race(11), "externalReference": f"api-{i}"}).json()["response"][
            "responseStatus"] == "Completed"
    quota = client.get("/__admin/stats").json()["surveys"][str(RACE_ID)]["quotas"]["blue"]
    assert quota == {"count": 10, "limit": 10}
    over = post(client, RACE_ID, {**race(11), "externalReference": "api-over"})
    assert over.status_code == 200 and over.json()["response"]["responseStatus"] == "Overquota"
    late = Walker(client, RACE_ID)
    late.take()
    flow_reply = late.submit({"u_1": "11"})
    assert flow_reply.status == "quota_full" and flow_reply.response["quotaId"] == "blue"
    assert post(client, RACE_ID, race(12)).json()["response"]["responseStatus"] == "Completed"
    stats = client.get("/__admin/stats").json()["surveys"][str(RACE_ID)]
    assert stats["quotas"]["blue"] == {"count": 10, "limit": 10}
    assert stats["responses"] == {"survey_complete": 11, "quota_full": 2}
    record = httpx.get(client.base_url.join(f"/v1/surveys/{RACE_ID}/respondents/data"), headers=DATA_AUTH,
                       params={"filterExpression": "transaction_id = 'api-over'"}).json()["items"][0]
    assert (record["status"], record["reason"]) == ("quotafull", "blue")


def test_flow_rules_apply_screener_chain_straightlining_and_speeding(client: httpx.Client) -> None:
    screened = {"responseSet": [choice(10001, 50002), choice(10002, 50011), texts(10003, a10003="1990-01-01")]}
    assert post(client, CS_ID, screened).json()["response"]["responseStatus"] == "Terminated"
    chained = {"responseSet": [*CS_RESPONSE["responseSet"][:-1], choice(10012, 50103)]}
    assert post(client, CS_ID, chained).json()["response"]["responseStatus"] == "Redirected"
    flat = [choice(row, 50043) for row in (60001, 60002, 60003, 60004)]
    lined = {"responseSet": [*CS_RESPONSE["responseSet"][:5], *flat, *CS_RESPONSE["responseSet"][9:]]}
    assert post(client, CS_ID, lined).json()["response"]["responseStatus"] == "Terminated"
    speedy = post(client, SPEEDY_ID, {**CS_RESPONSE, "timeTaken": 41})
    assert speedy.json()["response"]["responseStatus"] == "Terminated"
    slow = {**CS_RESPONSE, "timeTaken": 900, "externalReference": "api-slow"}
    assert post(client, SPEEDY_ID, slow).json()["response"]["responseStatus"] == "Completed"
    stats = client.get("/__admin/stats").json()["surveys"]
    assert stats[str(CS_ID)]["responses"] == {"redirect": 1, "terminated": 2}
    assert stats[str(SPEEDY_ID)]["responses"] == {"survey_complete": 1, "terminated": 1}


@pytest.mark.parametrize(("body", "message"), [
    ({"responseSet": [choice(1, 11)]}, "questionID 2: This question requires an answer."),
    ({"responseSet": [choice(1, 13), texts(2, a21="x")]}, "questionID 1: '13' is not one of this question's answers."),
    ({"responseSet": [choice(1, 11, 12), texts(2, a21="x")]}, "questionID 1: a single-choice question takes one"),
    ({"responseSet": [choice(9, 11)]}, "questionID 9 is not a question of this survey"),
    ({"responseSet": [choice(1, 11), texts(2, a22="x")]}, "answerID 22 is not this question's field"),
    ({"responseSet": [choice(1, 11), texts(2, a21="x")], "language": "Klingon"}, "'Klingon'"),
    ({"answers": []}, "responseSet"),
])
def test_invalid_responses_are_a_400_envelope_with_the_pages_wording(
    client: httpx.Client, body: dict[str, Any], message: str
) -> None:
    r = post(client, RACE_ID, body)
    assert r.status_code == 400 and schema_errors(r.json(), SEED["error_schema"]) == []
    error = r.json()["response"]["error"]
    assert error["name"] == "BAD_REQUEST" and error["httpStatusCode"] == 400 and message in error["message"]
    assert client.get("/__admin/stats").json()["surveys"][str(RACE_ID)]["responses"] == {}


def test_a_page_hidden_by_display_logic_takes_no_answers(client: httpx.Client) -> None:
    website_only = [choice(10005, 50031) if q["questionID"] == 10005 else q for q in CS_RESPONSE["responseSet"]]
    r = post(client, CS_ID, {"responseSet": website_only})
    assert r.status_code == 400 and "'support' is not shown" in r.json()["response"]["error"]["message"]
    without_support = [q for q in website_only if q["questionID"] not in (10007, 10008)]
    assert post(client, CS_ID, {"responseSet": without_support}).json()["response"]["responseStatus"] == "Completed"


def test_the_api_key_is_required_in_the_header_or_the_query(client: httpx.Client, server: MockServer) -> None:
    url = f"{server.url}/a/api/v2/surveys/{RACE_ID}/responses"
    for r in (httpx.post(url, json=race(12)), httpx.post(url, json=race(12), headers={"api-key": "wrong"}),
              httpx.post(url, json=race(12), params={"apiKey": "wrong"})):
        assert r.status_code == 401 and r.json()["response"]["error"]["name"] == "UNAUTHORIZED"
        assert schema_errors(r.json(), SEED["error_schema"]) == []
    assert httpx.post(url, json=race(12), params={"apiKey": API_KEY}).status_code == 200
    assert httpx.get(url, params={"apiKey": API_KEY}).status_code == 405
    assert post(client, 999, race(12)).status_code == 404
    client.put(f"/__admin/surveys/{RACE_ID}/state", json={"state": "closed"})
    closed = post(client, RACE_ID, race(12))
    client.put(f"/__admin/surveys/{RACE_ID}/state", json={"state": "active"})
    assert closed.status_code == 403 and "closed" in closed.json()["response"]["error"]["message"]
