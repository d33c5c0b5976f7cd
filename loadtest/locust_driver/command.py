"""`loadtest locust SCENARIO [locust options...]`: Locust with our users, on our platform.

Runs Locust in a child process (so this one never imports locust) with the package's locustfile
and the scenario; every other option passes through (`--headless -u -r -t`, `--master`,
`--worker`...). With no `--host` and an embedded target it starts the reference platform first,
like `loadtest run`, and stops it after. Before Locust starts, the target is checked like
`loadtest run` checks it (preflight; `--no-preflight` skips it). The exit code is Locust's: 3 when
a threshold or check failed.

The subcommand's parser takes no options of its own (Locust's pass through untouched), so `-h` /
`--help` and `--no-preflight` are picked out here; the help shows our options, then Locust's.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from loadtest.control.preflight import Credentials, PreflightError, preflight
from loadtest.core.usage import BadInput
from loadtest.local_defaults import DEFAULT_API_KEY, DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET
from loadtest.locust_driver.options import add_options
from loadtest.locust_driver.ui_defaults import scenario_defaults
from loadtest.platform.embedded import PlatformStartError, check_faults, embedded_platform
from loadtest.results.run_files import RunFilesError, check_output_paths, run_transaction_prefix
from loadtest.scenario.file import Scenario, ScenarioError, load_scenario

__all__ = ["LOCUSTFILE", "add_parser", "main", "run_locust"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
HELP = ("-h", "--help")
NO_PREFLIGHT = "--no-preflight"
EXAMPLES = """examples:
  loadtest locust scenarios/smoke.toml                          the web UI (http://localhost:8089)
  loadtest locust s.toml --headless -u 50 -r 10 -t 60s          headless, for CI
  loadtest locust s.toml --personas "completer=5,screenout=0" --limits "survey=5"
  loadtest locust s.toml --master --expect-workers 2            and on each worker machine:
  loadtest locust s.toml --worker --master-host 10.0.0.5
  LOADTEST_API_KEY=... loadtest locust s.toml --host https://staging.example.com --no-preflight
"""


def _has_host(args: list[str]) -> bool:
    return any(a in ("--host", "-H") or a.startswith("--host=") for a in args)


def _die_with_parent(parent: int) -> Callable[[], None]:
    """Between fork and exec in the child: SIGTERM it when this process dies (Linux's parent-death
    signal), so a `loadtest locust` killed outright takes its Locust down the graceful way."""
    libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None

    def arm() -> None:
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # died before the line above: no signal will come
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def _run(cmd: list[str], lifeline: int | None = None) -> int:
    """Run Locust and pass SIGINT / SIGTERM on to it, so it stops the way it does by itself
    (summary written, workers told) before the platform under it is stopped.

    Locust runs in its own session, so each signal reaches it once, from here: a terminal's
    Ctrl-C goes to the terminal's foreground process group, which is this process's and no longer
    Locust's (when both got it, Locust had it twice and its stop broke: a traceback, exit 254,
    no summary). A second Ctrl-C is passed on as well: the way to cancel what is in flight.
    `lifeline`: the embedded platform's (embedded.py), so that it outlives Locust's own stop."""
    child = subprocess.Popen(cmd, start_new_session=True, preexec_fn=_die_with_parent(os.getpid()),
                             pass_fds=() if lifeline is None else (lifeline,))

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _option(args: list[str], name: str) -> str | None:
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def _host(args: list[str]) -> str | None:
    for i, a in enumerate(args):
        if a.startswith("--host="):
            return a.split("=", 1)[1]
        if a in ("--host", "-H") and i + 1 < len(args):
            return args[i + 1]
    return None


def _preflight(sc: Scenario, url: str) -> None:
    """The check `loadtest run` makes, with the keys the locustfile will use."""
    panel = sc.panel
    creds = Credentials(os.environ.get(sc.api_key_env) or DEFAULT_API_KEY,
                        (os.environ.get(panel.api_key_env) if panel else "") or DEFAULT_PANEL_API_KEY,
                        (os.environ.get(panel.secret_env) if panel else "") or DEFAULT_PANEL_SECRET)
    try:
        lines = preflight(sc, url, creds, run_transaction_prefix(sc.seed, sc.transaction_prefix))
    except PreflightError as exc:
        raise BadInput(str(exc)) from None
    for line in lines:
        print(line, file=sys.stderr, flush=True)


def run_locust(scenario: Path, rest: list[str], check_target: bool = True) -> int:
    try:
        sc = load_scenario(scenario)
        if sc.faults:
            check_faults(sc.path)
    except (ScenarioError, PlatformStartError) as exc:
        raise BadInput(str(exc)) from None
    # The scenario's users and spawn rate (and a loopback-only web UI over our own platform) unless given.
    embedded = sc.target == "embedded" and not _has_host(rest)
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--scenario", str(scenario), *rest,
           *scenario_defaults(sc, rest, embedded)]
    if "--worker" in rest:  # the master checked the target, and a worker writes no run folder
        return _run(cmd)
    try:  # where the run folder goes, before anything starts: one line and exit 2
        check_output_paths(Path(_option(rest, "--reports") or "reports"))
    except RunFilesError as exc:
        raise BadInput(str(exc)) from None
    if _has_host(rest):
        host = _host(rest)
        if check_target and host:
            _preflight(sc, host)
        return _run(cmd)
    if sc.target != "embedded":
        if check_target:
            _preflight(sc, sc.target)
        return _run([*cmd, "--host", sc.target])
    try:
        extra = ["--api-key-env", sc.api_key_env] + (["--faults", str(scenario)] if sc.faults else [])
        with embedded_platform(sc.survey_files, extra=extra) as platform:
            print(f"loadtest locust: reference platform at {platform.url}", file=sys.stderr, flush=True)
            if check_target:
                _preflight(sc, platform.url)
            return _run([*cmd, "--host", platform.url], platform.lifeline)
    except PlatformStartError as exc:
        raise BadInput(str(exc)) from None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    loc = sub.add_parser("locust", help="run a scenario with Locust (web UI by default; options pass through)",
                         prefix_chars="+", add_help=False)
    loc.add_argument("scenario", type=Path, metavar="SCENARIO")
    loc.add_argument("locust_args", nargs=argparse.REMAINDER, metavar="LOCUST OPTIONS",
                     help="passed to locust as they are, e.g. --headless -u 50 -r 10 -t 60s")
    loc.set_defaults(handler=main)


def help_text() -> str:
    """Our part of `loadtest locust --help`: the subcommand's own options and the locustfile's."""
    parser = argparse.ArgumentParser(
        prog="loadtest locust", usage="loadtest locust SCENARIO [--no-preflight] [options] [locust options...]",
        description="Run a scenario with Locust's users: the web UI by default, --headless for CI,\n"
                    "--master / --worker for a cluster. With no --host and an embedded target, the\n"
                    "reference platform is started first. Every option but --no-preflight passes\n"
                    "through to Locust.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter, add_help=False)
    parser.add_argument("scenario", metavar="SCENARIO", help="the loadtest scenario file (TOML)")
    parser.add_argument("-h", "--help", action="store_true", help="show this help, then Locust's own")
    parser.add_argument(NO_PREFLIGHT, action="store_true",
                        help="skip the take (and DIY API call) that checks the target before Locust starts")
    add_options(parser.add_argument_group("loadtest options (the locustfile's; shown in the web UI's custom "
                                          "parameters where they can change per test)"), None, web_ui=False)
    return parser.format_help()


def _show_help() -> int:
    print(help_text(), flush=True)
    print("Locust's own options (every one passes through):", flush=True)
    return subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--help"], check=False).returncode


def main(args: argparse.Namespace) -> int:
    tokens = [str(args.scenario), *args.locust_args]
    if any(t in HELP for t in tokens):
        return _show_help()
    check_target = NO_PREFLIGHT not in tokens
    tokens = [t for t in tokens if t != NO_PREFLIGHT]
    if not tokens or tokens[0].startswith("-"):
        raise BadInput(f"loadtest locust: SCENARIO: expected the scenario file first (got "
                       f"{tokens[0] if tokens else 'nothing'!r}); see loadtest locust --help")
    return run_locust(Path(tokens[0]), tokens[1:], check_target)
