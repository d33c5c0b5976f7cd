"""Read-back over real HTTP: respondents walk the platform, their records stream back through the
data API (engine/data_client.py), and data_check compares; the admin hook breaks one record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from loadtest.checks.data_check import check_data
from loadtest.control.data_client import DataApiError, fetch_records, stream_records
from loadtest.local_defaults import DEFAULT_DATA_TOKEN
from tests.helpers import CS_ID, CS_PAGES, FIXTURES, MockServer, Walker, no_speeder, running_mock
from tests.local_http import local_client

RACE_ID = 300003
ALL = ["screener", "experience", "support", "feedback", "followup"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    d = tmp_path_factory.mktemp("data-client")
    with running_mock(no_speeder(d), FIXTURES / "quota_race.toml", db=d / "mock.db") as srv:
        yield srv


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with local_client(base_url=server.url, timeout=30) as c:
        assert c.post("/__admin/reset").status_code == 200
        yield c


def _respondents(client: httpx.Client) -> list[dict[str, Any]]:
    """Walk four respondents and write what a run's respondents.jsonl would say about them."""
    lines = []
    for index in range(3):
        w = Walker(client, CS_ID)
        w.take(transaction_id=f"T-{index}")
        answers: dict[str, Any] = {}
        for pid in ALL:
            form = {**CS_PAGES[pid], **({"u_10002": "50011"} if index == 1 and pid == "screener" else {})}
            w.submit(form)
            answers.update(form)
        lines.append({"index": index, "persona": "completer", "survey_id": CS_ID, "transaction_id": f"T-{index}",
                      "outcome": w.history[-1].status, "answers": answers})
    screened = Walker(client, CS_ID)
    screened.take(transaction_id="T-3")
    form = {**CS_PAGES["screener"], "u_10001": "50002"}
    screened.submit(form)
    lines.append({"index": 3, "persona": "screenout", "survey_id": CS_ID, "transaction_id": "T-3",
                  "outcome": screened.history[-1].status, "answers": form})
    assert [line["outcome"] for line in lines] == ["survey_complete"] * 3 + ["terminated"]
    return lines


def _read(server: MockServer, survey_ids: list[int], **options: Any) -> list[tuple[int, dict[str, Any]]]:
    return anyio.run(lambda: fetch_records(server.url, survey_ids, DEFAULT_DATA_TOKEN, **options))


def test_a_clean_run_passes_and_a_dropped_answer_is_caught(client: httpx.Client, server: MockServer) -> None:
    lines = _respondents(client)
    records = _read(server, [CS_ID, RACE_ID])
    assert [sid for sid, _ in records] == [CS_ID] * 4
    report = check_data(lines, records)
    assert report["passed"] and report["respondents_checked"] == 3 and report["records_read"] == 4, report
    respid = next(r["respid"] for _, r in records if r.get("transaction_id") == "T-1")
    assert client.post("/__admin/drop-answer", json={"respid": respid, "variable": "u_10002"}).status_code == 200
    broken = check_data(lines, _read(server, [CS_ID]))
    assert not broken["passed"] and broken["problems"] == {"missing": 0, "extra": 0, "mismatched": 1}
    assert broken["mismatches"] == [{"respondent": 1, "persona": "completer", "transaction_id": "T-1",
                                     "variable": "u_10002", "submitted": "50011", "stored": None}]


def test_missing_and_extra_records_are_caught(client: httpx.Client, server: MockServer) -> None:
    lines = _respondents(client)
    auth = {"authorization": f"Bearer {DEFAULT_DATA_TOKEN}"}
    data = f"/v1/surveys/{CS_ID}/respondents/data"
    gone = client.request("DELETE", data, headers=auth, json={"dataSchema": {"keys": ["transaction_id"]},
                                                              "data": [{"transaction_id": "T-0"}]})
    assert gone.json() == {"deletedRecords": 1}
    # A second complete for T-3 (screened out) is refused now that a transaction finishes at most
    # once, so the extra record is made the other way round: a line saying T-2 did not complete.
    forged = client.post(data, headers=auth, json={"data": [{"transaction_id": "T-3", "status": "complete"}]})
    assert forged.status_code == 400
    t2 = next(line for line in lines if line["transaction_id"] == "T-2")
    t2["outcome"] = "terminated"
    report = check_data(lines, _read(server, [CS_ID], filter_expression="status = 'complete'"))
    assert report["problems"] == {"missing": 1, "extra": 1, "mismatched": 0} and report["records_read"] == 2
    assert report["missing_respondents"][0]["transaction_id"] == "T-0"
    assert report["extra_records"][0]["transaction_id"] == "T-2"


def test_the_client_streams_in_order_and_reports_refusals_without_the_token(server: MockServer) -> None:
    async def first_two() -> list[int]:
        seen = []
        async for _, record in stream_records(server.url, [CS_ID], DEFAULT_DATA_TOKEN, variables=["respid"]):
            seen.append(record["respid"])
        return seen

    with local_client(base_url=server.url) as c:
        c.post("/__admin/reset")
        _respondents(c)
    assert anyio.run(first_two) == [1, 2, 3, 4]
    with pytest.raises(DataApiError) as refused:
        anyio.run(lambda: fetch_records(server.url, [CS_ID], "not-the-token"))
    assert refused.value.status == 401 and "not-the-token" not in str(refused.value)
    with pytest.raises(DataApiError) as bad:
        anyio.run(lambda: fetch_records(server.url, [CS_ID], DEFAULT_DATA_TOKEN, filter_expression="x ~ 1"))
    assert bad.value.status == 400 and "filterExpression" in str(bad.value)
    with pytest.raises(DataApiError) as unreachable:
        anyio.run(lambda: fetch_records("http://127.0.0.1:9", [CS_ID], DEFAULT_DATA_TOKEN, connect_s=2))
    assert unreachable.value.status == 0
