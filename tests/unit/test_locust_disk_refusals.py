"""A Locust run's files when the disk refuses a write, socket-free: whichever file meets the full
disk first (respondents.jsonl, the checkpoint's timeline, checkpoint.json, a master's absorbed
lines), the test run records one line and stops; it never raises into gevent."""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtest.locust_driver.state import ProcessConfig, TestRun
from loadtest.results.checkpoint import Checkpointer
from loadtest.results.run_files import RespondentLog
from loadtest.scenario.file import load_scenario
from tests.helpers import ROOT


def full(path: str) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", path)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestRun]:
    sc = dataclasses.replace(load_scenario(ROOT / "scenarios" / "smoke.toml"), panel=None)
    cfg = ProcessConfig(sc, "http://127.0.0.1:9", tmp_path, "local", -1, "k", "pk", "ps")
    test = TestRun(cfg, sc)
    stopped: list[str] = []
    test.on_write_failure = stopped.append
    test.stopped = stopped  # type: ignore[attr-defined]
    yield test
    assert test.log is not None
    monkeypatch.undo()
    test.log.close()


def refuse(monkeypatch: pytest.MonkeyPatch, cls: type, method: str, path: str) -> None:
    def raising(*_: Any, **__: Any) -> Any:
        raise full(path)

    monkeypatch.setattr(cls, method, raising)


@pytest.mark.parametrize(("cls", "method", "file"), [
    (Checkpointer, "_append_settled", "checkpoint-timeline.jsonl"),
    (Checkpointer, "write", "checkpoint.json.tmp"),
    (RespondentLog, "flush", "respondents.jsonl"),
])
def test_a_checkpoint_the_disk_refuses_is_one_line_and_the_stop(run: TestRun, monkeypatch: pytest.MonkeyPatch,
                                                               cls: type, method: str, file: str) -> None:
    refuse(monkeypatch, cls, method, f"/r/{file}")
    run.checkpoint()
    assert run.write_failure == f"/r/{file}: No space left on device"
    assert run.stopped == [run.write_failure]  # type: ignore[attr-defined]
    run.checkpoint()  # a second refusal: the first line stands, the stop is asked for once
    assert run.stopped == [f"/r/{file}: No space left on device"]  # type: ignore[attr-defined]


def test_lines_a_master_absorbs_onto_a_full_disk_are_one_line(run: TestRun, monkeypatch: pytest.MonkeyPatch) -> None:
    refuse(monkeypatch, RespondentLog, "write_lines", "/r/respondents.jsonl")
    report = TestRun(dataclasses.replace(run.cfg, role="worker", worker_index=1), run.scenario)
    report.lines = [b'{"index": 1}\n']
    run.absorb("w1", report.take_report())
    assert run.write_failure == "/r/respondents.jsonl: No space left on device"
    assert run.received["w1"]["respondents"] == 0  # the figures are still taken


def test_an_os_error_that_is_not_the_disk_is_raised(run: TestRun, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> Any:
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(Checkpointer, "_append_settled", broken)
    with pytest.raises(OSError, match="Bad file descriptor"):
        run.checkpoint()
