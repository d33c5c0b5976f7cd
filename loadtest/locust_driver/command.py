"""`loadtest locust SCENARIO [locust options...]`: Locust with our users, on our platform.

Runs Locust in a child process (so this one never imports locust) with the package's locustfile
and the scenario; every other option passes through (`--headless -u -r -t`, `--master`,
`--worker`...). With no `--host` and an embedded target it starts the reference platform first,
like `loadtest run`, and stops it after. The exit code is Locust's: 3 when a threshold or check
failed.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from loadtest.core.usage import BadInput
from loadtest.platform.embedded import PlatformStartError, check_faults, embedded_platform
from loadtest.scenario.file import ScenarioError, load_scenario

__all__ = ["LOCUSTFILE", "add_parser", "main", "run_locust"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def _has_host(args: list[str]) -> bool:
    return any(a in ("--host", "-H") or a.startswith("--host=") for a in args)


def _run(cmd: list[str]) -> int:
    """Run Locust and pass SIGINT / SIGTERM on to it, so it stops the way it does by itself
    (summary written, workers told) before the platform under it is stopped."""
    child = subprocess.Popen(cmd)

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_locust(scenario: Path, rest: list[str]) -> int:
    try:
        sc = load_scenario(scenario)
        if sc.faults:
            check_faults(sc.path)
    except (ScenarioError, PlatformStartError) as exc:
        raise BadInput(str(exc)) from None
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--scenario", str(scenario), *rest]
    if _has_host(rest) or "--worker" in rest:
        return _run(cmd)
    if sc.target != "embedded":
        return _run([*cmd, "--host", sc.target])
    try:
        extra = ["--api-key-env", sc.api_key_env] + (["--faults", str(scenario)] if sc.faults else [])
        with embedded_platform(sc.survey_files, extra=extra) as platform:
            print(f"loadtest locust: reference platform at {platform.url}", file=sys.stderr, flush=True)
            return _run([*cmd, "--host", platform.url])
    except PlatformStartError as exc:
        raise BadInput(str(exc)) from None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    loc = sub.add_parser("locust", help="run a scenario with Locust (web UI by default; options pass through)",
                         prefix_chars="+")
    loc.add_argument("scenario", type=Path, metavar="SCENARIO")
    loc.add_argument("locust_args", nargs=argparse.REMAINDER, metavar="LOCUST OPTIONS",
                     help="passed to locust as they are, e.g. --headless -u 50 -r 10 -t 60s")
    loc.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    return run_locust(args.scenario, args.locust_args)
