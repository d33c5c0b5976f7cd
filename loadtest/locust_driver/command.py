"""`loadtest locust SCENARIO [locust options...]`: Locust with our users, on our platform.

Runs Locust in a child process (so this one never imports locust) with the package's locustfile
and the scenario; every other option passes through (`--headless -u -r -t`, `--master`,
`--worker`...). With no `--host` and an embedded target it starts the reference platform first,
like `loadtest run`, and stops it after. The exit code is Locust's: 3 when a threshold or check
failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from loadtest.embedded import PlatformStartError, embedded_platform
from loadtest.scenario import ScenarioError, load_scenario
from loadtest.usage import BadInput

__all__ = ["run_locust", "LOCUSTFILE"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def _has_host(args: list[str]) -> bool:
    return any(a in ("--host", "-H") or a.startswith("--host=") for a in args)


def run_locust(scenario: Path, rest: list[str]) -> int:
    try:
        sc = load_scenario(scenario)
    except ScenarioError as exc:
        raise BadInput(str(exc)) from None
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--scenario", str(scenario), *rest]
    if _has_host(rest) or "--worker" in rest:
        return subprocess.call(cmd)
    if sc.target != "embedded":
        return subprocess.call([*cmd, "--host", sc.target])
    try:
        with embedded_platform(sc.survey_files, extra=["--api-key-env", sc.api_key_env]) as platform:
            print(f"loadtest locust: reference platform at {platform.url}", file=sys.stderr, flush=True)
            return subprocess.call([*cmd, "--host", platform.url])
    except PlatformStartError as exc:
        raise BadInput(str(exc)) from None
