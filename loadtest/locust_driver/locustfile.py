"""The locustfile: `locust -f loadtest/locust_driver/locustfile.py --scenario FILE [locust options]`.

Loads the scenario, prepares the respondents and hands them to RespondentUser. When the test
stops, it writes reports/<run-id>/summary.json and respondents.jsonl (the schema `loadtest run`
writes) and sets the exit code: 3 when a threshold or check failed.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from locust import events
from locust.runners import WorkerRunner

from loadtest.locust_driver.state import DriverState, build_state
from loadtest.locust_driver.user import RespondentUser
from loadtest.scenario import ScenarioError

__all__ = ["RespondentUser"]

_state: dict[str, DriverState] = {}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--scenario", default=os.environ.get("LOADTEST_SCENARIO", ""),
                        help="loadtest scenario file (TOML)", include_in_web_ui=True)
    parser.add_argument("--reports", default="reports", help="where the run folder goes")


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    opts = environment.parsed_options
    if not opts.scenario:
        print("locust: --scenario: expected a loadtest scenario file", file=sys.stderr)
        sys.exit(2)
    if not environment.host:
        print("locust: --host: expected the survey API's base URL (loadtest locust starts one for you)",
              file=sys.stderr)
        sys.exit(2)
    runner = environment.runner
    worker = runner.worker_index if isinstance(runner, WorkerRunner) else 0
    try:
        state = build_state(opts.scenario, environment.host, opts.reports, worker)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
    RespondentUser.state = state
    _state["run"] = state


@events.test_stop.add_listener
def _stopped(environment: Any, **_: Any) -> None:
    state = _state.get("run")
    if state is None or state.metrics.respondents == 0:
        return
    own = {e.name: {"count": e.num_requests, "failures": e.num_failures} for e in environment.stats.entries.values()}
    summary = state.report(own)
    print(f"loadtest: {summary['respondents']} respondents, unexpected {summary['unexpected']}, "
          f"{'PASSED' if summary['passed'] else 'FAILED'} -> {summary['run_dir']}", file=sys.stderr)
    if not summary["passed"]:
        environment.process_exit_code = 3
