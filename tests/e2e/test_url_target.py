"""A scenario that names only a survey id, against a platform given by URL that keeps its state
between runs: it runs twice with the same seed (each run's transaction ids are its own), records
and replays without any survey file, and a misspelt key is one line and exit 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from loadtest.local_defaults import DEFAULT_API_KEY
from tests.e2e.test_run import loadtest
from tests.helpers import CS_ID, MockServer, no_speeder, running_mock

KEY = {"QA_API_KEY": DEFAULT_API_KEY}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    tmp = tmp_path_factory.mktemp("url-target")
    with running_mock(no_speeder(tmp), db=tmp / "kept.db") as p:
        yield p


def scenario(tmp: Path, url: str, extra: str = "") -> Path:
    path = tmp / "qa.toml"
    path.write_text(f"""
[scenario]
name = "qa"
seed = 5
target = "{url}"
survey_id = {CS_ID}
api_key_env = "QA_API_KEY"
think_scale = 0.0
{extra}
[load]
model = "closed"
concurrency = 3
respondents = 6

[answers]
10001 = "50001"
10002 = "50013"
10012 = "50102"

[personas.completer]
weight = 2

[personas.screenout]
answers = {{ 10001 = "50002" }}

[thresholds]
error_ratio = 0.0
unexpected = 0
""")
    return path


def lines(run: Path) -> list[dict[str, object]]:
    return [orjson.loads(x) for x in (run / "respondents.jsonl").read_bytes().splitlines()]


def test_the_same_scenario_twice_against_a_stateful_target(tmp_path: Path, platform: MockServer) -> None:
    path = scenario(tmp_path, platform.url)
    ids = []
    for n in range(2):
        reports = tmp_path / f"r{n}"
        out = loadtest("run", str(path), "--reports", str(reports), env=KEY)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "preflight: take of survey 100001" in out.stderr and "-preflight" in out.stderr
        assert "errors: none" in out.stdout
        (run,) = reports.iterdir()
        summary = orjson.loads((run / "summary.json").read_bytes())
        prefix = summary["transaction_prefix"]
        assert prefix.startswith("lt5-") and summary["errors"] == []
        got = [str(r["transaction_id"]) for r in lines(run)]
        assert all(t.startswith(prefix + "-") for t in got)
        ids.append((prefix, sorted(t.rsplit("-", 1)[1] for t in got), sorted((r["index"], r["seed"])
                                                                             for r in lines(run))))
    (p1, idx1, who1), (p2, idx2, who2) = ids
    assert p1 != p2 and idx1 == idx2 and who1 == who2  # same respondents, the run's own transactions


def test_a_transaction_prefix_the_scenario_names(tmp_path: Path, platform: MockServer) -> None:
    path = scenario(tmp_path, platform.url, extra='transaction_prefix = "qa-fixed"')
    reports = tmp_path / "r"
    out = loadtest("run", str(path), "--reports", str(reports), "--respondents", "2", env=KEY)
    assert out.returncode == 0, out.stdout + out.stderr
    (run,) = reports.iterdir()
    assert sorted(str(r["transaction_id"]) for r in lines(run)) == ["qa-fixed-000000", "qa-fixed-000001"]


def test_record_and_replay_without_survey_files(tmp_path: Path, platform: MockServer) -> None:
    path = scenario(tmp_path, platform.url)
    rec = tmp_path / "rec.jsonl"
    out = loadtest("run", str(path), "--record", str(rec), "--reports", str(tmp_path / "r"), env=KEY)
    assert out.returncode == 0, out.stdout + out.stderr
    assert orjson.loads(rec.read_bytes().splitlines()[0])["surveys"] == []
    replayed = loadtest("replay", str(rec), "--target", platform.url, env=KEY)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replay: 6 respondents replayed, 6 identical, 0 diverged" in replayed.stdout


def test_a_misspelt_key_is_one_line_and_exit_2(tmp_path: Path, platform: MockServer) -> None:
    path = scenario(tmp_path, platform.url)
    path.write_text(path.read_text().replace("concurrency = 3", "concurency = 4"))
    out = loadtest("run", str(path), "--reports", str(tmp_path / "r"), env=KEY)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == f"{path}: load.concurency: unknown key (did you mean concurrency?)\n"
    assert not (tmp_path / "r").exists()


def test_without_preflight_the_cause_reaches_the_error_block(tmp_path: Path) -> None:
    import socket

    with socket.socket() as held:  # bound, not listening: every connection to it is refused
        held.bind(("127.0.0.1", 0))
        path = scenario(tmp_path, f"http://127.0.0.1:{held.getsockname()[1]}")
        refused = loadtest("run", str(path), "--reports", str(tmp_path / "a"), env=KEY)
        assert refused.returncode == 2 and "connection refused" in refused.stderr
        out = loadtest("run", str(path), "--no-preflight", "--respondents", "1", "--reports", str(tmp_path / "b"),
                       env=KEY)
    assert out.returncode == 3, out.stdout + out.stderr
    block = out.stdout.split("errors: ", 1)[1].splitlines()
    assert block[0] == "1 distinct, 1 in all:" and "take" in block[2] and "transport" in block[2], block
    (run,) = (tmp_path / "b").iterdir()
    (error,) = orjson.loads((run / "summary.json").read_bytes())["errors"]
    assert error["kind"] == "error" and error["step"] == "take" and error["first_index"] == 0
