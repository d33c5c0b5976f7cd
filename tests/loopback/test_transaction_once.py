"""A panel transaction finishes at most once on the reference platform, whichever way it comes:
many sessions opened with one transaction id at the same time, a session and `POST /responses`
with the same reference, a data-API write. Over real HTTP on 127.0.0.1, against `loadtest mock`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import API_KEY, CS_ID, CS_PAGES, MockServer, Walker, no_speeder, running_mock
from tests.local_http import local_client
from tests.loopback.test_responses_api import CS_RESPONSE

DATA = f"/v1/surveys/{CS_ID}/respondents/data"
DATA_AUTH = {"authorization": "Bearer loadtest-local-data-token"}
PAGES = ["screener", "experience", "support", "feedback", "followup"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    d = tmp_path_factory.mktemp("txn-once")
    with running_mock(no_speeder(d), db=d / "mock.db") as srv:
        yield srv


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with local_client(base_url=server.url, timeout=30, headers={"api-key": API_KEY}) as c:
        assert c.post("/__admin/reset").status_code == 200
        yield c


def finished(client: httpx.Client, txn: str) -> list[dict[str, Any]]:
    r = client.get(DATA, params={"filterExpression": f"transaction_id = '{txn}'", "pageSize": 1000},
                   headers=DATA_AUTH)
    assert r.status_code == 200, r.text
    return [i for i in r.json()["items"] if i["platform_status"] != "in_progress"]


def test_twenty_sessions_opened_at_once_with_one_transaction_complete_it_once(server: MockServer) -> None:
    n = 20
    opened = threading.Barrier(n, timeout=60)
    finals: list[str] = []
    errors: list[BaseException] = []

    def respondent() -> None:
        try:
            with local_client(base_url=server.url, timeout=30) as c:
                w = Walker(c, CS_ID)
                assert w.take(transaction_id="dup-1").status == "success"
                opened.wait()  # every session is open before any of them finishes
                for page in PAGES:
                    reply = w.submit(CS_PAGES[page])
                    assert reply.http_status == 200, reply.body
                    if reply.status != "success":
                        break
                finals.append(w.history[-1].status)
        except BaseException as exc:  # reported below, with the thread's own traceback lost
            errors.append(exc)
            opened.abort()

    threads = [threading.Thread(target=respondent) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(finals) == ["already_completed"] * (n - 1) + ["survey_complete"]
    with local_client(base_url=server.url, timeout=30) as c:
        stored = finished(c, "dup-1")
        assert [i["platform_status"] for i in stored] == ["survey_complete"]
        again = Walker(c, CS_ID)
        assert again.take(transaction_id="dup-1").status == "already_completed"


def test_post_responses_and_a_session_with_one_reference_finish_it_once(client: httpx.Client) -> None:
    w = Walker(client, CS_ID)
    w.take(transaction_id="api-cs-1")  # CS_RESPONSE's externalReference
    for page in PAGES[:-1]:
        assert w.submit(CS_PAGES[page]).status == "success"
    r = client.post(f"/a/api/v2/surveys/{CS_ID}/responses", json=CS_RESPONSE)
    assert r.status_code == 200 and r.json()["response"]["responseStatus"] == "Completed", r.text
    last = w.submit(CS_PAGES[PAGES[-1]])  # the session's own completion comes second
    assert (last.http_status, last.status) == (200, "already_completed")
    assert "finalStatus" not in last.response  # how the transaction finished is not how this session did
    assert len(finished(client, "api-cs-1")) == 1
    again = client.post(f"/a/api/v2/surveys/{CS_ID}/responses", json=CS_RESPONSE)
    assert again.status_code == 400 and "already" in again.json()["response"]["error"]["message"]
    assert len(finished(client, "api-cs-1")) == 1


def test_a_session_finishing_first_turns_post_responses_away(client: httpx.Client) -> None:
    w = Walker(client, CS_ID)
    w.take(transaction_id="api-cs-1")
    for page in PAGES:
        w.submit(CS_PAGES[page])
    assert w.history[-1].status == "survey_complete"
    r = client.post(f"/a/api/v2/surveys/{CS_ID}/responses", json=CS_RESPONSE)
    assert r.status_code == 400 and r.json()["response"]["error"]["name"] == "BAD_REQUEST"
    assert len(finished(client, "api-cs-1")) == 1


def test_an_opt_out_of_a_finished_transaction_is_already_completed(client: httpx.Client) -> None:
    w = Walker(client, CS_ID)
    w.take(transaction_id="opt-1")
    for page in PAGES:
        w.submit(CS_PAGES[page])
    assert Walker(client, CS_ID).take(transaction_id="opt-1", opt_out="1").status == "already_completed"
    assert [i["platform_status"] for i in finished(client, "opt-1")] == ["survey_complete"]


def test_a_data_api_write_cannot_finish_a_finished_transaction_again(client: httpx.Client) -> None:
    r = client.post(f"/a/api/v2/surveys/{CS_ID}/responses", json=CS_RESPONSE)
    assert r.status_code == 200
    before = client.get(DATA, headers=DATA_AUTH).json()["totalCount"]
    r = client.post(DATA, json={"data": [{"status": "complete", "transaction_id": "api-cs-1"}]}, headers=DATA_AUTH)
    assert r.status_code == 400 and "already has a finished response" in r.json()["message"], r.text
    assert client.get(DATA, headers=DATA_AUTH).json()["totalCount"] == before  # nothing of it was stored
    r = client.post(DATA, json={"data": [{"status": "complete", "transaction_id": "api-cs-2"}]}, headers=DATA_AUTH)
    assert r.status_code == 200, r.text
