"""`loadtest mock --workers 2` over real HTTP: one port, two server processes, one SQLite file.

Every request goes on a new connection, so the kernel spreads them over both workers (the
tests check that both served): a respondent's pages land on either, a race for a quota cell
is fought across processes, and the supervisor's signals and deaths are real ones."""

from __future__ import annotations

import base64
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from loadtest.local_defaults import DEFAULT_PANEL_API_KEY
from loadtest.platform.embedded import embedded_platform
from loadtest.platform.sharing import FLUSH_S
from tests.e2e.test_embedded_lifetime import _exited
from tests.helpers import API_KEY, CS_ID, CS_PAGES, FIXTURES, ROOT, MockServer, Walker, no_speeder, running_mock
from tests.local_http import local_async_client, local_client

RACE_ID = 300003
ONE_CONNECTION_PER_REQUEST = httpx.Limits(max_keepalive_connections=0)


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    d = tmp_path_factory.mktemp("workers")
    with running_mock(no_speeder(d), FIXTURES / "quota_race.toml", db=d / "mock.db", extra=("--workers", "2")) as srv:
        yield srv


@pytest.fixture
def client(workers: MockServer) -> Iterator[httpx.Client]:
    with local_client(base_url=workers.url, timeout=30, limits=ONE_CONNECTION_PER_REQUEST) as c:
        assert c.post("/__admin/reset").status_code == 200
        yield c


