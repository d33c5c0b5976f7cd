"""SIGINT and SIGTERM for `loadtest run`: one graceful path, from the scenario read to the report.

Theory of operation. The handlers are Python-level (`signal.signal`), installed before the target
starts and kept until the report is written, so a signal is never a KeyboardInterrupt through
half-written files and SIGTERM (`timeout`, CI runners, container stops) is no harsher than
Ctrl-C. A handler only counts the signal; while the run's event loop is attached it hands the
count to the loop (`call_soon_threadsafe`), where the run acts on it:

    1st signal   no new respondents (nor ingestion); those in flight finish; the checks and the
                 report follow, and the run is marked interrupted
    2nd signal   the respondents (and any check) in flight are cancelled and counted; the report
                 is written with what there is

A signal that comes before the loop is attached (the platform still starting) is replayed when
it attaches, so the run starts no respondent at all.

A run file that cannot be written (a full disk) stops the run the same way as a second signal,
with one line naming the file (`failed`); the run then writes what still fits and exits 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TextIO

__all__ = ["Stopping"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopping:
    def __init__(self, err: TextIO = sys.stderr) -> None:
        self.signals: list[str] = []  # names, in the order received
        self.cancelled_in_flight: int | None = None  # respondents cancelled by a second signal
        self.write_failure: str | None = None  # "<file>: No space left on device", once a run file failed
        self._on_failure: Callable[[], None] | None = None
        self._err = err
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hook: Callable[[int], None] | None = None

    @property
    def interrupted(self) -> bool:
        return bool(self.signals)

    @contextlib.contextmanager
    def installed(self) -> Iterator[Stopping]:
        previous = {sig: signal.signal(sig, self._received) for sig in SIGNALS}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _received(self, signum: int, _frame: FrameType | None) -> None:
        self.signals.append(signal.Signals(signum).name)
        loop, hook = self._loop, self._hook
        if loop is not None and hook is not None:
            loop.call_soon_threadsafe(hook, len(self.signals))
        elif len(self.signals) == 1:
            self.say(f"{self.signals[0]}: stopping; the report is still written")

    def attach(self, loop: asyncio.AbstractEventLoop, hook: Callable[[int], None],
               on_failure: Callable[[], None] | None = None) -> None:
        """From now on `hook(count)` runs on `loop` for each signal; signals already received are
        replayed to it. `on_failure` (on the loop's thread) stops everything in flight."""
        self._loop, self._hook, self._on_failure = loop, hook, on_failure
        for count in range(1, len(self.signals) + 1):
            hook(count)
        if self.write_failure is not None and on_failure is not None:  # a file failed before the loop ran
            on_failure()

    def detach(self) -> None:
        self._loop = self._hook = self._on_failure = None

    def failed(self, line: str, then: str = "stopping the run; writing what still fits") -> None:
        """A run file could not be written: say so once, and stop the run (on the loop's thread)."""
        if self.write_failure is not None:
            return
        self.write_failure = line
        self.say(f"loadtest run: {line}: {then}")
        if self._on_failure is not None:
            self._on_failure()

    def say(self, line: str) -> None:
        print(f"\n{line}", file=self._err, flush=True)

    def report(self) -> dict[str, Any] | None:
        """summary.json's `interruption` (None when the run ended by itself)."""
        if not self.signals:
            return None
        out: dict[str, Any] = {"signal": self.signals[0], "signals": len(self.signals)}
        if self.cancelled_in_flight is not None:
            out["cancelled_in_flight"] = self.cancelled_in_flight
        return out
