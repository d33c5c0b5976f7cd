"""The embedded platform's lifetime: in its own session (a Ctrl-C to the run's process group does
not reach it), and gone, with its temporary files, when the process that started it dies however
it dies. Real processes and real signals; every wait is on a process's exit (pidfd) or a line."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import CUSTOMER, ROOT

# A parent that starts the platform through the same door the drivers use, says what it got and
# waits to be killed. It never stops the platform itself.
PARENT = textwrap.dedent("""
    import re, signal, sys
    from pathlib import Path
    from loadtest.platform.embedded import embedded_platform
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a run that handles Ctrl-C itself
    with embedded_platform([Path(sys.argv[1])]) as p:
        db = re.search(r"; db (\\S+);", p.stderr()).group(1)
        print(p.proc.pid, p.url, db, flush=True)
        sys.stdin.read()  # until killed (or stdin closes)
""")


def _exited(pid: int, timeout: float) -> bool:
    """Wait for `pid` to exit, woken by the kernel (pidfd), not by polling."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


Parent = tuple[subprocess.Popen[str], int, str, Path]


@pytest.fixture
def parent() -> Iterator[Parent]:
    proc = subprocess.Popen([sys.executable, "-c", PARENT, str(CUSTOMER)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert len(line) == 3, "the parent did not start the platform"
    yield proc, int(line[0]), line[1], Path(line[2])
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_the_platform_stops_and_cleans_up_when_its_parent_dies(parent: Parent, how: signal.Signals) -> None:
    proc, platform_pid, url, db = parent
    assert httpx.get(url + "/__admin/health", timeout=10).status_code == 200
    assert db.exists()
    proc.send_signal(how)  # the parent dies without a word to its child
    proc.wait(timeout=30)
    assert _exited(platform_pid, timeout=30), "the platform outlived its parent"
    # Its database and WAL are gone; its log never had a name (an O_TMPFILE). (The temporary
    # folder itself is shared with other processes, so only these paths are checked.)
    assert not db.exists() and not Path(str(db) + "-wal").exists() and not Path(str(db) + "-shm").exists()


def test_a_ctrl_c_to_the_parents_process_group_does_not_reach_the_platform(parent: Parent) -> None:
    proc, platform_pid, url, db = parent
    assert os.getsid(platform_pid) == platform_pid != os.getsid(proc.pid)  # its own session
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the whole foreground group
    assert httpx.get(url + "/__admin/health", timeout=10).status_code == 200  # still there for the run
    assert proc.stdin is not None
    proc.stdin.close()  # the parent's `with` ends: it stops the platform itself
    assert proc.wait(timeout=30) == 0
    assert _exited(platform_pid, timeout=30) and not db.exists()
