"""Locust master + two workers (subprocesses, bounded) against one reference platform: the
master's summary is the sum of what each worker says it reported, nothing lost between them."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import orjson

from tests.e2e.test_run import smoke_without_pace_thresholds
from tests.helpers import CUSTOMER, ROOT, STORE_VISIT, running_mock

LOCUSTFILE = ROOT / "loadtest" / "locust_driver" / "locustfile.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def failed_thresholds(reports: Path) -> str:
    """What a master's exit 3 was for, from its summary.json (the log's tail may not say)."""
    found = list(reports.glob("*/summary.json"))
    if not found:
        return "no summary.json"
    s = orjson.loads(found[0].read_bytes())
    return repr({"thresholds": [t for t in s.get("thresholds", []) if not t.get("passed")],
                 **{k: s.get(k, {}).get("problems") for k in ("reconciliation", "data_check") if s.get(k)}})


def locust(scenario: Path, *args: str, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--scenario", str(scenario), *args]
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def test_a_master_with_two_workers_adds_up_exactly_what_each_worker_reported(tmp_path: Path) -> None:
    port = free_port()
    reports = tmp_path / "reports"
    scenario = smoke_without_pace_thresholds(tmp_path)
    with running_mock(CUSTOMER, STORE_VISIT, db=tmp_path / "db.sqlite") as platform:
        master = locust(scenario, "--master", "--headless", "-u", "16", "-r", "16", "-t", "8s", "--expect-workers", "2",
                        "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--host", platform.url,
                        "--reports", str(reports), "--only-summary", log=tmp_path / "master.log")
        workers = [locust(scenario, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port),
                          log=tmp_path / f"worker{i}.log") for i in range(2)]
        try:
            code = master.wait(timeout=150)
            assert code == 0, (tmp_path / "master.log").read_text()[-3000:] + failed_thresholds(reports)
            for w in workers:
                assert w.wait(timeout=30) == 0
        finally:
            for proc in (master, *workers):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    (run,) = reports.iterdir()
    s = orjson.loads((run / "summary.json").read_bytes())
    said = []
    for i in range(2):
        log = (tmp_path / f"worker{i}.log").read_text()
        m = re.search(r"loadtest worker \d+: reported (\d+) respondents, (\d+) requests", log)
        assert m, f"worker {i} did not say what it reported"
        said.append({"respondents": int(m[1]), "requests": int(m[2])})
    # What the master received from each worker is what that worker says it sent...
    def pairs(rows: object) -> list[tuple[int, int]]:
        return sorted((r["respondents"], r["requests"]) for r in rows)  # type: ignore[attr-defined]

    assert pairs(said) == pairs(s["workers"]["received"].values())
    assert s["workers"]["final_reports"] == 2 and s["workers"]["lost"] == []
    # ...and the run's totals are their sums, down to every respondent line and every request.
    lines = (run / "respondents.jsonl").read_bytes().splitlines()
    assert s["respondents"] == sum(w["respondents"] for w in said) == len(lines)
    assert sum(step["count"] for step in s["requests"].values()) == sum(w["requests"] for w in said)
    assert all(w["respondents"] > 0 for w in said)
    # Locust's own merged counts agree with ours; the panel limit was shared out; callbacks reconcile.
    assert {k: v["count"] for k, v in s["locust_stats"].items()} == {k: v["count"] for k, v in s["requests"].items()}
    assert s["limits"]["panel"]["shares"] == [5.0, 5.0]
    assert s["reconciliation"]["passed"] and s["callbacks"]["accepted"] > 0 and s["callbacks"]["too_many_requests"] == 0
    assert s["unexpected"] == 0 and s["passed"], s["thresholds"]
