"""The platform's panel (TheoremReach DIY subset) without sockets: a fake clock and link."""

from __future__ import annotations

import base64
import sqlite3
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from loadtest.core.panel import Signer, build_callback
from loadtest.platform.theoremreach.panel_api import Linker, PanelApi, PanelConfig
from loadtest.platform.theoremreach.store import PanelStore

KEY, SECRET, HOST = "panel-key", "panel-secret", "127.0.0.1:7"
SIGNER = Signer(SECRET)


class FakeSide:
    def __init__(self) -> None:
        self.states: dict[int, str] = {}
        self.cells: dict[int, list[Any]] = {}
        self.txns: list[dict[str, Any]] = []

    def linker(self) -> Linker:
        return Linker(surveys=lambda: {100001}, set_state=self.states.__setitem__,
                      set_quotas=self.cells.__setitem__, transactions=lambda sid: self.txns,
                      quota_counts=lambda sid: {})


@pytest.fixture
def side() -> FakeSide:
    return FakeSide()


@pytest.fixture
def api(side: FakeSide) -> PanelApi:
    now = [1000.0]
    panel = PanelApi(PanelConfig(KEY, SECRET), PanelStore(sqlite3.connect(":memory:")), side.linker(), lambda: now[0])
    panel.now = now  # type: ignore[attr-defined]  # tests move the clock
    return panel


