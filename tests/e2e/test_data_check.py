"""Read-back after a run: every completed respondent's stored answers equal what it submitted,
and a record the platform changed behind the run's back fails the run, named."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import orjson

from loadtest.local_defaults import DEFAULT_API_KEY, DEFAULT_DATA_TOKEN, DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET
from tests.browser import wait_for
from tests.e2e.test_run import SMOKE, scenario_variant, summary
from tests.helpers import CUSTOMER, ROOT, STORE_VISIT, running_mock


def test_an_answer_the_platform_dropped_mid_run_fails_the_data_check(tmp_path: Path) -> None:
    scenario = scenario_variant(tmp_path, SMOKE, **{"[load]": "[data_check]\nenabled = true\n\n[load]"})
    env = {**os.environ, "LOADTEST_API_KEY": DEFAULT_API_KEY, "LOADTEST_DATA_TOKEN": DEFAULT_DATA_TOKEN,
           "LOADTEST_PANEL_API_KEY": DEFAULT_PANEL_API_KEY, "LOADTEST_PANEL_SECRET": DEFAULT_PANEL_SECRET}
    reports = tmp_path / "reports"
    with running_mock(CUSTOMER, STORE_VISIT, db=tmp_path / "db.sqlite") as platform:
        run = subprocess.Popen([sys.executable, "-m", "loadtest.cli", "run", str(scenario), "--target", platform.url,
                                "--reports", str(reports)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
        try:
            def a_completed_respondent() -> dict | None:
                for path in reports.glob("*/respondents.jsonl"):
                    for line in path.read_bytes().splitlines():
                        r = orjson.loads(line)
                        if r["outcome"] == "survey_complete" and r["survey_id"] == 100001 and r["answers"]:
                            return r
                return None

            victim = wait_for("a completed respondent", a_completed_respondent, timeout=60)
            query = urllib.parse.urlencode({"filterExpression": f"transaction_id = '{victim['transaction_id']}'"})
            req = urllib.request.Request(f"{platform.url}/v1/surveys/100001/respondents/data?{query}",
                                         headers={"authorization": f"Bearer {DEFAULT_DATA_TOKEN}"})
            (record,) = orjson.loads(urllib.request.urlopen(req, timeout=10).read())["items"]
            variable = sorted(victim["answers"])[0]
            drop = urllib.request.Request(f"{platform.url}/__admin/drop-answer", method="POST",
                                          data=orjson.dumps({"respid": record["respid"], "variable": variable}))
            assert urllib.request.urlopen(drop, timeout=10).status == 200
            assert not list(reports.glob("*/summary.json")), "the run ended before the answer was dropped"
            out, _ = run.communicate(timeout=240)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    assert run.returncode == 3, out.decode()[-3000:]
    check = summary(reports)["data_check"]
    assert not check["passed"] and check["problems"] == {"missing": 0, "extra": 0, "mismatched": 1}
    (m,) = check["mismatches"]
    assert (m["transaction_id"], m["variable"], m["stored"]) == (victim["transaction_id"], variable, None)
    assert b"FAIL data_check: 1" in out
