"""Both drivers against a survey server this project did not write (tests/independent_server),
from a scenario that names only its URL and survey id: rotating tokens, JSON-string questions,
the seed's type codes, large ids, a rate limit answering 429 with both Retry-After forms, bursts
of 503, chunked replies, `Connection: close`, and redirects to a host the scenario does not list.

Every respondent must end as its persona expects, the 429s must be counted as failed requests
(and apart, as rate_limited), and no request may reach the unlisted host."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.helpers import ROOT
from tests.independent_server import RunningServer, ServerConfig, running_server
from tests.independent_server.survey import LIMITED_CELL, NORTH, QUOTA_Q, SCREEN_IN, SCREEN_OUT, SCREENER_Q, SOUTH

KEY_ENV = "INDEPENDENT_SERVER_KEY"


@pytest.fixture
def server() -> Iterator[RunningServer]:
    # 30 requests/s per key and a 503 burst every 40 requests: a run of this size meets both.
    config = ServerConfig(rate_limit_per_second=30, burst_every=40, burst_length=2, quota_limit=4)
    with running_server(config) as srv:
        yield srv


def scenario(tmp_path: Path, srv: RunningServer, respondents: int) -> Path:
    path = tmp_path / "independent.toml"
    path.write_text(f'''
[scenario]
name = "independent"
seed = 7
target = "{srv.url}"
survey_id = {srv.config.survey_id}
api_key_env = "{KEY_ENV}"
follow_redirects = ["target"]        # the server redirects to 127.0.0.2, which is not listed
request_timeout_s = 10

[load]
model = "closed"
concurrency = 12
respondents = {respondents}
duration_s = 120

[answers]
{SCREENER_Q} = "{SCREEN_IN}"
{QUOTA_Q} = "{SOUTH}"

[personas.completer]
weight = 4
think_scale = 0.05

[personas.screenout]
weight = 2
think_scale = 0.05
answers = {{ {SCREENER_Q} = "{SCREEN_OUT}" }}

[personas.quota_chaser]
weight = 3
think_scale = 0.05
answers = {{ {QUOTA_Q} = "{NORTH}" }}

[personas.backtracker]
weight = 2
think_scale = 0.05

[personas.abandoner]
weight = 1
think_scale = 0.05

[personas.validation_fixer]
weight = 2
think_scale = 0.05

[thresholds]
unexpected = 0
''')
    return path


def env(srv: RunningServer) -> dict[str, str]:
    return {**os.environ, KEY_ENV: srv.config.api_key}


def summary_of(reports: Path) -> dict[str, Any]:
    found = list(reports.glob("*/summary.json"))
    assert len(found) == 1, found
    data: dict[str, Any] = orjson.loads(found[0].read_bytes())
    return data


def check_common(s: dict[str, Any], srv: RunningServer) -> None:
    assert s["unexpected"] == 0, (s["personas"], s.get("errors"))
    stats = srv.stats
    assert srv.outside_hits == 0, "a redirect to an unlisted host was followed"
    sent_429 = stats.sent_429
    counted = sum(step.get("rate_limited", 0) for step in s["requests"].values())
    assert counted == sent_429, (counted, sent_429)
    # every 429 is a failed request in the figures, and so is every 503 of a burst
    failures = sum(step["failures"] for step in s["requests"].values())
    assert failures >= sent_429 + stats.sent_503
    assert stats.completes_by_cell.get(LIMITED_CELL, 0) <= srv.config.quota_limit
    assert stats.internal_errors == 0


@pytest.mark.slow
def test_loadtest_run_against_the_independent_server(tmp_path: Path, server: RunningServer) -> None:
    reports = tmp_path / "reports"
    run = subprocess.run([sys.executable, "-m", "loadtest.cli", "run", str(scenario(tmp_path, server, 28)),
                          "--reports", str(reports)], cwd=tmp_path, env=env(server), capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    s = summary_of(reports)
    check_common(s, server)
    assert server.stats.sent_429 > 0, "the run never met the rate limit: the test proves nothing"
    outcomes = s["outcomes"]
    assert outcomes.get("terminated", 0) == s["personas"]["screenout"]["respondents"]
    assert outcomes.get("quota_full", 0) > 0 and outcomes.get("abandoned", 0) > 0
    assert "429" in run.stdout  # the console shows the 429 column when any occurred


@pytest.mark.slow
def test_loadtest_locust_headless_against_the_independent_server(tmp_path: Path, server: RunningServer) -> None:
    reports = tmp_path / "reports"
    # 6 s of 8 users: respondents walk in ~0.5 s between the 429s' pauses of 1-2 s; ~9 complete.
    run = subprocess.run([sys.executable, "-m", "loadtest.cli", "locust", str(scenario(tmp_path, server, 1000)),
                          "--headless", "-u", "8", "-r", "8", "-t", "6s", "--reports", str(reports)],
                         cwd=ROOT, env=env(server), capture_output=True, text=True, timeout=300)
    s = summary_of(reports)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    check_common(s, server)
    assert s["respondents"] > 0 and s["outcomes"].get("survey_complete", 0) > 0
