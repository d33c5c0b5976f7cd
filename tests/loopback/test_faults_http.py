"""Fault injection over real HTTP: each kind as a client sees it, tagged, journaled, switchable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.helpers import API_KEY, CS_ID, CS_PAGES, CUSTOMER, MockServer, no_speeder, running_mock
from tests.local_http import local_client

TAKE = f"/a/api/v2/surveys/{CS_ID}/take"
SUBMIT = f"/a/api/v2/surveys/{CS_ID}/submit-page"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    d = tmp_path_factory.mktemp("faults")
    faults = d / "faults.toml"
    faults.write_text('[faults]\nseed = 1\n[faults.previous-page]\nerror = 1.0\nerror_status = 502\n')
    with running_mock(no_speeder(d), db=d / "db.sqlite", extra=("--faults", str(faults))) as srv:
        yield srv


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with local_client(base_url=server.url, timeout=10, headers={"api-key": API_KEY}) as c:
        yield c


def put(client: httpx.Client, table: dict) -> httpx.Response:
    return client.put("/__admin/faults", content=orjson.dumps(table))


def test_the_file_plan_applies_from_the_start_and_is_shown(client: httpx.Client) -> None:
    plan = client.get("/__admin/faults").json()
    assert plan["endpoints"]["previous-page"]["error"] == 1.0
    r = client.get(f"/a/api/v2/surveys/{CS_ID}/previous-page")
    assert r.status_code == 502 and r.headers["x-loadtest-fault"] == "error"


def test_before_faults_leave_the_platform_untouched(client: httpx.Client) -> None:
    assert put(client, {"take": {"throttle": 1.0, "retry_after_s": 3}}).status_code == 200
    before = client.get("/__admin/stats").json()
    r = client.get(TAKE)
    assert r.status_code == 429 and r.headers["retry-after"] == "3" and r.headers["x-loadtest-fault"] == "throttle"
    assert "x-survey-token" not in r.headers
    after = client.get("/__admin/stats").json()
    assert after["surveys"][str(CS_ID)]["responses"] == before["surveys"][str(CS_ID)]["responses"]  # no session opened


@pytest.mark.parametrize("kind", ["malformed", "truncated", "no_token", "wrong_token"])
def test_after_faults_do_the_work_and_spoil_the_reply(client: httpx.Client, kind: str) -> None:
    assert put(client, {}).status_code == 200  # faults off: open a session cleanly
    first = client.get(TAKE)
    token = first.headers["x-survey-token"]
    assert put(client, {"submit-page": {kind: 1.0}}).status_code == 200
    r = client.post(SUBMIT, headers={"x-survey-token": token}, content=orjson.dumps(CS_PAGES["screener"]))
    assert r.headers["x-loadtest-fault"] == kind
    if kind in ("malformed", "truncated"):
        with pytest.raises(ValueError):
            orjson.loads(r.content)
    if kind == "no_token":
        assert "x-survey-token" not in r.headers
    if kind == "wrong_token":
        assert r.headers["x-survey-token"] != token and r.headers["x-survey-token"].startswith("spoiled.")
    assert put(client, {}).status_code == 200
    # The submit was done: resuming with the old token shows the next page, not the screener again.
    resumed = client.get(TAKE, headers={"x-survey-token": token}).json()["response"]
    assert resumed["status"] == "success"
    assert [q["json"]["id"] for q in resumed["questions"]] != [10001]


def test_latency_holds_the_reply_and_the_journal_counts_every_kind(client: httpx.Client) -> None:
    assert put(client, {"seed": 2, "take": {"latency": "fixed", "latency_ms": 300}}).status_code == 200
    r = client.get(TAKE)
    assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.3
    injected = client.get("/__admin/faults").json()["injected"]
    assert injected["take latency"] >= 1 and injected["take throttle"] >= 1 and injected["submit-page malformed"] >= 1


def test_a_bad_plan_is_refused_with_one_line_and_the_old_one_stays(client: httpx.Client) -> None:
    assert put(client, {"take": {"error": 0.5}}).status_code == 200
    r = put(client, {"take": {"error": 2}})
    assert r.status_code == 400
    assert r.json()["error"]["message"].endswith("expected a probability from 0 to 1 (got 2.0)")
    assert client.get("/__admin/faults").json()["endpoints"]["take"]["error"] == 0.5
    assert put(client, {}).status_code == 200


def test_a_bad_faults_file_stops_the_mock_with_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "bad.toml"
    bad.write_text("[faults.take]\nerror = 3\n")
    out = subprocess.run([sys.executable, "-m", "loadtest.cli", "mock", "--port", "0", "--survey", str(CUSTOMER),
                          "--faults", str(bad)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip() == f"{bad}: faults.take.error: expected a probability from 0 to 1 (got 3.0)"


def test_admin_endpoints_can_be_protected_by_a_token_that_never_shows(tmp_path: Path) -> None:
    token = "adm-" + __import__("secrets").token_hex(8)
    with running_mock(CUSTOMER, db=tmp_path / "db.sqlite", env={"LOADTEST_ADMIN_TOKEN": token}) as srv:
        with local_client(base_url=srv.url, timeout=10) as c:
            for method, path in (("GET", "/__admin/stats"), ("PUT", "/__admin/faults"), ("POST", "/__admin/reset")):
                r = c.request(method, path, content=b"{}")
                assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
                wrong = c.request(method, path, content=b"{}", headers={"authorization": "Bearer nope"})
                assert wrong.status_code == 401, path
            ok = c.get("/__admin/stats", headers={"authorization": f"Bearer {token}"})
            assert ok.status_code == 200 and token not in ok.text
            assert c.get(f"/a/api/v2/surveys/{CS_ID}/take", headers={"api-key": API_KEY}).status_code == 200
        assert token not in srv.stderr_path.read_text()
