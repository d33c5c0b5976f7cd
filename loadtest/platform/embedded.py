"""Start the reference platform (`loadtest mock`) in its own process, and stop it by PID.

Used by `loadtest run` and `loadtest locust` when no target is given, and by the tests. Ready
means the child printed its URL, which it does only once it accepts connections; so nothing here
sleeps or polls.

The child runs in its own session: a terminal's Ctrl-C (SIGINT to the whole foreground process
group) reaches the run, which stops its respondents against a platform that is still there, and
then stops the platform itself. The child watches a pipe only this process holds the write end
of (`--exit-with-parent-fd`): however this process ends, kill -9 included, the kernel closes it
and the platform stops and removes its temporary database. A process given `lifeline` (pass_fds)
holds it too: the platform then stops once both are gone (Locust, finishing its report after
`loadtest locust` died, still has its target). Its stderr goes to an unnamed file
(O_TMPFILE), so nothing is left in the temporary directory either.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["EmbeddedPlatform", "PlatformStartError", "check_faults", "embedded_platform"]

STOP_TIMEOUT_S = 15


class PlatformStartError(RuntimeError):
    pass


def check_faults(scenario_path: Path) -> None:
    """Check a scenario's [faults] table before anything starts: PlatformStartError with one line
    naming the file and the key. The table is the platform's language, so it is read here."""
    import tomllib

    from loadtest.platform.faults.plan import FaultsError, parse_faults

    doc = tomllib.loads(Path(scenario_path).read_text("utf-8"))
    try:
        parse_faults(doc.get("faults", {}), str(scenario_path))
    except FaultsError as exc:
        raise PlatformStartError(str(exc)) from None


@dataclass
class EmbeddedPlatform:
    url: str
    proc: subprocess.Popen[str]
    db: Path | None  # None: the child's own temporary database, which it removes when it stops
    err: IO[bytes]  # the child's stderr: an unnamed file, read without moving its offset
    lifeline: int = -1  # the pipe's write end: pass it to a process the platform must also outlive

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def stderr_path(self) -> Path:
        return Path(f"/proc/self/fd/{self.err.fileno()}")

    def stderr(self) -> str:
        return _read_all(self.err).decode("utf-8", "replace")


def _read_all(err: IO[bytes]) -> bytes:
    return os.pread(err.fileno(), os.fstat(err.fileno()).st_size, 0)  # the child shares the offset


@contextlib.contextmanager
def embedded_platform(
    surveys: Sequence[Path],
    db: Path | None = None,
    port: int = 0,
    env: dict[str, str] | None = None,
    extra: Sequence[str] = (),
    cwd: Path | None = None,
) -> Iterator[EmbeddedPlatform]:
    with contextlib.ExitStack() as stack:
        cmd = [sys.executable, "-m", "loadtest.cli", "mock", "--port", str(port), *extra]
        if db is not None:
            cmd += ["--db", str(db)]
        for s in surveys:
            cmd += ["--survey", str(s)]
        err = stack.enter_context(tempfile.TemporaryFile(prefix="loadtest-platform-"))
        watched, held = os.pipe()  # both ends close-on-exec: only the child gets `watched`, by pass_fds
        stack.callback(os.close, held)
        cmd += ["--exit-with-parent-fd", str(watched)]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True,
                                    cwd=cwd, env={**os.environ, **(env or {})}, start_new_session=True,
                                    pass_fds=(watched,))
        finally:
            os.close(watched)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()  # the child's readiness signal (or EOF if it died)
            if not re.fullmatch(r"http://\S+:\d+", line):
                proc.kill()
                proc.wait()
                raise PlatformStartError("the reference platform did not start: "
                                         + _read_all(err).decode("utf-8", "replace").strip())
            yield EmbeddedPlatform(url=line, proc=proc, db=db, err=err, lifeline=held)
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the child we started, then SIGKILL if it will not go."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
