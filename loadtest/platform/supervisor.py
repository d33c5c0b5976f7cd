"""`loadtest mock --workers N`: N platform processes serving one port and one SQLite file.

The supervisor (this process) binds the port first, with SO_REUSEPORT, and holds it while the
workers bind it too: each worker is a `loadtest mock` of its own, on a shared store
(storage.py, sharing.py), and the kernel spreads new connections over the workers listening.
Only when every worker has said it is ready does the supervisor print the URL, so whoever reads
that line can send traffic at once.

Stopping: SIGINT or SIGTERM here (or end-of-file on `--exit-with-parent-fd`) is passed on to
every worker as SIGTERM; a terminal's Ctrl-C reaches them directly as well. Each worker also
watches a pipe only the supervisor holds, so none outlives it, kill -9 included. A worker that
dies while the others serve stops them all: a platform quietly down to part of its capacity
would make a load test's figures wrong without saying so.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence

from loadtest.platform.embedded import stop as stop_child
from loadtest.platform.server import reserve_port

__all__ = ["supervise"]

READY_TIMEOUT_S = 30.0


def supervise(worker_cmd: Sequence[str], workers: int, host: str, port: int, on_ready: Callable[[str], None],
              parent_fd: int | None = None) -> int:
    """Run `workers` copies of `worker_cmd` (given `--port P --exit-with-parent-fd FD` after it)
    until a signal or a worker's death; the exit status: 0, or 1 when a worker failed."""
    holder = reserve_port(host, port)
    port = holder.getsockname()[1]
    watched, held = os.pipe()
    procs: list[subprocess.Popen[str]] = []
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    # The handler only sets the flag; the byte the wake-up fd gets makes the select return.
    wake, waker = os.pipe()
    os.set_blocking(wake, False)
    os.set_blocking(waker, False)
    previous_waker = signal.set_wakeup_fd(waker)
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for _ in range(workers):
            procs.append(subprocess.Popen(
                [*worker_cmd, "--port", str(port), "--exit-with-parent-fd", str(watched)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, pass_fds=(watched,)))
        os.close(watched)
        url = _wait_ready(procs, wake, lambda: stopping)
        holder.close()
        if url is None:
            return 0 if stopping else 1
        on_ready(url)
        return _serve_until_stopped(procs, wake, lambda: stopping, parent_fd)
    finally:
        holder.close()
        for proc in procs:  # all told at once, so they stop side by side
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            stop_child(proc)  # waits for it (SIGKILL if it will not go) and closes its stdout
        os.close(held)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_waker)
        os.close(wake)
        os.close(waker)


def _wait_ready(procs: list[subprocess.Popen[str]], wake: int, stopping: Callable[[], bool]) -> str | None:
    """Each worker's first stdout line is its URL, once it accepts; the URL, or None if one died
    first (it said why on stderr) or a signal came."""
    waiting = {p.stdout.fileno(): p for p in procs if p.stdout is not None}
    url = None
    while waiting and not stopping():
        readable, _, _ = select.select([*waiting, wake], [], [], READY_TIMEOUT_S)
        if not readable:
            print(f"loadtest mock: {len(waiting)} worker(s) not ready after {READY_TIMEOUT_S:.0f}s; stopping",
                  file=sys.stderr, flush=True)
            return None
        for fd in readable:
            if fd == wake:
                os.read(wake, 512)
                continue
            proc = waiting.pop(fd)
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if not re.fullmatch(r"http://\S+:\d+", line):
                print(f"loadtest mock: worker (pid {proc.pid}) did not start; stopping the others",
                      file=sys.stderr, flush=True)
                return None
            url = line
    return None if stopping() else url


def _serve_until_stopped(procs: list[subprocess.Popen[str]], wake: int, stopping: Callable[[], bool],
                         parent_fd: int | None) -> int:
    # A worker's stdout reaches end-of-file when it exits: one select over them all (and the
    # parent's pipe) wakes on any death, and a signal interrupts it.
    outs = {p.stdout.fileno(): p for p in procs if p.stdout is not None}
    watch = [*outs, wake, *([parent_fd] if parent_fd is not None else [])]
    while not stopping():
        readable, _, _ = select.select(watch, [], [])
        for fd in readable:
            if fd == wake:
                os.read(wake, 512)
                continue
            if fd == parent_fd:
                if not os.read(fd, 512):
                    return 0  # our parent is gone: stop as on SIGTERM
                continue
            proc = outs[fd]
            assert proc.stdout is not None
            if proc.stdout.readline() == "":
                code = proc.wait()
                if stopping():
                    return 0
                print(f"loadtest mock: worker (pid {proc.pid}) exited with status {code}; stopping the others",
                      file=sys.stderr, flush=True)
                return 1
    return 0
