"""Stopping a run the way operators and CI systems do, with real signals to real processes.

A terminal's Ctrl-C is SIGINT to the whole foreground process group, so each driver is started
in its own session (its own group, as a shell would make it) and signalled with `os.killpg`,
not by PID: that is the case that once took the embedded platform down under the run. SIGTERM
comes by PID (`timeout`, CI runners, container stops). Either way: the report is written,
marked interrupted, nothing is blamed on the target, and the exit code is 4, never 0.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.browser import wait_for
from tests.e2e.test_run import SMOKE
from tests.helpers import ROOT

EXIT_INTERRUPTED = 4


class Driver:
    def __init__(self, reports: Path, *args: str) -> None:
        self.reports = reports
        self.proc = subprocess.Popen([sys.executable, "-m", "loadtest.cli", *args, "--reports", str(reports)],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)

    def finished(self) -> int:
        logs = list(self.reports.glob("*/respondents.jsonl"))
        return len(logs[0].read_bytes().splitlines()) if logs else 0

    def wait_for_respondents(self, n: int) -> None:
        wait_for(f"{n} respondents to finish", lambda: self.finished() >= n or self.proc.poll() is not None,
                 timeout=120)
        assert self.proc.poll() is None, "the run ended before it could be interrupted"

    def ctrl_c(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)  # the whole group, as a terminal does

    def result(self) -> tuple[int, str, dict[str, Any]]:
        out, _ = self.proc.communicate(timeout=180)
        (folder,) = list(self.reports.iterdir())
        return self.proc.returncode, out, orjson.loads((folder / "summary.json").read_bytes())

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def drivers() -> Any:
    started: list[Driver] = []

    def start(reports: Path, *args: str) -> Driver:
        started.append(Driver(reports, *args))
        return started[-1]

    yield start
    for d in started:
        d.kill()


def assert_nothing_blamed_on_the_target(summary: dict[str, Any]) -> None:
    assert summary["interrupted"] is True and summary["passed"] is False
    assert summary["errors_by_blame"] == {}, summary["errors_by_blame"]
    # what a stop could cause: a request with no reply (status 0) or a platform that went away (5xx)
    cut = {step: n for step, s in summary["requests"].items() for code, n in s["http_statuses"].items()
           if code == "0" or code.startswith("5")}
    assert cut == {}, cut
    assert summary["unexpected"] == 0
    for check in ("reconciliation", "data_check"):
        if summary.get(check) is not None:
            assert summary[check]["passed"], (check, summary[check])


def assert_marked_in_every_file(run_dir: Path) -> None:
    assert 'classname="loadtest.run" name="completed"' in (run_dir / "junit.xml").read_text()
    assert "interrupted by SIGINT" in (run_dir / "junit.xml").read_text() or \
        "interrupted by SIGTERM" in (run_dir / "junit.xml").read_text()
    assert "INTERRUPTED</span>" in (run_dir / "report.html").read_text()


def assert_platform_gone(out: str) -> None:
    urls = re.findall(r"http://127\.0\.0\.1:(\d+)", out)
    assert urls, out[-2000:]
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(urls[0])), timeout=5):
        pass


def test_engine_ctrl_c_to_the_process_group_stops_with_the_report_and_blames_nothing(tmp_path: Path,
                                                                                    drivers: Any) -> None:
    d = drivers(tmp_path, "run", str(SMOKE))
    d.wait_for_respondents(30)
    d.ctrl_c()
    code, out, s = d.result()
    assert code == EXIT_INTERRUPTED, out[-3000:]
    assert s["interruption"] == {"signal": "SIGINT", "signals": 1}
    assert "incomplete" not in s["outcomes"]  # the first Ctrl-C lets those in flight finish
    assert_nothing_blamed_on_the_target(s)
    assert s["reconciliation"] is not None and s["data_check"] is not None  # the checks still ran
    assert_marked_in_every_file(Path(s["run_dir"]))
    assert "INTERRUPTED ->" in out and "Traceback" not in out
    assert_platform_gone(out)


def test_engine_second_signal_cancels_those_in_flight_and_says_how_many(tmp_path: Path, drivers: Any) -> None:
    d = drivers(tmp_path, "run", str(SMOKE))
    d.wait_for_respondents(30)
    d.ctrl_c()
    os.killpg(d.proc.pid, signal.SIGTERM)  # the second may be either signal (a second SIGINT could merge)
    code, out, s = d.result()
    assert code == EXIT_INTERRUPTED, out[-3000:]
    cancelled = s["interruption"]["cancelled_in_flight"]
    assert s["interruption"]["signals"] == 2 and cancelled == s["outcomes"].get("incomplete", 0)
    assert f"cancelling the {cancelled} respondents in flight" in out
    assert s["respondents"] == d.finished()  # every one of them is in the log, cut off or not
    assert s["errors_by_blame"] == {} and s["unexpected"] == 0


def test_engine_sigterm_by_pid_is_the_same_graceful_stop(tmp_path: Path, drivers: Any) -> None:
    d = drivers(tmp_path, "run", str(SMOKE))
    d.wait_for_respondents(30)
    d.proc.send_signal(signal.SIGTERM)
    code, out, s = d.result()
    assert code == EXIT_INTERRUPTED, out[-3000:]
    assert s["interruption"] == {"signal": "SIGTERM", "signals": 1}
    assert_nothing_blamed_on_the_target(s)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_locust_headless_stops_once_with_the_report_and_exit_4(tmp_path: Path, drivers: Any, how: str) -> None:
    d = drivers(tmp_path, "locust", str(SMOKE), "--headless", "-u", "20", "-r", "20", "-t", "120s")
    d.wait_for_respondents(30)
    if how == "ctrl-c":
        d.ctrl_c()  # reaches `loadtest locust` alone; it passes the signal on to Locust once
    else:
        d.proc.send_signal(signal.SIGTERM)
    code, out, s = d.result()
    assert code == EXIT_INTERRUPTED, out[-3000:]
    assert s["interruption"] == {"signal": "SIGINT" if how == "ctrl-c" else "SIGTERM", "signals": 1}
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out[-3000:]
    assert_nothing_blamed_on_the_target(s)
    assert_marked_in_every_file(Path(s["run_dir"]))
    assert_platform_gone(out)


def test_locust_second_signal_cancels_the_respondents_still_finishing(tmp_path: Path, drivers: Any) -> None:
    d = drivers(tmp_path, "locust", str(SMOKE), "--headless", "-u", "20", "-r", "20", "-t", "120s",
                "--stop-timeout", "60")
    d.wait_for_respondents(30)
    d.ctrl_c()  # users may finish their respondents (--stop-timeout 60) ...
    d.proc.send_signal(signal.SIGTERM)  # ... until this cancels them
    code, out, s = d.result()
    assert code == EXIT_INTERRUPTED, out[-3000:]
    cancelled = s["interruption"]["cancelled_in_flight"]
    assert s["interruption"]["signals"] == 2 and cancelled > 0
    assert 0 < s["outcomes"].get("incomplete", 0) <= cancelled  # one that finished meanwhile is not cut off
    assert f"cancelling the {cancelled} respondents in flight" in out
    assert "Traceback" not in out, out[-3000:]
    assert s["errors_by_blame"] == {} and s["unexpected"] == 0
