"""A run killed outright (SIGKILL: the OOM killer, `kill -9`, a lost container) leaves a folder
`loadtest report` can rebuild: a checkpoint of its figures at most a few seconds old beside a
respondents.jsonl of whole lines. The report it rebuilds is marked interrupted and exits 4."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.browser import wait_for
from tests.e2e.test_run import SMOKE
from tests.helpers import ROOT

EXIT_INTERRUPTED = 4


def _folder(reports: Path) -> Path | None:
    found = list(reports.glob("*/respondents.jsonl"))
    return found[0].parent if found else None


def _kill_mid_run(reports: Path, *args: str, victim: str = "driver") -> tuple[Path, float]:
    proc = subprocess.Popen([sys.executable, "-m", "loadtest.cli", *args, "--reports", str(reports)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        def ready() -> Path | None:
            folder = _folder(reports)
            if folder is None or not (folder / "checkpoint.json").exists():
                return None
            return folder if len((folder / "respondents.jsonl").read_bytes().splitlines()) >= 40 else None

        folder = wait_for("40 respondents and a checkpoint", ready, timeout=120)
        if victim == "driver":
            os.kill(proc.pid, signal.SIGKILL)
        else:  # the Locust process under `loadtest locust`, the one doing the work
            pids = subprocess.run(["pgrep", "-s", str(_session_of_child(proc.pid))], capture_output=True,
                                  text=True).stdout.split()
            for pid in pids:
                os.kill(int(pid), signal.SIGKILL)
        killed_at = time.time()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return folder, killed_at


def _session_of_child(parent: int) -> int:
    """The session of `parent`'s `python -m locust` child, told apart from the embedded platform's
    `python -m loadtest.cli mock` by its module argument (not by a substring of its command line,
    which a checkout path containing "locust" would also match)."""
    children = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
    (child,) = [pid for pid in children if _module_of(int(pid)) == "locust"]
    return os.getsid(int(child))


def _module_of(pid: int) -> str | None:
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return args[args.index(b"-m") + 1].decode() if b"-m" in args[:-1] else None


@pytest.mark.parametrize("driver", ["run", "locust"])
def test_a_killed_run_is_rebuilt_from_its_checkpoint_and_marked_interrupted(tmp_path: Path, driver: str) -> None:
    args = ["run", str(SMOKE)] if driver == "run" else ["locust", str(SMOKE), "--headless", "-u", "20", "-r", "20",
                                                        "-t", "120s"]
    folder, killed_at = _kill_mid_run(tmp_path, *args, victim="driver" if driver == "run" else "locust")
    assert not (folder / "summary.json").exists()
    checkpoint = orjson.loads((folder / "checkpoint.json").read_bytes())
    assert killed_at - checkpoint["written_at"] <= 5.0  # at most ~5 s of figures lost
    data = (folder / "respondents.jsonl").read_bytes()
    logged = len(data.splitlines())

    out = subprocess.run([sys.executable, "-m", "loadtest.cli", "report", str(folder)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == EXIT_INTERRUPTED, out.stdout + out.stderr
    assert "rebuilt from checkpoint.json" in out.stdout and "INTERRUPTED" in out.stdout
    s = orjson.loads((folder / "summary.json").read_bytes())
    assert s["interrupted"] is True and s["passed"] is False
    assert s["interruption"]["recovered_from"] == "checkpoint.json"
    assert s["interruption"]["respondents_logged"] == logged - (0 if data.endswith(b"\n") else 1)
    assert 0 < s["respondents"] <= logged and s["driver"] == ("engine" if driver == "run" else "locust")
    assert s["histograms"] and sum(step["count"] for step in s["requests"].values()) > 0
    assert 'name="completed"' in (folder / "junit.xml").read_text()
    assert "INTERRUPTED</span>" in (folder / "report.html").read_text()
    rows = (folder / "requests.csv").read_text().splitlines()
    assert len(rows) > 1  # the per-second timeline came through the checkpoint too