def call(api: PanelApi, method: str, path: str, payload: Any = None, key: str | None = KEY, sign: bool = True,
         raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    body = raw if raw is not None else (orjson.dumps(payload) if payload is not None else b"")
    url = f"http://{HOST}{path}"
    if sign:
        url, _ = SIGNER.sign(url, body)
    parts = urlsplit(url)
    headers = {"host": HOST}
    if key is not None:
        headers["x-api-key"] = base64.b64encode(key.encode()).decode()
    status, hdrs, out = api.handle(method, parts.path, parts.query, headers, body)
    return status, dict(hdrs), orjson.loads(out) if out else None


def test_auth_by_header_or_query_and_wrong_keys_are_401(api: PanelApi) -> None:
    assert call(api, "GET", "/api/external/v1/surveys")[0] == 200
    assert call(api, "GET", f"/api/external/v1/surveys?api_key={KEY}", key=None)[0] == 200
    status, _, body = call(api, "GET", "/api/external/v1/surveys", key="nope")
    assert status == 401 and body["errors"] == ["Your API key is invalid."]
    assert call(api, "GET", "/api/external/v1/surveys", key=None)[0] == 401


def test_a_wrong_or_missing_enc_is_403_with_the_errors_envelope(api: PanelApi) -> None:
    status, _, body = call(api, "GET", "/api/external/v1/surveys", sign=False)
    assert status == 403 and body["errors"] == ["The security request hash provided is invalid."]
    assert body["meta"]["hints"]
    status, _, _ = call(api, "GET", "/api/external/v1/surveys?enc=" + "0" * 64, sign=False)
    assert status == 403


def test_ten_requests_a_second_per_key_then_429_with_retry_after(api: PanelApi) -> None:
    statuses = [call(api, "GET", "/api/external/v1/surveys")[0] for _ in range(10)]
    status, headers, body = call(api, "GET", "/api/external/v1/surveys")
    assert statuses == [200] * 10 and status == 429 and headers["retry-after"] == "1"
    assert "Rate limit" in body["errors"][0] and api.refused == 1
    api.now[0] += 0.1  # type: ignore[attr-defined]
    assert call(api, "GET", "/api/external/v1/surveys")[0] == 200


def test_callbacks_are_recorded_once_and_repeats_flagged(api: PanelApi) -> None:
    cb = build_callback(f"http://{HOST}", "T-1", 10, SIGNER, KEY)
    parts = urlsplit(cb.url)
    headers = {"host": HOST, **cb.headers}
    assert api.handle("POST", parts.path, parts.query, headers, cb.body)[0] == 204
    again = api.handle("POST", parts.path, parts.query, headers, cb.body)
    assert again[0] == 204 and ("x-result-repeat", "1") in again[1]
    other = build_callback(f"http://{HOST}", "T-1", 4, SIGNER, KEY)
    api.handle("POST", urlsplit(other.url).path, urlsplit(other.url).query, {"host": HOST, **other.headers}, other.body)
    rec = api.store.results()["T-1"]
    assert (rec.result, rec.repeats, rec.conflicting, rec.via) == (10, 2, 1, "callback")


def test_the_redirect_form_needs_no_key_but_needs_enc(api: PanelApi) -> None:
    cb = build_callback(f"http://{HOST}", "T-9", 5, SIGNER, KEY, mode="redirect")
    parts = urlsplit(cb.url)
    status, _, out = api.handle("GET", parts.path, parts.query, {"host": HOST}, b"")
    assert status == 200 and orjson.loads(out)["data"]["message"] == "Result recorded."
    tampered = parts.query.replace("result=5", "result=10")
    assert api.handle("GET", parts.path, tampered, {"host": HOST}, b"")[0] == 403
    assert api.store.results()["T-9"].result == 5


def test_a_callback_without_a_valid_result_is_400(api: PanelApi) -> None:
    status, _, body = call(api, "POST", "/respondent_result/callbacks/", {"transaction_id": "T", "result": 7})
    assert status == 400 and "result" in body["errors"][0]


def test_diy_survey_quota_and_state_drive_the_respondent_side(api: PanelApi, side: FakeSide) -> None:
    entry = "http://127.0.0.1:7/a/api/v2/surveys/100001/take?transaction_id={transaction_id}"
    status, _, created = call(api, "POST", "/api/external/v1/surveys", {"name": "Run 1", "entry_url_prod": entry})
    assert status == 201 and created["data"]["state"] == "draft" and created["meta"]["warnings"] == []
    sid = created["data"]["id"]
    status, _, quota = call(api, "POST", f"/api/external/v1/surveys/{sid}/quotas",
                            {"name": "men", "target_completes": 12, "questions": [{"question_id": 10002,
                                                                                   "answer_ids": [50012]}]})
    assert status == 201 and quota["data"]["metrics"]["target_completes"] == 12
    qid = quota["data"]["id"]
    assert side.cells[100001] == [(qid, 10002, frozenset({50012}), 12)]
    call(api, "PUT", f"/api/external/v1/quotas/{qid}", {"target_completes": 5})
    assert side.cells[100001][0][3] == 5
    for action, state in (("start", "active"), ("pause", "paused"), ("complete", "closed")):
        status, _, body = call(api, "POST", f"/api/external/v1/surveys/{sid}/{action}")
        assert status == 200 and side.states[100001] == state and body["data"]["message"].startswith("Successfully")
    listed = call(api, "GET", f"/api/external/v1/surveys/{sid}")[2]["data"]
    assert listed["state"] == "completed" and [q["id"] for q in listed["quotas"]] == [qid]
    call(api, "DELETE", f"/api/external/v1/quotas/{qid}")
    assert side.cells[100001] == []


def test_transactions_show_each_state(api: PanelApi, side: FakeSide) -> None:
    entry = "http://x/a/api/v2/surveys/100001/take?transaction_id={transaction_id}"
    sid = call(api, "POST", "/api/external/v1/surveys", {"name": "s", "entry_url_prod": entry})[2]["data"]["id"]
    side.txns = [{"transaction_id": t, "respondent_id": f"r-{t}", "start_time": "a", "end_time": "b",
                  "duration_in_seconds": 3} for t in ("A", "B", "C")]
    for txn, code in (("A", 10), ("B", 3)):
        call(api, "POST", "/respondent_result/callbacks/", {"transaction_id": txn, "result": code})
        api.now[0] += 1  # type: ignore[attr-defined]
    rows = {t["id"]: t for t in call(api, "POST", f"/api/external/v1/surveys/{sid}/transactions")[2]["data"]}
    assert {k: v["state"] for k, v in rows.items()} == {"A": "completed", "B": "overquota", "C": "attempted"}


@pytest.mark.parametrize(("path", "payload", "status", "text"), [
    ("/api/external/v1/surveys", {"name": "s", "entry_url_prod": "https://x/no-placeholder"}, 400, "transaction_id"),
    ("/api/external/v1/surveys", {"entry_url_prod": "https://x/?t={transaction_id}"}, 400, "name is required"),
    ("/api/external/v1/surveys/none/quotas", {"target_completes": 1}, 404, "could not be found"),
])
def test_diy_input_errors(api: PanelApi, path: str, payload: Any, status: int, text: str) -> None:
    got, _, body = call(api, "POST", path, payload)
    assert got == status and text in " ".join(body["errors"])


def test_a_quota_the_platform_cannot_enforce_is_422(api: PanelApi) -> None:
    sid = call(api, "POST", "/api/external/v1/surveys", {"name": "s", "entry_url_prod": "https://x/?t={transaction_id}"})
    assert sid[2]["meta"]["warnings"]  # not linked to a survey this platform serves
    status, _, body = call(api, "POST", f"/api/external/v1/surveys/{sid[2]['data']['id']}/quotas",
                           {"target_completes": 3, "questions": []})
    assert status == 422 and "exactly one" in body["errors"][0]
