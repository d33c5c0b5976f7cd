"""The files a run writes into reports/<run-id>/: summary.json and respondents.jsonl.

respondents.jsonl is appended as respondents finish, in batches of whole lines: one write(2) to
an unbuffered file once FLUSH_S has passed since the last or FLUSH_BYTES are waiting (one write a
respondent cost ~4 µs a request on the engine's loop, bench/engine_logic_cost.py). The drivers also
flush before a respondent's completion callback goes out and before every checkpoint, so a runner
killed outright loses the respondents still in flight and the finished ones since the last flush
(FLUSH_S while respondents keep finishing; when they stop, the next checkpoint's flush, at most
CHECKPOINT_S later), none of which has a callback sent or is counted in checkpoint.json. A write
the disk cuts short (ENOSPC) is taken back to the end of the previous batch before the error is
raised, so the file never ends in half a line that way (the refused batch is lost; the run stops
on it). A kill can still cut the one write in flight: `read_respondents` skips a torn last line
and says so.
"""

from __future__ import annotations

import datetime
import errno
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import orjson

from loadtest.core.flow import RespondentResult

__all__ = ["EXIT_WRITE_FAILED", "FLUSH_BYTES", "FLUSH_S", "RespondentLog", "RunFilesError", "check_output_paths",
           "new_run_dir", "read_respondents", "respondent_line", "run_transaction_prefix", "write_error",
           "write_summary"]


class RunFilesError(Exception):
    """A reports folder or recording path that cannot be written; str() is one line naming it."""


def _probe_dir(path: Path, what: str) -> None:
    """`path`, or the nearest folder above it that exists, takes a new file (tried, then removed:
    permissions alone do not say it for root, nor for a read-only mount)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise RunFilesError(f"{what}: {path}: expected a folder ({probe} is a file)")
    try:
        fd, name = tempfile.mkstemp(prefix=".loadtest-probe-", dir=probe)
    except OSError as exc:
        raise RunFilesError(f"{what}: {path}: expected a folder loadtest can write in ({probe}: "
                            f"{exc.strerror})") from None
    os.close(fd)
    os.unlink(name)


def check_output_paths(reports: Path, record: Path | None = None, reports_option: str = "--reports") -> None:
    """Before any load: the run folder can be made under `reports`, and `record` written.
    RunFilesError (one line) if not; nothing is left behind either way."""
    _probe_dir(reports, reports_option)
    if record is not None:
        if record.is_dir():
            raise RunFilesError(f"--record: {record}: expected a file to write (it is a folder)")
        if record.exists() and not os.access(record, os.W_OK):
            raise RunFilesError(f"--record: {record}: expected a file loadtest can write (permission denied)")
        parent = record.parent if str(record.parent) else Path(".")
        if parent.exists() and not parent.is_dir():
            raise RunFilesError(f"--record: {record}: expected a file in a folder ({parent} is a file)")
        if not parent.exists():  # the recorder opens the file; it makes no folders
            raise RunFilesError(f"--record: {record}: expected its folder {parent} to exist")
        _probe_dir(parent, "--record")


FLUSH_S = 0.5  # a batch waits at most this long for the next respondent to finish (see the top)
FLUSH_BYTES = 64 * 1024
EXIT_WRITE_FAILED = 1  # a run stopped by a file it could not write exits as a crash does (cli's EXIT_CRASH)

# Errors of the disk rather than of the run: it stops with one line naming the file, not a traceback.
DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO})


def write_error(exc: BaseException) -> str | None:
    """One line for an OSError the disk raised ("…: No space left on device"); None for others."""
    if not isinstance(exc, OSError) or exc.errno not in DISK_ERRORS:
        return None
    return f"{exc.filename or 'a run file'}: {exc.strerror or os.strerror(exc.errno or 0)}"


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
        except OSError as exc:  # checked before (check_output_paths), but the disk may have changed since
            raise RunFilesError(f"--reports: {reports}: cannot make the run folder ({exc.strerror})") from None
    raise RunFilesError(f"--reports: {reports}: cannot make a run folder (1,000 of today's names are taken)")


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
        self._file: IO[bytes] = path.open("ab", buffering=0)
        self._end = os.fstat(self._file.fileno()).st_size  # where the last whole line ends
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._written_at = time.monotonic()

    def write(self, result: RespondentResult, timings: dict[str, float]) -> None:
        line = respondent_line(result, timings)
        self._pending.append(line)
        self._pending_bytes += len(line)
        if self._pending_bytes >= FLUSH_BYTES or time.monotonic() - self._written_at >= FLUSH_S:
            self.flush()

    def write_lines(self, lines: list[bytes]) -> None:
        """Lines already made by respondent_line (a Locust worker's batch, shipped to the master)."""
        self._pending.extend(lines)
        self.flush()

    def flush(self) -> None:
        """Every line written so far onto the disk, in one write."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        self._written_at = time.monotonic()
        self._append(data)

    def _append(self, data: bytes) -> None:
        view, done = memoryview(data), 0
        try:
            while done < len(data):  # a regular file takes it in one write unless the disk is full
                done += self._file.write(view[done:]) or 0
        except OSError as exc:
            if done:
                os.ftruncate(self._file.fileno(), self._end)  # no half line left behind
            exc.filename = exc.filename or str(self.path)
            raise
        self._end += len(data)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed


def read_respondents(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Every whole line of a respondents.jsonl, and the length in bytes of a torn last line that
    was skipped (0 when the file ends with a whole line). A line ends with its newline: text
    after the last one was cut by a kill mid-write, however it parses."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    return [orjson.loads(line) for line in data[:end].split(b"\n") if line.strip()], len(data) - end


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    except OSError as exc:  # a full disk: no half file left, and the error names the file meant
        tmp.unlink(missing_ok=True)
        exc.filename = exc.filename or str(path)
        raise
    tmp.replace(path)
