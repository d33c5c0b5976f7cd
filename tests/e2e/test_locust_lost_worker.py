"""A Locust worker killed outright (SIGKILL: no final report, its heartbeat just stops) fails
the master's run, its unreported respondents are counted, what they left on the platform is
listed as unaccounted rather than blamed on the target, and its share of the limits goes to the
worker still running as soon as Locust calls it missing (not after the 90 s a quitting worker
gets to drain its callbacks).

The respondents walk at twice smoke's pace (quick_smoke in tests/e2e/test_run.py: smoke's
personas, panel and thresholds, here half its think time) with half as many users (8), so each
worker finishes as many respondents a second as before (~1.6, against the 5 callbacks a second
its share of the panel limit lets out) while the kill comes ~5 s into the run instead of ~10 s,
and the run is 16 s long instead of 30. A callback still queued in the killed worker, of a
respondent it had reported, is listed by reconciliation as lost with the worker, not missing."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from tests.browser import wait_for
from tests.e2e.test_locust_distributed import LOCUSTFILE, free_port
from tests.e2e.test_run import quick_smoke, quick_survey
from tests.helpers import ROOT, STORE_VISIT, running_mock


def test_a_worker_killed_mid_run_fails_the_run_and_frees_its_share(tmp_path: Path) -> None:
    port, reports = free_port(), tmp_path / "reports"
    master_log = tmp_path / "master.log"
    survey, scenario = quick_survey(tmp_path), quick_smoke(tmp_path, think_scale=0.5)

    def locust(*args: str, log: Path) -> subprocess.Popen[bytes]:  # test_locust_distributed's, on this scenario
        cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--scenario", str(scenario), *args]
        with log.open("wb") as out:
            return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    with running_mock(survey, STORE_VISIT, db=tmp_path / "db.sqlite") as platform:
        # 16 s: the kill comes ~4-7 s in, Locust calls the worker missing ~4-5 s after it, and
        # the master must still be running then (its share loop stops with the test).
        master = locust("--master", "--headless", "-u", "8", "-r", "8", "-t", "16s", "--expect-workers", "2",
                        "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--host", platform.url,
                        "--reports", str(reports), "--only-summary", log=master_log)
        workers = [locust("--worker", "--master-host", "127.0.0.1", "--master-port", str(port),
                          log=tmp_path / f"worker{i}.log") for i in range(2)]
        try:
            def shared_between_two() -> bool:
                return "limits shared among 2 workers" in master_log.read_text()

            def reported() -> bool:
                folders = list(reports.glob("*/respondents.jsonl"))
                return bool(folders) and len(folders[0].read_bytes().splitlines()) >= 10

            wait_for("both workers to get their share", shared_between_two, timeout=60)
            wait_for("the workers to report respondents", reported, timeout=60)
            workers[0].send_signal(signal.SIGKILL)
            killed = time.monotonic()
            wait_for("the master to give the lost worker's share away",
                     lambda: "limits shared among 1 workers (0 more leaving)" in master_log.read_text(), timeout=30)
            freed_after = time.monotonic() - killed
            assert master.wait(timeout=180) == 3, master_log.read_text()[-3000:]
            assert workers[1].wait(timeout=60) == 0
        finally:
            for proc in (master, *workers):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    text = master_log.read_text()
    assert re.search(r"worker \S+ lost \(no heartbeat\); its limit share goes to the others", text), text[-3000:]
    assert freed_after < 30  # seconds, against the 90 s a leaving worker's share is held for
    (run,) = reports.iterdir()
    s = orjson.loads((run / "summary.json").read_bytes())
    assert len(s["workers"]["lost"]) == 1 and s["workers"]["final_reports"] == 1
    assert s["lost_with_worker"] == s["workers"]["lost_with_worker"] >= 0
    lost = next(t for t in s["thresholds"] if t["name"] == "lost_workers")
    assert lost == {"name": "lost_workers", "limit": 0, "value": 1, "passed": False}
    assert s["passed"] is False and s["interrupted"] is False
    # what the lost worker's unreported respondents left is listed, and not taken for the target's fault
    assert s["data_check"]["passed"] and "unaccounted" in s["data_check"], s["data_check"]
    assert s["reconciliation"]["passed"] and "unaccounted" in s["reconciliation"], s["reconciliation"]
    assert s["reconciliation"]["lost_with_worker"] >= 0
    assert 'name="lost_workers"' in (run / "junit.xml").read_text()
