"""The files a run writes into reports/<run-id>/: summary.json and respondents.jsonl.

respondents.jsonl is appended and flushed as each respondent finishes, so a runner killed
mid-run loses at most the respondents that were still in flight.
"""

from __future__ import annotations

import datetime
import secrets
from pathlib import Path
from typing import IO, Any

import orjson

from loadtest.core.flow import RespondentResult

__all__ = ["RespondentLog", "new_run_dir", "respondent_line", "run_transaction_prefix", "write_summary"]


def new_run_dir(reports: Path, name: str, seed: int) -> Path:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    base = f"{name}-{stamp}-s{seed}"
    for n in range(1000):
        path = reports / (base if n == 0 else f"{base}-{n}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot make a run directory under {reports}")


def run_transaction_prefix(seed: int, configured: str | None) -> str:
    """What every transaction id of a run starts with: the scenario's `transaction_prefix`, or
    the seed and a random run id (`lt42-3f9a1c`), so that running a scenario again against a
    target that remembers finished transactions does not meet only `already_completed`."""
    return configured or f"lt{seed}-{secrets.token_hex(3)}"


def respondent_line(result: RespondentResult, timings: dict[str, float]) -> bytes:
    """One JSON line. orjson serialises the dataclass itself (dataclasses.asdict deep-copies it
    first, which cost ~60 us per request on the bench); the timings are spliced in after."""
    return orjson.dumps(result)[:-1] + b',"timings":' + orjson.dumps(timings) + b"}\n"


class RespondentLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] = path.open("ab")

    def write(self, result: RespondentResult, timings: dict[str, float]) -> None:
        self._file.write(respondent_line(result, timings))
        self._file.flush()

    def write_lines(self, lines: list[bytes]) -> None:
        """Lines already made by respondent_line (a Locust worker's, shipped to the master)."""
        self._file.write(b"".join(lines))
        self._file.flush()

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    tmp.replace(path)
