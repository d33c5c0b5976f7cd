"""`loadtest locust SCENARIO [locust options...]`: Locust with our users, on our platform.

Runs Locust in a child process (so this one never imports locust) with the package's locustfile
and the scenario; every other option passes through (`--headless -u -r -t`, `--master`,
`--worker`...). With no `--host` and an embedded target it starts the reference platform first,
like `loadtest run`, and stops it after. The exit code is Locust's: 3 when a threshold or check
failed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from loadtest.embedded import PlatformStartError, embedded_platform
from loadtest.scenario import ScenarioError, load_scenario
from loadtest.usage import BadInput

__all__ = ["run_locust", "LOCUSTFILE"]

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
    except ScenarioError as exc:
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
