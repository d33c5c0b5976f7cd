"""Where a run's files go: a reports folder or --record path that cannot be written is one line
and exit 2 before any load, leaving no empty run folder; a disk that fills up during the run
stops it with one line (no traceback), the files it could write whole, and exit 1.

The full disk and the read-only folder are real: small tmpfs mounts (the suite runs as root, as
the CI does), unmounted after each test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_run import SMOKE, quick_smoke
from tests.helpers import ROOT


def loadtest(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loadtest.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def _mount(where: Path, options: str) -> Iterator[Path]:
    # A real full disk needs a real small filesystem: CI and developers here run as root, so a
    # machine where this cannot be mounted fails loudly rather than passing without the check.
    assert os.geteuid() == 0, "these tests mount a small tmpfs and need root (CI runs as root)"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True)
    assert done.returncode == 0, f"cannot mount a tmpfs here: {done.stderr.strip()}"
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    yield from _mount(tmp_path / "small", "size=160k")


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    yield from _mount(tmp_path / "ro", "ro,size=64k")


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("driver", ["run", "locust"])
def test_a_reports_path_that_is_a_file_is_one_line_and_exit_2(tmp_path: Path, driver: str) -> None:
    afile = tmp_path / "reports"
    afile.write_text("not a folder")
    extra = ["--headless", "-u", "1", "-t", "5s"] if driver == "locust" else []
    out = loadtest(driver, str(SMOKE), *extra, "--reports", str(afile))
    assert out.returncode == 2, out.stdout + out.stderr
    assert _one_line(out.stderr) == f"--reports: {afile}: expected a folder ({afile} is a file)"
    assert afile.read_text() == "not a folder"


def test_a_read_only_reports_folder_is_one_line_and_leaves_nothing(read_only: Path) -> None:
    out = loadtest("run", str(SMOKE), "--reports", str(read_only / "reports"))
    assert out.returncode == 2, out.stdout + out.stderr
    line = _one_line(out.stderr)
    assert line.startswith(f"--reports: {read_only / 'reports'}: expected a folder loadtest can write in") and \
        "Read-only file system" in line
    assert list(read_only.iterdir()) == []


@pytest.mark.parametrize("where", ["a folder", "read-only"])
def test_an_unwritable_record_path_is_one_line_and_no_run_folder(tmp_path: Path, read_only: Path, where: str) -> None:
    record = tmp_path if where == "a folder" else read_only / "rec.jsonl"
    reports = tmp_path / "reports"
    out = loadtest("run", str(SMOKE), "--reports", str(reports), "--record", str(record))
    assert out.returncode == 2, out.stdout + out.stderr
    assert _one_line(out.stderr).startswith(f"--record: {record if where == 'a folder' else read_only}")
    assert not reports.exists()  # no run folder made, empty or not


@pytest.mark.parametrize("driver", ["run", "locust"])
def test_a_disk_that_fills_up_stops_the_run_with_one_line_and_exit_1(tmp_path: Path, small_disk: Path,
                                                                     driver: str) -> None:
    # smoke at quick_smoke's pace: the 160k disk fills 4x as soon, with the same kind of
    # respondent lines and checkpoints (engine: ~3 s into the load instead of ~12 s). Under
    # Locust the 20 users' think time caps how fast respondents.jsonl grows: ~30 KB between two
    # checkpoints (every 2 s), less than a ~45 KB checkpoint.json, so as at full pace the
    # checkpoint is the write that meets the full disk. The callbacks still queued at the stop
    # get 1 s (--panel-drain) instead of up to 60: delivering them is not what is checked here.
    extra = ["--headless", "-u", "20", "-r", "20", "-t", "120s", "--panel-drain", "1"] if driver == "locust" else []
    out = loadtest(driver, str(quick_smoke(tmp_path)), *extra, "--reports", str(small_disk / "r"))
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-3000:]
    said = [line for line in (out.stdout + out.stderr).splitlines() if "No space left on device" in line]
    assert len(said) == 1 and "stopping the" in said[0], said  # one line, naming the file
    assert str(small_disk / "r") in said[0]
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    (folder,) = list((small_disk / "r").iterdir())
    data = (folder / "respondents.jsonl").read_bytes()
    assert data and data.endswith(b"\n")  # whole lines only, even at the very end of the disk
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]  # no half-written summary beside
