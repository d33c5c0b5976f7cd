"""`loadtest locust` as a user meets it: -h shows our options then Locust's; the target is checked
before Locust starts; a headless test ends with the error block and the run's own transaction ids."""

from __future__ import annotations

import socket
from pathlib import Path

import orjson

from tests.e2e.test_run import loadtest, summary


def test_help_shows_our_options_then_locusts() -> None:
    for flag in ("-h", "--help"):
        out = loadtest("locust", flag, timeout=120)
        assert out.returncode == 0, out.stderr
        text = out.stdout
        ours = [text.index(o) for o in ("--no-preflight", "--personas", "--limits", "--survey-id", "--panel-drain",
                                        "examples:")]
        assert ours == sorted(ours)
        theirs = text.index("Locust's own options")
        assert text.index("examples:") < theirs and "Usage: locust" in text[theirs:] and "--run-time" in text[theirs:]


def test_help_after_the_scenario_too(tmp_path: Path) -> None:
    out = loadtest("locust", "any.toml", "--headless", "--help", timeout=120)
    assert out.returncode == 0 and "--no-preflight" in out.stdout and "--run-time" in out.stdout


def test_the_target_is_checked_before_locust_starts(tmp_path: Path) -> None:
    with socket.socket() as held:  # bound, not listening: refused
        held.bind(("127.0.0.1", 0))
        path = tmp_path / "s.toml"
        path.write_text(f'[scenario]\ntarget = "http://127.0.0.1:{held.getsockname()[1]}"\nsurvey_id = 7\n'
                        '[load]\nmodel = "closed"\nrespondents = 1\n[personas.completer]\n')
        out = loadtest("locust", str(path), "--headless", "-t", "2s", "--reports", str(tmp_path / "r"),
                       env={"LOADTEST_API_KEY": "k"}, timeout=120)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "connection refused" in out.stderr and "scenario.target" in out.stderr
    assert not (tmp_path / "r").exists()


def test_a_headless_test_ends_with_the_error_block(tmp_path: Path) -> None:
    assert loadtest("init", str(tmp_path / "x")).returncode == 0
    out = loadtest("locust", str(tmp_path / "x" / "scenario.toml"), "--headless", "-u", "4", "-r", "4", "-t", "4s",
                   "--only-summary", "--reports", str(tmp_path / "r"), timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "preflight: take of survey 500001" in out.stderr and "\nerrors: none\n" in out.stderr
    s = summary(tmp_path / "r")
    assert s["errors"] == [] and s["transaction_prefix"].startswith("lt1-")
    lines = (Path(s["run_dir"]) / "respondents.jsonl").read_bytes().splitlines()
    assert lines and all(orjson.loads(x)["transaction_id"].startswith(s["transaction_prefix"] + "-") for x in lines)
