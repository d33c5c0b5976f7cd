"""Start the reference platform (`loadtest mock`) in its own process, and stop it by PID.

Used by `loadtest run` and `loadtest locust` when no target is given, and by the tests. Ready
means the child printed its URL, which it does only once it accepts connections; so nothing here
sleeps or polls.
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
    db: Path
    stderr_path: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stderr(self) -> str:
        return self.stderr_path.read_text()


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
        if db is None:
            db = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="loadtest-platform-"))) / "platform.db"
        cmd = [sys.executable, "-m", "loadtest.cli", "mock", "--port", str(port), "--db", str(db), *extra]
        for s in surveys:
            cmd += ["--survey", str(s)]
        fd, err_name = tempfile.mkstemp(prefix="loadtest-platform-", suffix=".log")
        err_path = Path(err_name)
        stack.callback(err_path.unlink, missing_ok=True)
        with os.fdopen(fd, "w") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=cwd,
                                    env={**os.environ, **(env or {})})
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()  # the child's readiness signal (or EOF if it died)
            if not re.fullmatch(r"http://\S+:\d+", line):
                proc.kill()
                proc.wait()
                raise PlatformStartError(f"the reference platform did not start: {err_path.read_text().strip()}")
            yield EmbeddedPlatform(url=line, proc=proc, db=db, stderr_path=err_path)
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
