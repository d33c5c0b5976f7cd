"""The respondent data API (seed 004) over real HTTP on 127.0.0.1, against `loadtest mock`.

The seed's example requests are replayed as they are printed (survey `p1231234` becomes
`p100001`; the seed's user variables email, gender, city, country, age and date_of_birth are
declared first, as the seed's "Adding User-variables" section does), and the replies compared to
the seed's. Where the seed contradicts itself the test names the contradiction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.helpers import CS_ID, CS_PAGES, FIXTURES, MockServer, Walker, no_speeder, running_mock
from tests.local_http import local_client

TOKEN = "data-t0ken-for-tests"
AUTH = {"authorization": f"Bearer {TOKEN}", "accept": "application/json"}
DATA = f"/v1/surveys/p{CS_ID}/respondents/data"
ALL = ["screener", "experience", "support", "feedback", "followup"]
SEED_VARIABLES = [
    {"name": "email", "dataType": "text", "length": 512},
    {"name": "gender", "dataType": "text"},
    {"name": "city", "dataType": "text"},
    {"name": "country", "dataType": "text"},
    {"name": "age", "dataType": "numeric", "precision": 3, "scale": 0},
    {"name": "date_of_birth", "dataType": "date"},
]
# Seed 004, "Adding invalid data": the reply, word for word.
SEED_INVALID_REPLY = {
    "message": "Change survey data operation is aborted. No data was changed.",
    "validationMessages": {"level": "respondent", "rowResults": [
        {"rowNumber": 1, "messages": [{"fields": ["age"], "message": "Invalid Numeric.", "value": "abc",
                                       "severity": "Error"}]},
        {"rowNumber": 2, "messages": [{"fields": ["date_of_birth"], "message": "Invalid DateTime.", "value": "abc",
                                       "severity": "Error"}]},
    ]},
}
SCHEMA = {"keys": ["email"], "variables": ["gender", "city", "country"]}
TWO = [{"email": "test1@example.com", "gender": "male", "city": "oslo"},
       {"email": "test2@example.com", "gender": "female", "country": "norway"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    d = tmp_path_factory.mktemp("data-api")
    with running_mock(no_speeder(d), FIXTURES / "quota_race.toml", db=d / "mock.db",
                      env={"MY_DATA_TOKEN": TOKEN}, extra=("--data-token-env", "MY_DATA_TOKEN")) as srv:
        yield srv


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with local_client(base_url=server.url, timeout=30, headers=AUTH) as c:
        assert c.post("/__admin/reset").status_code == 200
        for variable in SEED_VARIABLES:
            r = c.post(f"/v1/surveys/p{CS_ID}/respondents/uservariables", json=variable)
            assert r.status_code == 200, r.text
        yield c


def _send(c: httpx.Client, method: str, body: dict[str, Any]) -> httpx.Response:
    return c.request(method, DATA, content=orjson.dumps(body), headers={"content-type": "application/json"})


def _people(c: httpx.Client) -> None:
    """respid 1..3, as the seed's read examples assume them."""
    r = _send(c, "POST", {"data": [{"email": "test1@example.com", "gender": "female", "city": "oslo"},
                                   {"email": "test2@example.com", "gender": "male", "city": "bergen"},
                                   {"email": "test3@example.com", "gender": "female", "city": "oslo"}]})
    assert r.json() == {"insertedRecords": 3, "insertedIds": [1, 2, 3]}


def _walk(c: httpx.Client, txn: str, pages: list[str] = ALL, **overrides: dict[str, Any]) -> Walker:
    w = Walker(c, CS_ID)
    w.take(transaction_id=txn)
    for pid in pages:
        assert w.history[-1].status == "success", w.history[-1].body
        w.submit({**CS_PAGES[pid], **overrides.get(pid, {})})
    return w


