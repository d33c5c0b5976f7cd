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
from tests.e2e.test_run import quick_smoke, quick_survey, summary
from tests.helpers import ROOT, STORE_VISIT, running_mock


def test_an_answer_the_platform_dropped_mid_run_fails_the_data_check(tmp_path: Path) -> None:
    # smoke's personas at quick_smoke's pace, 64 of them (two rounds of its persona mix), so the
    # read-back still meets every kind of completion beside the one changed. The run cannot end
    # soon after the first completion: its ~57 callbacks go out at the panel limit's 10 a second
    # (no start-up burst), ~5 s more, before the read-back begins.
    survey = quick_survey(tmp_path)  # the platform's speeder rule at the same pace
    scenario = quick_smoke(tmp_path, **{"[load]": "[data_check]\nenabled = true\n\n[load]",
                                        "respondents = 200": "respondents = 64"})
    env = {**os.environ, "LOADTEST_API_KEY": DEFAULT_API_KEY, "LOADTEST_DATA_TOKEN": DEFAULT_DATA_TOKEN,
           "LOADTEST_PANEL_API_KEY": DEFAULT_PANEL_API_KEY, "LOADTEST_PANEL_SECRET": DEFAULT_PANEL_SECRET}
    reports = tmp_path / "reports"
    with running_mock(survey, STORE_VISIT, db=tmp_path / "db.sqlite") as platform:
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
