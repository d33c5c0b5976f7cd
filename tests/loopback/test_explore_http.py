"""`loadtest explore` over HTTP against the independent test server (tests/independent_server),
which this project did not write: its screener and its quota cell are found through rotating
tokens, JSON-string questions, the seed's type codes, 429s with Retry-After, chunked replies and
`Connection: close`; no redirect is followed; transaction ids say `explore`; a small budget says
what it did not explore."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from loadtest.cli import main
from tests.independent_server import RunningServer, ServerConfig, running_server
from tests.independent_server.survey import MULTI_Q, NORTH, QUOTA_Q, RATING_Q, SCREEN_IN, SCREEN_OUT, SCREENER_Q

KEY_ENV = "INDEPENDENT_SERVER_KEY"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    config = ServerConfig(quota_limit=3)  # rate limit 30/s, chunked replies, Connection: close on
    with running_server(config) as srv:
        monkeypatch.setenv(KEY_ENV, config.api_key)
        yield srv


def explore(srv: RunningServer, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["explore", "--target", srv.url, "--survey-id", str(srv.config.survey_id), "--api-key-env", KEY_ENV,
                 "--yes", "--think-scale", "0.02", "--map", str(tmp_path / "map.json"), "--quiet", *extra])
    return code, orjson.loads((tmp_path / "map.json").read_bytes())


@pytest.mark.slow
def test_the_screener_and_the_quota_cell_of_the_independent_server_are_found(server: RunningServer,
                                                                             tmp_path: Path) -> None:
    code, doc = explore(server, tmp_path, "--respondents", "30", "-u", "6")
    assert code == 0
    assert [(s["question"], s["answer"]) for s in doc["screeners"]] == [(SCREENER_Q, SCREEN_OUT)]
    assert [(c["question"], c["answer"], c["completes_before"]) for c in doc["quota_cells"]] == [(QUOTA_Q, NORTH, 3)]
    assert [q["id"] for q in doc["pages"][0]["questions"]] == [SCREENER_Q, QUOTA_Q]
    assert {q["id"]: q["kind"] for p in doc["pages"] for q in p["questions"]}[MULTI_Q] == "multi"
    recommended = {a["question"]: a["answer"] for a in doc["recommended_answers"]}
    assert recommended[SCREENER_Q] == SCREEN_IN and recommended[QUOTA_Q] != NORTH and RATING_Q in recommended
    assert doc["redirect_hosts"]["terminated"] == [server.config.outside_host]
    stats = server.stats
    assert server.outside_hits == 0 and stats.internal_errors == 0
    assert stats.completes_by_cell.get("north", 0) <= 3
    assert stats.transactions_completed and all("explore" in t for t in stats.transactions_completed)
    assert doc["used"]["respondents"] <= 30 and stats.requests == doc["used"]["requests"]
    assert doc["used"]["throttled_429"] == stats.sent_429  # every 429 waited out, none lost


def test_a_url_scenario_with_a_small_budget_says_what_was_not_explored(server: RunningServer, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # A scenario that names only the URL and the survey id, with a header of its own: explored as a run would go.
    scenario = tmp_path / "staging.toml"
    scenario.write_text(f"""
[scenario]
target = "{server.url}"
survey_id = {server.config.survey_id}
api_key_env = "{KEY_ENV}"
headers = {{ "User-Agent" = "loadtest explore test" }}
think_scale = 0.02

[load]
model = "closed"
respondents = 1

[personas.completer]
""")
    code = main(["explore", str(scenario), "--yes", "--respondents", "2", "--map", str(tmp_path / "map.json"),
                 "--quiet"])
    doc = orjson.loads((tmp_path / "map.json").read_bytes())
    assert code == 0 and doc["stopped"] == "respondents" and doc["used"]["respondents"] == 2
    assert server.stats.requests == doc["used"]["requests"]
    left = "\n".join(doc["not_explored"])
    assert "the budget ran out (--respondents)" in left and "never given" in left
    assert capsys.readouterr().out.startswith(f"explore: will create up to 2 responses in survey "
                                              f"{server.config.survey_id} on {server.url}")
