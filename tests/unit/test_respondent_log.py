"""respondents.jsonl in batches: lines wait in memory until a batch is due, a flush or close."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.core.flow_values import RespondentResult
from loadtest.results import run_files
from loadtest.results.run_files import RespondentLog, read_respondents

TIMINGS = {"start_s": 0.0, "late_s": 0.0, "duration_s": 1.0, "think_s": 0.5}


def _result(index: int) -> RespondentResult:
    return RespondentResult(index=index, persona="p", seed=1, survey_id=7, transaction_id=f"t-{index}",
                            outcome="survey_complete", pages=[(1, 2), (3,)])


def test_lines_wait_for_a_flush_and_close_writes_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_files, "FLUSH_S", 3600.0)  # only size and explicit flushes write
    path = tmp_path / "respondents.jsonl"
    log = RespondentLog(path)
    log.write(_result(0), TIMINGS)
    log.write(_result(1), TIMINGS)
    assert path.read_bytes() == b""
    log.flush()
    lines, torn = read_respondents(path)
    assert [line["index"] for line in lines] == [0, 1] and torn == 0
    assert lines[0]["pages"] == [[1, 2], [3]] and lines[0]["timings"] == TIMINGS
    log.write(_result(2), TIMINGS)
    log.close()
    assert [line["index"] for line in read_respondents(path)[0]] == [0, 1, 2]


@pytest.mark.parametrize(("flush_s", "flush_bytes"), [(3600.0, 1), (0.0, 1 << 20)],
                         ids=["a full batch goes out at once", "a batch is due once FLUSH_S has passed"])
def test_a_due_batch_is_written_by_the_write_that_makes_it_due(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               flush_s: float, flush_bytes: int) -> None:
    monkeypatch.setattr(run_files, "FLUSH_S", flush_s)
    monkeypatch.setattr(run_files, "FLUSH_BYTES", flush_bytes)
    path = tmp_path / "respondents.jsonl"
    log = RespondentLog(path)
    log.write(_result(0), TIMINGS)
    assert len(read_respondents(path)[0]) == 1
    log.close()
