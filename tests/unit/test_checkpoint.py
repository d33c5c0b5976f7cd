"""A run's checkpoint holds what its summary is built from, and survives being cut anywhere;
respondents.jsonl is written a whole line at a time and read back past a torn last line."""

from __future__ import annotations

import errno
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from loadtest.results.checkpoint import CHECKPOINT, CHECKPOINT_TIMELINE, Checkpointer, read_checkpoint
from loadtest.results.metrics import Metrics
from loadtest.results.run_files import RespondentLog, read_respondents


def _metrics(seconds: int, seed: int = 1) -> Metrics:
    rng = random.Random(seed)
    m = Metrics()
    for i in range(seconds * 50):
        step = rng.choice(["take", "submit-page", "previous-page"])
        service = rng.lognormvariate(-6, 1)
        m.request(step, service, service * rng.uniform(1, 3), rng.choice([200, 200, 200, 503]), i / 50)
    return m


def _same(a: Metrics, b: Metrics) -> None:
    assert a.requests_summary() == b.requests_summary()
    assert a.histograms() == b.histograms()
    assert a.timeline_rows() == b.timeline_rows()


def test_a_checkpoint_holds_the_figures_histograms_and_timeline_exactly(tmp_path: Path) -> None:
    cp = Checkpointer(tmp_path, {"driver": "engine", "seed": 7})
    m = _metrics(10)
    for upto in (3, 6, 10):  # written as the run goes: the timeline's settled seconds are appended
        part = _metrics(upto)
        cp.take(part)
    live = _metrics(10)
    snap, open_seconds = cp.take(live)
    assert cp.write(snap, open_seconds, {"started": 5})
    cp.close(remove=False)
    doc, back = read_checkpoint(tmp_path)
    assert (doc["driver"], doc["seed"], doc["started"], doc["version"]) == ("engine", 7, 5, 1)
    _same(m, back)
    assert (tmp_path / CHECKPOINT_TIMELINE).read_bytes().endswith(b"\n")
    assert not (tmp_path / (CHECKPOINT + ".tmp")).exists()


def test_the_timeline_past_a_torn_last_line_is_still_read(tmp_path: Path) -> None:
    cp = Checkpointer(tmp_path, {})
    m = _metrics(8)
    snap, open_seconds = cp.take(m)
    cp.write(snap, open_seconds, {})
    cp.close(remove=False)
    with (tmp_path / CHECKPOINT_TIMELINE).open("ab") as f:
        f.write(b'{"s": 99, "steps": {"take": [1, 0, {"12')  # what a kill mid-append leaves
    _, back = read_checkpoint(tmp_path)
    _same(m, back)


def test_a_checkpoint_is_replaced_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cp = Checkpointer(tmp_path, {})
    snap, open_seconds = cp.take(_metrics(2))
    cp.write(snap, open_seconds, {"n": 1})
    before = (tmp_path / CHECKPOINT).read_bytes()

    def full_disk(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    snap, open_seconds = cp.take(_metrics(4))
    with pytest.raises(OSError):
        cp.write(snap, open_seconds, {"n": 2})
    cp.close(remove=False)
    assert (tmp_path / CHECKPOINT).read_bytes() == before  # the last good one is still there, whole


def test_a_run_that_wrote_its_summary_leaves_no_checkpoint(tmp_path: Path) -> None:
    cp = Checkpointer(tmp_path, {})
    snap, open_seconds = cp.take(_metrics(5))
    cp.write(snap, open_seconds, {})
    cp.close()
    assert list(tmp_path.iterdir()) == []


# --- respondents.jsonl ---------------------------------------------------------------------------
def _line(n: int) -> dict[str, Any]:
    return {"index": n, "persona": "completer", "outcome": "survey_complete"}


def test_a_torn_last_line_is_skipped_and_said(tmp_path: Path) -> None:
    path = tmp_path / "respondents.jsonl"
    path.write_bytes(b"".join(orjson.dumps(_line(n)) + b"\n" for n in range(3)) + b'{"index": 3, "pers')
    lines, torn = read_respondents(path)
    assert [line["index"] for line in lines] == [0, 1, 2] and torn == len(b'{"index": 3, "pers')
    path.write_bytes(b"".join(orjson.dumps(_line(n)) + b"\n" for n in range(3)))
    assert read_respondents(path) == ([_line(n) for n in range(3)], 0)
    path.write_bytes(orjson.dumps(_line(0)))  # parses, but has no newline: a cut write all the same
    assert read_respondents(path) == ([], len(orjson.dumps(_line(0))))


class _ShortWrites:
    """A file whose disk fills up: it takes `room` bytes more, then raises ENOSPC."""

    def __init__(self, real: Any, room: int) -> None:
        self.real, self.room = real, room

    def write(self, data: memoryview) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = min(len(data), self.room)
        self.room -= n
        return int(self.real.write(data[:n]))

    def fileno(self) -> int:
        return int(self.real.fileno())

    def close(self) -> None:
        self.real.close()


def test_a_line_the_disk_cuts_short_is_taken_back(tmp_path: Path) -> None:
    path = tmp_path / "respondents.jsonl"
    log = RespondentLog(path)
    log.write_lines([orjson.dumps(_line(0)) + b"\n"])
    log._file = _ShortWrites(log._file, room=10)  # type: ignore[assignment]
    with pytest.raises(OSError) as raised:
        log.write_lines([orjson.dumps(_line(1)) + b"\n"])
    assert raised.value.errno == errno.ENOSPC
    log.close()
    assert read_respondents(path) == ([_line(0)], 0)  # no half line: the 10 bytes it took are gone