# --- reading --------------------------------------------------------------------------------------
def test_seed_paged_read_gives_the_seeds_shape_and_links(client: httpx.Client, server: MockServer) -> None:
    _people(client)
    r = client.get(DATA, params={"variables": "email,gender", "pageSize": "2", "page": "1"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json; charset=utf-8"
    base = f"{server.url}{DATA}"
    assert r.json() == {
        "itemCount": 2, "totalCount": 3,
        "items": [{"respid": 1, "email": "test1@example.com", "gender": "female"},
                  {"respid": 2, "email": "test2@example.com", "gender": "male"}],
        "links": {"next": f"{base}?variables=email,gender&pageSize=2&page=2", "item": f"{base}/{{respId}}"},
    }
    last = client.get(r.json()["links"]["next"]).json()
    assert last["itemCount"] == 1 and [i["respid"] for i in last["items"]] == [3] and "next" not in last["links"]
    exact = client.get(DATA, params={"pageSize": "3"}).json()
    assert exact["itemCount"] == 3 and "next" not in exact["links"]  # a full last page has no next
    beyond = client.get(DATA, params={"pageSize": "2", "page": "3"}).json()
    assert beyond["itemCount"] == 0 and beyond["items"] == [] and beyond["totalCount"] == 3


@pytest.mark.parametrize("params", [{"pageSize": "10001"}, {"pageSize": "0"}, {"pageSize": "x"}, {"page": "0"}])
def test_page_size_over_10000_or_bad_paging_is_a_400(client: httpx.Client, params: dict[str, str]) -> None:
    r = client.get(DATA, params=params)
    assert r.status_code == 400 and set(r.json()) == {"message"}
    assert next(iter(params)) in r.json()["message"]


def test_page_size_10000_is_allowed_and_the_stream_ignores_the_limit(client: httpx.Client) -> None:
    _people(client)
    assert client.get(DATA, params={"pageSize": "10000"}).json()["itemCount"] == 3
    r = client.get(DATA, params={"pageSize": "10001"}, headers={"accept": "application/x-ndjson"})
    assert r.status_code == 200 and len(r.text.splitlines()) == 3


def test_ndjson_stream_is_one_record_a_line_across_several_batches(client: httpx.Client) -> None:
    records = [{"email": f"bulk{i}@example.com", "age": i % 100} for i in range(1234)]  # > 2 stream batches
    assert _send(client, "POST", {"data": records}).json()["insertedRecords"] == 1234
    seen = []
    with client.stream("GET", DATA, params={"variables": "email,age"}, headers={"accept": "application/x-ndjson"}) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson; charset=utf-8"
        for line in r.iter_lines():
            if line:
                seen.append(orjson.loads(line))
    assert [s["respid"] for s in seen] == list(range(1, 1235))
    assert seen[7] == {"respid": 8, "email": "bulk7@example.com", "age": 7}
    assert seen[0] == {"respid": 1, "email": "bulk0@example.com", "age": 0}  # 0 is a value, not a blank


def test_read_one_respondent_as_the_seed_shows(client: httpx.Client) -> None:
    _people(client)
    r = client.get(f"{DATA}/1", params={"variables": "email,gender"})
    assert r.json() == {"respid": 1, "email": "test1@example.com", "gender": "female"}
    assert client.get(f"{DATA}/99").status_code == 404
    assert client.get("/v1/surveys/300003/respondents/data/1").status_code == 404  # another survey's row


def test_variables_must_exist_and_templates_are_refused(client: httpx.Client) -> None:
    assert "nosuch" in client.get(DATA, params={"variables": "email,nosuch"}).json()["message"]
    assert client.get(DATA, params={"variableTemplateId": "7"}).status_code == 400
    both = client.get(DATA, params={"variables": "email", "variableTemplateId": "7"})
    assert both.status_code == 400 and "mutually exclusive" in both.json()["message"]
    assert client.get("/v1/surveys/p999/respondents/data").status_code == 404


# --- filters --------------------------------------------------------------------------------------
def test_seed_filter_expression_and_the_documented_subset(client: httpx.Client) -> None:
    _people(client)
    _send(client, "POST", {"data": [{"email": "old@example.com", "city": "oslo", "age": 70}]})

    def ids(expression: str) -> list[int]:
        r = client.get(DATA, params={"filterExpression": expression, "pageSize": "100"})
        assert r.status_code == 200, r.text
        return [item["respid"] for item in r.json()["items"]]

    assert ids("respondent:city='oslo'") == [1, 3, 4]
    assert ids("city = 'oslo' and not gender = 'female'") == [4]
    assert ids("(city = 'bergen' or age >= 65) and respid != 2") == [4]
    assert ids("gender in ('male', 'other')") == [2]
    assert ids("gender not in ('male')") == [1, 3, 4]
    assert ids("age < 100 and age > 69.5") == [4]
    assert ids("gender = ''") == [4]  # blank datapoint
    assert ids("status = 'incomplete' AND email <> 'old@example.com'") == [1, 2, 3]
    assert client.get(DATA, params={"filterExpression": "city = 'oslo'", "pageSize": "1"}).json()["totalCount"] == 3


@pytest.mark.parametrize(("expression", "named"), [
    ("city like 'o%'", "'like'"),
    ("lower(city) = 'oslo'", "'lower'"),
    ("nosuch = 1", "'nosuch'"),
    ("city = ", "end of the expression"),
    ("city = 'oslo' and", "end of the expression"),
    ("age + 1 > 3", "'+ 1 > 3'"),
    ("questions:q1 = 1", "':q1 = 1'"),
])
def test_filters_outside_the_subset_are_a_400_naming_what_was_not_understood(
    client: httpx.Client, expression: str, named: str
) -> None:
    r = client.get(DATA, params={"filterExpression": expression})
    assert r.status_code == 400 and named in r.json()["message"], r.json()


# --- writes, the seed's examples ---------------------------------------------------------------
def test_seed_add_examples(client: httpx.Client) -> None:
    first = _send(client, "POST",
                  {"data": [{"gender": "male", "city": "oslo"}, {"gender": "female", "country": "norway"}]})
    assert first.status_code == 200 and first.json() == {"insertedRecords": 2, "insertedIds": [1, 2]}
    _send(client, "PUT", {"dataSchema": {"keys": ["respid"], "variables": ["email"]},
                          "data": [{"respid": 1, "email": "test1@example.com"}]})
    keyed = _send(client, "POST", {"dataSchema": SCHEMA, "data": TWO})
    # Seed contradictions: its reply says "insertedRecords": 1 but lists two insertedIds, and says
    # "level": "response" here but "respondent" everywhere else. We list the inserted id only and
    # use "respondent" throughout.
    assert keyed.json() == {
        "insertedRecords": 1, "insertedIds": [3],
        "validationMessages": {"level": "respondent", "rowResults": [{"rowNumber": 1, "messages": [
            {"fields": ["email"], "message": "KeyValue already exists.", "value": "test1@example.com",
             "severity": "Error"}]}]},
    }
    assert client.get(f"{DATA}/3").json()["country"] == "norway"


def test_seed_invalid_add_is_a_400_word_for_word_and_changes_nothing(client: httpx.Client) -> None:
    _people(client)
    r = _send(client, "POST", {"data": [{"gender": "male", "city": "oslo", "age": "abc"},
                                        {"gender": "female", "country": "norway", "date_of_birth": "abc"}]})
    assert r.status_code == 400 and r.json() == SEED_INVALID_REPLY
    assert client.get(DATA).json()["totalCount"] == 3


def test_seed_update_examples(client: httpx.Client) -> None:
    _people(client)
    r = _send(client, "PUT", {"dataSchema": SCHEMA, "data": TWO})
    assert r.json() == {"updatedRecords": 2}
    one = client.get(f"{DATA}/1").json()
    assert (one["gender"], one["city"]) == ("male", "oslo")
    assert client.get(f"{DATA}/2").json()["country"] == "norway"
    _send(client, "DELETE", {"dataSchema": {"keys": ["respid"]}, "data": [{"respid": 2}]})
    r = _send(client, "PUT", {"dataSchema": SCHEMA, "data": TWO})
    assert r.json() == {"updatedRecords": 1, "validationMessages": {"level": "respondent", "rowResults": [
        {"rowNumber": 2, "messages": [{"fields": ["email"], "message": "KeyValue could not be found.",
                                       "value": "test2@example.com", "severity": "Error"}]}]}}
    no_schema = _send(client, "PUT", {"data": TWO})
    assert no_schema.status_code == 400 and "dataSchema" in no_schema.json()["message"]


def test_seed_merge_example(client: httpx.Client) -> None:
    _send(client, "POST", {"data": [{"email": "test1@example.com", "gender": "female"}]})
    r = _send(client, "PATCH", {"dataSchema": SCHEMA, "data": TWO})
    # The seed prints "insertedIds": [23,24] for one inserted record; we list the one id.
    assert r.json() == {"insertedRecords": 1, "insertedIds": [2], "updatedRecords": 1}
    assert client.get(f"{DATA}/1").json()["gender"] == "male"
    added = client.get(f"{DATA}/2").json()
    assert {k: added.get(k) for k in ("email", "gender", "country", "city", "status")} == {
        "email": "test2@example.com", "gender": "female", "country": "norway", "city": None, "status": "incomplete"}


def test_seed_delete_examples(client: httpx.Client) -> None:
    _people(client)
    assert _send(client, "DELETE", {"dataSchema": {"keys": ["respid"]}, "data": [{"respid": 3}, {"respid": 2}]}
                 ).json() == {"deletedRecords": 2}
    r = _send(client, "DELETE", {"dataSchema": {"keys": ["email"]},
                                 "data": [{"email": "test1@example.com"}, {"email": "test2@example.com"}]})
    assert r.json() == {"deletedRecords": 1, "validationMessages": {"level": "respondent", "rowResults": [
        {"rowNumber": 2, "messages": [{"fields": ["email"], "message": "KeyValue could not be found.",
                                       "value": "test2@example.com", "severity": "Error"}]}]}}
    assert client.get(DATA).json()["totalCount"] == 0


def test_seed_delete_with_a_non_unique_key_is_a_400_and_deletes_nothing(client: httpx.Client) -> None:
    _send(client, "POST", {"data": [{"email": "test1@example.com"}, {"email": "test1@example.com"},
                                    {"email": "test2@example.com"}]})
    r = _send(client, "DELETE", {"dataSchema": {"keys": ["email"]},
                                 "data": [{"email": "test1@example.com"}, {"email": "test2@example.com"}]})
    assert r.status_code == 400 and r.json() == {"deletedRecords": 0, "validationMessages": {
        "level": "respondent", "rowResults": [{"rowNumber": 1, "messages": [
            {"fields": ["email"], "message": "KeyValue is not unique.", "value": "test1@example.com",
             "severity": "Error"}]}]}}
    assert client.get(DATA).json()["totalCount"] == 3


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_updates_are_all_or_nothing(client: httpx.Client, method: str) -> None:
    _people(client)
    r = _send(client, method, {"dataSchema": {"keys": ["respid"], "variables": ["city", "age"]},
                               "data": [{"respid": 1, "city": "tromso"}, {"respid": 2, "age": "old"}]})
    assert r.status_code == 400 and r.json()["message"].endswith("No data was changed.")
    assert r.json()["validationMessages"]["rowResults"] == [{"rowNumber": 2, "messages": [
        {"fields": ["age"], "message": "Invalid Numeric.", "value": "old", "severity": "Error"}]}]
    assert client.get(f"{DATA}/1").json()["city"] == "oslo"


def test_seed_user_variable_declarations(client: httpx.Client) -> None:
    url = f"/v1/surveys/p{CS_ID}/respondents/uservariables"
    assert client.post(url, json={"name": "income", "dataType": "numeric", "precision": 8, "scale": 0}).json() == {
        "name": "income", "variableType": "numeric", "precision": 8, "scale": 0, "isUserVariable": "true"}
    assert client.post(url, json={"name": "address", "dataType": "text", "length": 512}).json()["length"] == 512
    assert client.post(url, json={"name": "is_married", "dataType": "boolean"}).status_code == 200
    assert client.post(url, json={"name": "email", "dataType": "text"}).status_code == 409
    assert client.post(url, json={"name": "n", "dataType": "numeric"}).status_code == 400  # precision or scale
    assert client.post(url, json={"name": "u_1", "dataType": "text"}).status_code == 400  # answer-shaped
    bad = _send(client, "POST", {"data": [{"is_married": "maybe"}]})
    assert bad.json()["validationMessages"]["rowResults"][0]["messages"][0]["message"] == "Invalid Boolean."
    ok = _send(client, "POST", {"data": [{"is_married": True, "income": "1200"}]}).json()["insertedIds"][0]
    stored = client.get(f"{DATA}/{ok}").json()
    assert (stored["is_married"], stored["income"]) == (1, 1200)


# --- records of respondents who took the survey ----------------------------------------------------
def test_a_walked_respondent_is_one_record_of_what_it_submitted_after_going_back(client: httpx.Client) -> None:
    w = _walk(client, "T-back", ["screener", "experience"])  # phoned: the support page is next
    assert w.previous().status == "success"  # back to experience; now only the website, no "other"
    changed = {**CS_PAGES["experience"], "u_10004": "50021", "m_10005": ["50031"]}
    del changed["t_50025"]
    w.submit(changed)
    for pid in ["feedback", "followup"]:  # support is no longer shown
        w.submit(CS_PAGES[pid])
    assert w.history[-1].status == "survey_complete"
    record = client.get(DATA, params={"filterExpression": "transaction_id = 'T-back'"}).json()["items"][0]
    expected = {**CS_PAGES["screener"], **changed, **CS_PAGES["feedback"], **CS_PAGES["followup"]}
    answers = {k: v for k, v in record.items() if k[:2] in ("u_", "m_", "t_", "r_", "s_", "dt")}
    assert answers == expected
    assert record["status"] == "complete" and record["platform_status"] == "survey_complete"
    assert isinstance(record["respid"], int) and record["transaction_id"] == "T-back" and record["language"] == "en"
    assert record["interview_start"] <= record["interview_end"] and record["interview_end"].endswith("Z")


def test_statuses_map_to_forsta_vocabulary(client: httpx.Client) -> None:
    _walk(client, "T-screen", ["screener"], screener={"u_10001": "50002"})
    _walk(client, "T-chain", ALL, followup={"u_10012": "50103"})
    Walker(client, CS_ID).take(transaction_id="T-open")
    got = {i["transaction_id"]: (i["status"], i["platform_status"], i.get("reason"))
           for i in client.get(DATA).json()["items"]}
    assert got == {"T-screen": ("screened", "terminated", "screener"), "T-chain": ("screened", "redirect", "chain"),
                   "T-open": ("incomplete", "in_progress", None)}
    assert client.get(DATA, params={"filterExpression": "status = 'screened'"}).json()["totalCount"] == 2


@pytest.mark.parametrize(("page", "override"), [
    ("screener", {"u_10001": "99999"}),
    ("screener", {"dt_day_10003": "30", "dt_month_10003": "2"}),
    ("experience", {"t_50025": ""}),
    ("experience", {"m_10005": ["50031", "50032", "50033", "50034"]}),
    ("experience", {"u_60002": "1"}),
    ("support", {"t_50051": "4.5"}),
    ("support", {"r_50062": "1"}),
    ("feedback", {"s_50071": "50", "t_50081": "abc"}),
])
def test_invalid_answers_get_the_pages_own_messages(client: httpx.Client, page: str, override: dict[str, Any]) -> None:
    w = _walk(client, f"T-{page}", ALL[: ALL.index(page)])
    form = {**CS_PAGES[page], **override}
    page_errors = w.submit(form).response["validationErrors"]
    assert page_errors
    r = _send(client, "POST", {"data": [form]})
    assert r.status_code == 400, r.text
    messages = r.json()["validationMessages"]["rowResults"][0]["messages"]
    assert [m["message"] for m in messages] == [e["message"] for e in page_errors]
    assert all(m["severity"] == "Error" and m["fields"] for m in messages)


def test_updating_answers_is_validated_against_what_the_question_holds(client: httpx.Client) -> None:
    _walk(client, "T-upd")
    rid = client.get(DATA).json()["items"][0]["respid"]
    schema = {"keys": ["transaction_id"], "variables": ["u_10002", "u_10004", "t_50025", "u_10001"]}
    assert _send(client, "PUT", {"dataSchema": schema, "data": [{"transaction_id": "T-upd", "u_10002": "50012"}]}
                 ).json() == {"updatedRecords": 1}
    # choosing a plain answer drops the stored "other" text, as the page would
    _send(client, "PUT", {"dataSchema": schema, "data": [{"transaction_id": "T-upd", "u_10004": "50022"}]})
    record = client.get(f"{DATA}/{rid}").json()
    assert record["u_10002"] == "50012" and record["u_10004"] == "50022" and "t_50025" not in record
    cleared = _send(client, "PUT", {"dataSchema": schema, "data": [{"transaction_id": "T-upd", "u_10001": None}]})
    assert cleared.status_code == 400
    assert cleared.json()["validationMessages"]["rowResults"][0]["messages"][0]["message"] == \
        "This question requires an answer."


def test_a_live_respondent_edited_through_the_api_continues_from_the_edit(client: httpx.Client) -> None:
    w = _walk(client, "T-live", ["screener"])
    rid = client.get(DATA).json()["items"][0]["respid"]
    _send(client, "PUT", {"dataSchema": {"keys": ["respid"], "variables": ["u_10002"]},
                          "data": [{"respid": rid, "u_10002": "50014"}]})
    for pid in ALL[1:]:
        w.submit(CS_PAGES[pid])
    assert w.history[-1].status == "survey_complete"
    assert client.get(f"{DATA}/{rid}").json()["u_10002"] == "50014"


# --- auth, the admin hook, openapi ------------------------------------------------------------------
def test_a_bearer_token_from_the_named_variable_is_required(client: httpx.Client, server: MockServer) -> None:
    for headers in ({"authorization": ""}, {"authorization": "Bearer loadtest-local-data-token"},
                    {"authorization": f"Bearer {TOKEN}x"}, {"authorization": TOKEN}):
        r = client.get(DATA, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer" and set(r.json()) == {"message"}
    assert _send(client, "POST", {"data": [{}]}).status_code == 200
    no_auth = httpx.post(server.url + DATA, json={"data": [{"city": "x"}]})
    assert no_auth.status_code == 401
    assert client.get(DATA).json()["totalCount"] == 1
    assert TOKEN not in server.stderr() and "$MY_DATA_TOKEN" in server.stderr()


def test_admin_drop_answer_removes_one_stored_answer(client: httpx.Client) -> None:
    _walk(client, "T-drop")
    rid = client.get(DATA).json()["items"][0]["respid"]
    r = client.post("/__admin/drop-answer", json={"respid": rid, "variable": "u_10002"})
    assert r.status_code == 200 and r.json() == {"respid": rid, "variable": "u_10002", "dropped": True}
    assert "u_10002" not in client.get(f"{DATA}/{rid}").json()
    assert client.post("/__admin/drop-answer", json={"respid": rid, "variable": "u_10002"}).status_code == 404
    assert client.post("/__admin/drop-answer", json={"respid": 999, "variable": "u_1"}).status_code == 404
    assert client.post("/__admin/drop-answer", content=b"{").status_code == 400


def test_openapi_describes_the_data_api(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/surveys/{surveyId}/respondents/data", "/v1/surveys/{surveyId}/respondents/data/{respId}",
            "/v1/surveys/{surveyId}/respondents/uservariables", "/a/api/v2/surveys/{surveyId}/responses"
            } <= set(spec["paths"])
    assert set(spec["paths"]["/v1/surveys/{surveyId}/respondents/data"]) == {"get", "post", "put", "patch", "delete"}
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_out_of_range_ids_are_not_found_rather_than_a_crash(client: httpx.Client) -> None:
    huge = "9" * 30
    assert client.get(f"{DATA}/{huge}").status_code == 404
    r = _send(client, "DELETE", {"dataSchema": {"keys": ["respid"]}, "data": [{"respid": huge}, {"respid": "x"}]})
    assert r.status_code == 400
    assert [m["messages"][0]["message"] for m in r.json()["validationMessages"]["rowResults"]] == \
        ["Invalid Numeric.", "Invalid Numeric."]
    assert client.post("/__admin/drop-answer", json={"respid": 10**30, "variable": "u_1"}).status_code == 404
