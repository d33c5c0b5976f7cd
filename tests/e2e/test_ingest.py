"""Ingestion steps end to end: `loadtest run` creates responses (seed 002) and records (seed 004)
through the target's bulk APIs before its live respondents, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from loadtest.checks.data_check import normalise
from loadtest.engine.offline_walk import OfflineWalker
from loadtest.local_defaults import DEFAULT_API_KEY, DEFAULT_DATA_TOKEN
from loadtest.scenario.file import load_scenario
from tests.e2e.test_run import loadtest, run_dir, summary
from tests.helpers import ROOT, no_speeder, running_mock

SEED = 7
# survey gender_male: 20 places. 12 ingested completes take 12 of them, so of the live run's 16
# quota chasers exactly 8 complete and 8 meet a full cell (without ingestion all 16 complete).
CELL, INGESTED, CHASERS, UPLOADED, BATCH = 20, 12, 16, 30, 10


def scenario(tmp_path: Path, survey: Path, ingest: str, respondents: int = CHASERS) -> Path:
    text = f'''
[scenario]
name = "ingest"
seed = {SEED}
surveys = ["{survey}"]
personas_dir = "{ROOT}/personas"
think_scale = 0.0

[load]
model = "closed"
concurrency = 4
respondents = {respondents}

[limits]
ingest = {{ rate = 200 }}

[data_check]
enabled = true

[answers]
10001 = "50001"   # passes the screener
10012 = "50102"   # not the chain answer

[personas.quota_chaser]
weight = 1
answers = {{ 10002 = "50012" }}   # the gender_male cell

[personas.filler]                # for ingestion only
script = "completer"
weight = 0
answers = {{ 10002 = "50012" }}

[personas.abandoner]
weight = 0
{ingest}
'''
    path = tmp_path / "ingest.toml"
    path.write_text(text)
    return path


def data_api(url: str, **query: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{url}/v1/surveys/100001/respondents/data?{urllib.parse.urlencode(query)}",
                                     headers={"authorization": f"Bearer {DEFAULT_DATA_TOKEN}"})
    return orjson.loads(urllib.request.urlopen(request, timeout=10).read())  # type: ignore[no-any-return]


def with_transactions(url: str, ids: list[str]) -> dict[str, Any]:
    quoted = ", ".join(f"'{t}'" for t in ids)
    return data_api(url, filterExpression=f"transaction_id in ({quoted})", pageSize="1000")


def test_ingested_responses_fill_a_quota_cell_and_uploaded_records_leave_the_data_check_alone(tmp_path: Path) -> None:
    survey = no_speeder(tmp_path)
    path = scenario(tmp_path, survey, f'''
[[ingest]]
api = "responses"
count = {INGESTED}
persona = "filler"
limit = "ingest"
concurrency = 4

[[ingest]]
api = "respondent_data"
count = {UPLOADED}
batch = {BATCH}
limit = "ingest"
''')
    env = {"LOADTEST_API_KEY": DEFAULT_API_KEY, "LOADTEST_DATA_TOKEN": DEFAULT_DATA_TOKEN}
    reports = tmp_path / "reports"
    with running_mock(survey, db=tmp_path / "db.sqlite") as platform:
        out = loadtest("run", str(path), "--target", platform.url, "--reports", str(reports), env=env, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        s = summary(reports)
        prefix = s["transaction_prefix"]  # the run's own: its ingested items carry it too
        stats = orjson.loads(urllib.request.urlopen(f"{platform.url}/__admin/stats", timeout=10).read())
        ingested = with_transactions(platform.url, [f"{prefix}-ing0-{i}" for i in range(INGESTED)])["items"]
        uploaded = with_transactions(platform.url, [f"{prefix}-ing1-{i}" for i in range(UPLOADED)])
    responses, data = s["ingest"]
    assert (responses["created"], responses["refused"], responses["response_status"]) == \
           (INGESTED, 0, {"Completed": INGESTED})
    assert (data["created"], data["requests"], data["first_error"]) == (UPLOADED, UPLOADED // BATCH, None)
    # The shift the pre-filled cell makes: half the chasers are turned away.
    left = CELL - INGESTED
    assert s["outcomes"]["survey_complete"] == left and s["outcomes"]["quota_full"] == CHASERS - left
    assert stats["surveys"]["100001"]["quotas"]["gender_male"]["count"] == CELL
    # Reported like any step, before the live run's second 0.
    assert s["requests"]["ingest-responses"]["count"] == INGESTED
    assert s["requests"]["ingest-data"]["http_statuses"] == {"200": UPLOADED // BATCH}
    assert s["limits"]["ingest"]["granted"] == INGESTED + UPLOADED // BATCH
    rows = (run_dir(reports) / "requests.csv").read_text().splitlines()
    assert any(r.startswith("-") and ",ingest-responses," in r for r in rows)
    assert {t["name"]: t["passed"] for t in s["thresholds"]}["ingest"] is True
    # Uploaded records are visible through the data API; the read-back judged only the run's own
    # respondents, though it read every complete record, the ingested and uploaded ones too.
    assert uploaded["totalCount"] == UPLOADED
    check = s["data_check"]
    assert check["passed"] and check["respondents_checked"] == left
    assert check["records_read"] == left + INGESTED + UPLOADED
    # Each ingested response is stored exactly as its persona's walk answered it.
    sc = load_scenario(path)
    filler = next(p for p in sc.personas if p.name == "filler")
    with OfflineWalker(sc.surveys) as walker:
        walked = {w.transaction_id: w for w in (walker.walk(filler, 100001, SEED, 0, i, prefix)
                                                 for i in range(INGESTED))}
    assert len(ingested) == INGESTED
    for record in ingested:
        assert normalise(record) == normalise(walked[record["transaction_id"]].answers)


def test_a_refused_ingestion_fails_the_run(tmp_path: Path) -> None:
    # An abandoner's answers stop short of the end: the responses API refuses them (400).
    path = scenario(tmp_path, no_speeder(tmp_path), '''
[[ingest]]
api = "responses"
count = 3
persona = "abandoner"
''', respondents=2)
    reports = tmp_path / "reports"
    out = loadtest("run", str(path), "--reports", str(reports), timeout=120)
    assert out.returncode == 3, out.stdout + out.stderr
    (step,) = summary(reports)["ingest"]
    assert (step["created"], step["refused"], step["http_statuses"], step["passed"]) == (0, 3, {"400": 3}, False)
    assert step["first_error"]["status"] == 400 and "requires an answer" in step["first_error"]["message"]
    assert "FAIL ingest: 3 (limit 0)" in out.stdout and "first refused: HTTP 400" in out.stdout


def test_uploading_to_a_real_target_needs_the_data_token(tmp_path: Path) -> None:
    path = scenario(tmp_path, no_speeder(tmp_path), '[[ingest]]\napi = "respondent_data"\ncount = 1\n')
    path.write_text(path.read_text().replace("enabled = true", "enabled = false"))
    env = {**{k: v for k, v in os.environ.items() if k != "LOADTEST_DATA_TOKEN"}, "LOADTEST_API_KEY": DEFAULT_API_KEY}
    out = subprocess.run([sys.executable, "-m", "loadtest.cli", "run", str(path), "--target", "http://127.0.0.1:9",
                          "--reports", str(tmp_path / "r")], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=60, check=False)
    assert out.returncode == 2 and not (tmp_path / "r").exists()
    assert out.stderr.strip() == (f"{path}: data_check.token_env: expected LOADTEST_DATA_TOKEN to hold the respondent "
                                  "data API's bearer token for the [[ingest]] respondent_data steps (it is not set)")
