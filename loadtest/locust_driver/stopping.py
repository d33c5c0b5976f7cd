"""SIGINT and SIGTERM for a Locust process: one graceful path, the one `loadtest run` has.

Theory of operation. Locust 2.47 quits on SIGTERM through its own handler (`shutdown()`), and on
SIGINT through a KeyboardInterrupt in its main greenlet; both decide the process's exit code
*before* they stop the test, so a test stopped either way wrote its summary too late to count
(FAILED printed, exit 0), and a second SIGINT raised into the middle of the stop (a traceback,
exit 254, no summary). Here:

- SIGINT gets a gevent handler of ours (Locust registers none), so it never becomes a
  KeyboardInterrupt;
- SIGTERM stays Locust's, but Locust's shutdown fires `quitting` first, and our listener stops
  the test there (summary written, exit code set) before Locust reads the exit code.

    1st signal   the test stops as Locust stops it (users get `--stop-timeout` to finish their
                 respondent; those cut off are `incomplete`), callbacks drain, the checks run,
                 summary.json is written marked interrupted, and Locust exits 4
    2nd signal   what is still in flight is cancelled and counted: users still finishing, the
                 callback drain, the master's wait for its workers' final reports

A `quitting` with a test still running and no signal of ours seen is Locust's SIGTERM handler:
nothing else in Locust quits without stopping the test first.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event

from loadtest.locust_driver.state import TestRun

__all__ = ["Stopping"]


class Stopping:
    def __init__(self, environment: Any, current: Callable[[], TestRun | None]) -> None:
        self.environment = environment
        self.current = current
        self.signals: list[str] = []
        self.cancelled = gevent.event.Event()  # set by a second signal
        self._stopper: gevent.Greenlet | None = None
        self._our_quit = False  # the quit we asked for ourselves after a SIGINT
        self._quitting_seen = False  # Locust's shutdown has begun (a second one is a second SIGTERM)
        self._handle: Any = None

    def install(self) -> None:
        self._handle = gevent.signal_handler(signal.SIGINT, self.received, "SIGINT")
        self.environment.events.quitting.add_listener(self._quitting)

    @property
    def interruption(self) -> dict[str, Any] | None:
        if not self.signals:
            return None
        return {"signal": self.signals[0], "signals": len(self.signals)}

    def received(self, name: str) -> None:
        self.signals.append(name)
        run = self.current()
        in_flight = _in_flight(run)
        if len(self.signals) == 1:
            if run is not None and run.active:
                run.interruption = self.interruption
            timeout = getattr(self.environment, "stop_timeout", 0) or 0
            how = (f"their respondents have {timeout:g} s to finish (--stop-timeout)" if timeout else
                   "their respondents are cut off (incomplete)")
            _say(f"{name}: stopping the test: {in_flight} respondents in flight, {how}; callbacks drain, the "
                 "report is still written (again to cancel what is in flight)")
            self._stopper = gevent.spawn(self._stop, name == "SIGINT")
            return
        if self.cancelled.is_set():
            return
        self.cancelled.set()
        if run is not None:
            run.cancel()
            if run.interruption is not None:
                run.interruption = {**self.interruption, "cancelled_in_flight": in_flight}  # type: ignore[dict-item]
        users = getattr(self.environment.runner, "user_greenlets", None)
        if users is not None:
            users.kill(block=False)
        _say(f"{name}: cancelling the {in_flight} respondents in flight and the callback drain; writing the report")

    def _stop(self, then_quit: bool) -> None:
        runner = self.environment.runner
        runner.stop()  # fires test_stop: the summary, marked interrupted
        if then_quit:
            self._our_quit = True
            runner.quit()

    def _quitting(self, **_: Any) -> None:
        again, self._quitting_seen = self._quitting_seen, True
        if self._our_quit and not again:  # Locust quitting because we asked it to
            self._our_quit = False
        else:
            run = self.current()
            if self._stopper is None and (run is None or not run.active):
                return  # the test had ended by itself: an ordinary quit
            self.received("SIGTERM")
        stopper = self._stopper
        if stopper is not None and stopper is not gevent.getcurrent():
            stopper.join()  # Locust reads the exit code as soon as we return
        if again:  # the first shutdown exits the process; a second sys.exit would only print a traceback
            gevent.event.Event().wait()


def _in_flight(run: TestRun | None) -> int:
    if run is None:
        return 0
    return max(0, sum(run.started_total.values()) - run.metrics.respondents)


def _say(line: str) -> None:
    print(f"\nloadtest: {line}", file=sys.stderr, flush=True)