def _settled_stats(client: httpx.Client, holds: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """/__admin/stats once `holds` is true of it: the other worker's figures reach the file within
    FLUSH_S of changing, so a figure just after a request may be short by that worker's last few."""
    deadline = time.monotonic() + 30
    while True:
        stats: dict[str, Any] = client.get("/__admin/stats").json()
        if holds(stats) or time.monotonic() > deadline:
            return stats
        time.sleep(FLUSH_S / 5)


def _served_by_both(client: httpx.Client) -> dict[str, int]:
    by_worker: dict[str, int] = _settled_stats(
        client, lambda s: len(s["requests_by_worker"]) == 2 and all(s["requests_by_worker"].values())
    )["requests_by_worker"]
    assert len(by_worker) == 2
    return by_worker


def test_respondents_walk_to_the_end_whichever_worker_serves_each_page(client: httpx.Client) -> None:
    pages = ["screener", "experience", "support", "feedback", "followup"]
    for i in range(8):
        w = Walker(client, CS_ID)
        assert w.take(transaction_id=f"W-{i}").status == "success"
        for pid in pages:
            reply = w.submit(CS_PAGES[pid])
        assert reply.status == "survey_complete", reply.body
    stats = _settled_stats(client, lambda s: sum(s["requests"].get("submit-page", {}).values()) == 8 * len(pages))
    assert sum(stats["requests"]["submit-page"].values()) == 8 * len(pages)
    assert stats["surveys"][str(CS_ID)]["responses"] == {"survey_complete": 8}  # from the file: exact at once
    # A worker read a respondent from the file whenever the other had moved it since: some did.
    assert 0 < stats["sessions_rebuilt"] <= 8 * len(pages)
    # 48 respondent requests on new connections: both workers served some.
    assert all(n > 0 for n in _served_by_both(client).values())


async def _race_one(client: httpx.AsyncClient) -> str:
    headers = {"api-key": API_KEY}
    r = await client.get(f"/a/api/v2/surveys/{RACE_ID}/take", headers=headers)
    headers["x-survey-token"] = r.headers["x-survey-token"]
    r = await client.post(f"/a/api/v2/surveys/{RACE_ID}/submit-page", json={"u_1": "11"}, headers=headers)
    if r.json()["response"]["status"] != "success":
        return str(r.json()["response"]["status"])
    headers["x-survey-token"] = r.headers["x-survey-token"]
    # The last page twice at once (a client that resent it): one of the two may complete it.
    last = [f"/a/api/v2/surveys/{RACE_ID}/submit-page", {"t_21": "because"}]
    replies: list[str] = []

    async def send() -> None:
        reply = await client.post(str(last[0]), json=last[1], headers=headers)
        replies.append(reply.json()["response"]["status"])

    async with anyio.create_task_group() as tg:
        tg.start_soon(send)
        tg.start_soon(send)
    finished = [s for s in replies if s != "already_completed"]
    assert len(finished) == 1, replies
    return finished[0]


def test_a_quota_cell_raced_across_workers_admits_exactly_its_limit(workers: MockServer,
                                                                    client: httpx.Client) -> None:
    outcomes: list[str] = []

    async def race() -> None:
        async with local_async_client(base_url=workers.url, timeout=30, limits=ONE_CONNECTION_PER_REQUEST) as ac:
            async def one() -> None:
                outcomes.append(await _race_one(ac))

            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(one)

    anyio.run(race)
    assert outcomes.count("survey_complete") == 10 and outcomes.count("quota_full") == 30
    stats = client.get("/__admin/stats").json()
    assert stats["surveys"][str(RACE_ID)]["quotas"]["blue"] == {"count": 10, "limit": 10}
    assert stats["surveys"][str(RACE_ID)]["responses"] == {"survey_complete": 10, "quota_full": 30}


def test_state_and_faults_set_on_one_worker_hold_on_both(client: httpx.Client) -> None:
    take = f"/a/api/v2/surveys/{RACE_ID}/take"
    try:
        assert client.put(f"/__admin/surveys/{RACE_ID}/state", json={"state": "paused"}).status_code == 200
        statuses = {client.get(take, headers={"api-key": API_KEY}).json()["response"]["status"] for _ in range(12)}
        assert statuses == {"survey_paused"}
        client.put(f"/__admin/surveys/{RACE_ID}/state", json={"state": "active"})
        assert client.put("/__admin/faults", json={"seed": 3, "take": {"error": 1.0}}).status_code == 200
        codes = {client.get(take, headers={"api-key": API_KEY}).status_code for _ in range(12)}
        assert codes == {503}
    finally:
        client.put("/__admin/faults", json={})
        client.put(f"/__admin/surveys/{RACE_ID}/state", json={"state": "active"})
    assert all(n > 0 for n in _served_by_both(client).values())


def test_the_panel_rate_limit_holds_across_workers(client: httpx.Client) -> None:
    headers = {"x-api-key": base64.b64encode(DEFAULT_PANEL_API_KEY.encode()).decode()}
    t0 = time.monotonic()
    codes = [client.get("/api/external/v1/surveys", headers=headers).status_code for _ in range(40)]
    elapsed = time.monotonic() - t0
    passed = codes.count(403)  # unsigned: the limit is checked first, then the request hash
    assert passed + codes.count(429) == 40
    # 10 per second with a burst of 10, whichever worker answers (two buckets would pass twice that).
    assert passed <= 10 + 10 * elapsed + 1, (passed, elapsed)


def test_ctrl_c_to_the_group_stops_every_worker_and_removes_the_temporary_database(tmp_path: Path) -> None:
    with embedded_platform([no_speeder(tmp_path)], extra=("--workers", "2"), cwd=ROOT) as srv:
        named = re.search(r"; db (\S+);", srv.stderr())
        assert named is not None
        db = Path(named.group(1))
        pids = _worker_pids(srv.proc.pid)
        assert len(pids) == 2 and db.exists()
        os.killpg(srv.proc.pid, signal.SIGINT)  # the supervisor leads its own session: its group
        assert srv.proc.wait(timeout=60) == 0
        assert all(_exited(pid, 60) for pid in pids)
        assert not db.exists() and not Path(f"{db}-wal").exists()


def test_a_dead_worker_stops_the_rest_and_the_supervisor_says_so(tmp_path: Path) -> None:
    with running_mock(no_speeder(tmp_path), db=tmp_path / "p.db", extra=("--workers", "2")) as srv:
        first, second = _worker_pids(srv.proc.pid)
        os.kill(first, signal.SIGKILL)
        assert srv.proc.wait(timeout=60) == 1
        assert _exited(second, 60)
        assert f"worker (pid {first}) exited with status -9; stopping the others" in srv.stderr()


def test_workers_do_not_outlive_a_killed_supervisor(tmp_path: Path) -> None:
    with running_mock(no_speeder(tmp_path), db=tmp_path / "p.db", extra=("--workers", "2")) as srv:
        pids = _worker_pids(srv.proc.pid)
        srv.proc.kill()
        srv.proc.wait()
        assert all(_exited(pid, 60) for pid in pids)


def _worker_pids(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def test_a_database_used_before_starts_with_no_figures_of_the_workers_that_are_gone(tmp_path: Path) -> None:
    db = tmp_path / "again.db"
    for run in range(2):
        with running_mock(no_speeder(tmp_path), db=db, extra=("--workers", "2")) as srv:
            with local_client(base_url=srv.url, timeout=30, limits=ONE_CONNECTION_PER_REQUEST) as c:
                stats = c.get("/__admin/stats").json()
                assert stats["requests"] == {}, f"run {run} began with the figures of an earlier one"
                assert Walker(c, CS_ID).take(transaction_id=f"again-{run}").status == "success"
                stats = _settled_stats(c, lambda s: "take" in s["requests"])
                assert stats["requests"]["take"] == {"200": 1}
                assert stats["surveys"][str(CS_ID)]["responses"] == {"in_progress": run + 1}  # rows stay
