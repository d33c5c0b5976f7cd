"""`loadtest explore --write` then `loadtest run` of the written scenario, as written, against the
same target: the embedded platform over HTTP, the independent test server, and a survey file
explored in process (then run against the embedded platform serving that file). Every respondent
of the written scenario must end as its persona expects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from loadtest.local_defaults import DEFAULT_API_KEY
from loadtest.platform.embedded import embedded_platform
from loadtest.scenario.file import load_scenario
from tests.helpers import CUSTOMER, ROOT, survey_variant
from tests.independent_server import ServerConfig, running_server
from tests.independent_server.survey import NORTH, QUOTA_Q, SCREEN_OUT, SCREENER_Q

pytestmark = pytest.mark.slow


def cli(*argv: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loadtest.cli", *argv], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=300)


def summary_of(reports: Path) -> dict[str, Any]:
    (found,) = list(reports.glob("*/summary.json"))
    data: dict[str, Any] = orjson.loads(found.read_bytes())
    return data


def run_written(written: Path, reports: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    run = cli("run", str(written), "--reports", str(reports), env=env, cwd=written.parent)
    assert run.returncode == 0, written.read_text() + run.stdout[-3000:] + run.stderr[-3000:]
    s = summary_of(reports)
    assert s["unexpected"] == 0, s["personas"]
    return s


def test_explore_the_embedded_platform_over_http_then_run_what_it_wrote(tmp_path: Path) -> None:
    # Small cells and a short speeder limit, so a fast exploration fills both and meets the rule.
    survey = survey_variant(CUSTOMER, tmp_path, **{"limit = 20": "limit = 3",
                                                   "speeder_min_seconds = 3.0": "speeder_min_seconds = 0.5"})
    env = {"LOADTEST_API_KEY": DEFAULT_API_KEY}
    written = tmp_path / "explored.toml"
    with embedded_platform([survey], env=env) as platform:
        ex = cli("explore", "--target", platform.url, "--survey-id", "100001", "--yes", "--think-scale", "0.2",
                 "-u", "8", "--respondents", "60", "--map", str(tmp_path / "map.json"), "--write", str(written),
                 env=env)
        assert ex.returncode == 0, ex.stdout[-3000:] + ex.stderr[-3000:]
        assert ex.stdout.startswith(f"explore: will create up to 60 responses in survey 100001 on {platform.url}")
        doc = orjson.loads((tmp_path / "map.json").read_bytes())
        assert [(s["question"], s["answer"]) for s in doc["screeners"]] == [(10001, 50002)]
        assert {c["quota_id"]: (c["answer"], c["completes_before"]) for c in doc["quota_cells"]} == \
            {"gender_female": (50011, 3), "gender_male": (50012, 3)}
        assert [(c["question"], c["answer"], c["host"]) for c in doc["chains"]] == [(10012, 50103, "127.0.0.1")]
        assert doc["quality"]["speeder"]["found"] and doc["quality"]["straightlining"]["found"]
        assert doc["display_logic"][0]["shown_after"] == [{"question": 10005, "answers": [50033, 50035]}]
        assert all("explore" in w["transaction_id"] for w in doc["walks"])
        sc = load_scenario(written)
        assert sc.target == platform.url and {p.name for p in sc.personas} == {
            "completer", "screenout", "quota_chaser", "chainer", "speeder", "straightliner"}
        s = run_written(written, tmp_path / "reports", env)
    assert {"terminated", "redirect", "quota_full", "survey_complete"} <= set(s["outcomes"])


def test_explore_the_independent_server_then_run_what_it_wrote(tmp_path: Path) -> None:
    config = ServerConfig(quota_limit=3)
    env = {"INDEPENDENT_SERVER_KEY": config.api_key}
    written = tmp_path / "explored.toml"
    with running_server(config) as srv:
        ex = cli("explore", "--target", srv.url, "--survey-id", str(config.survey_id), "--api-key-env",
                 "INDEPENDENT_SERVER_KEY", "--yes", "--think-scale", "0.02", "--map", str(tmp_path / "map.json"),
                 "--write", str(written), env=env)
        assert ex.returncode == 0, ex.stdout[-3000:] + ex.stderr[-3000:]
        doc = orjson.loads((tmp_path / "map.json").read_bytes())
        assert [(s["question"], s["answer"]) for s in doc["screeners"]] == [(SCREENER_Q, SCREEN_OUT)]
        assert [(c["question"], c["answer"]) for c in doc["quota_cells"]] == [(QUOTA_Q, NORTH)]
        s = run_written(written, tmp_path / "reports", env)
        assert srv.outside_hits == 0
    assert s["outcomes"].get("terminated") and s["outcomes"].get("quota_full") and s["outcomes"].get("survey_complete")


def test_explore_a_survey_file_in_process_then_run_what_it_wrote_on_the_embedded_platform(tmp_path: Path) -> None:
    survey = survey_variant(CUSTOMER, tmp_path, **{"speeder_min_seconds = 3.0": "speeder_min_seconds = 1.0"})
    written = tmp_path / "explored.toml"
    ex = cli("explore", str(survey), "--think-scale", "0.3", "--map", str(tmp_path / "map.json"), "--write",
             str(written), "--quiet")
    assert ex.returncode == 0, ex.stdout[-3000:] + ex.stderr[-3000:]
    assert "nothing is sent anywhere" in ex.stdout.splitlines()[0]
    text = written.read_text()
    assert 'target = "embedded"' in text and 'surveys = ["customer_satisfaction.toml"]' in text
    s = run_written(written, tmp_path / "reports")
    assert {"terminated", "redirect", "survey_complete"} <= set(s["outcomes"])
    assert s["personas"]["speeder"]["respondents"] > 0 and s["personas"]["straightliner"]["respondents"] > 0
