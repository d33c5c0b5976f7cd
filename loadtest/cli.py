"""The `loadtest` command line. Exit codes: 0 passed, 1 crashed, 2 bad input, 3 a check failed."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from loadtest.usage import BadInput

if TYPE_CHECKING:
    from loadtest.platform.faults import FaultPlan

__all__ = ["main", "EXIT_OK", "EXIT_CRASH", "EXIT_BAD_INPUT", "EXIT_CHECK_FAILED"]

EXIT_OK, EXIT_CRASH, EXIT_BAD_INPUT, EXIT_CHECK_FAILED = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loadtest", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    mock = sub.add_parser("mock", help="serve the reference survey platform")
    mock.add_argument("--survey", action="append", default=[], metavar="FILE",
                      help="survey TOML (repeatable; default: every scenarios/surveys/*.toml here)")
    mock.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    mock.add_argument("--port", type=int, default=8080, help="port (0 picks a free one; default 8080)")
    mock.add_argument("--db", default=None, metavar="FILE", help="SQLite database (default: a temporary file)")
    mock.add_argument("--api-key-env", default="LOADTEST_API_KEY", metavar="NAME",
                      help="environment variable holding the api-key clients must send "
                           "(unset: the local default 'loadtest-local-key')")
    mock.add_argument("--faults", type=Path, default=None, metavar="FILE",
                      help="TOML file whose [faults] table (or whole content) says what to inject (see faults.py); "
                           "changeable at run time with PUT /__admin/faults")
    mock.add_argument("--admin-token-env", default="LOADTEST_ADMIN_TOKEN", metavar="NAME",
                      help="environment variable holding a token /__admin/* then requires as "
                           "'Authorization: Bearer' (unset: admin endpoints are open, for local use)")
    mock.add_argument("--data-token-env", default="LOADTEST_DATA_TOKEN", metavar="NAME",  # issue 6 part 4
                      help="environment variable holding the bearer token of the respondent data API "
                           "(unset: the local default 'loadtest-local-data-token')")
    run = sub.add_parser("run", help="run a scenario with the anyio engine (headless) and write reports/<run-id>/")
    run.add_argument("scenario", type=Path, metavar="SCENARIO")
    run.add_argument("--target", default=None, metavar="URL",
                     help="base URL of the survey API (default: the scenario's; 'embedded' starts the reference platform)")
    run.add_argument("--respondents", type=int, default=None, metavar="N", help="closed model: respondents in all")
    run.add_argument("--duration", type=float, default=None, metavar="S", dest="duration_s",
                     help="closed: stop starting respondents after S seconds; open: the arrival window")
    run.add_argument("--seed", type=int, default=None, metavar="N", help="scenario seed (same seed, same respondents)")
    run.add_argument("--record", type=Path, default=None, metavar="FILE",
                     help="write every request and reply (secrets redacted) as JSON lines, for replay")
    run.add_argument("--reports", type=Path, default=Path("reports"), metavar="DIR", help="where run folders go")
    rep = sub.add_parser("report", help="re-render a run folder's report; compare it with a baseline run")
    rep.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    rep.add_argument("--baseline", type=Path, default=None, metavar="RUN_DIR",
                     help="a previous run folder: print and write the comparison; exit 3 on a regression")
    _replay_parser(sub)
    loc = sub.add_parser("locust", help="run a scenario with Locust (web UI by default; options pass through)",
                         prefix_chars="+")
    loc.add_argument("scenario", type=Path, metavar="SCENARIO")
    loc.add_argument("locust_args", nargs=argparse.REMAINDER, metavar="LOCUST OPTIONS",
                     help="passed to locust as they are, e.g. --headless -u 50 -r 10 -t 60s")
    return parser


def _run(args: argparse.Namespace) -> int:
    from loadtest.runs import RunOptions, run

    return run(RunOptions(scenario=args.scenario, target=args.target, respondents=args.respondents,
                          duration_s=args.duration_s, seed=args.seed, record=args.record, reports=args.reports))


# --- loadtest replay (issue 6, part 3) -----------------------------------------------------------
def _replay_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rp = sub.add_parser("replay", help="walk recorded respondents again against a target, diff the replies")
    rp.add_argument("recording", type=Path, metavar="RECORDING", help="a file from `loadtest run --record`")
    rp.add_argument("--target", default=None, metavar="URL",
                    help="base URL of the survey API (default: the reference platform, recorded surveys)")
    rp.add_argument("--survey", action="append", type=Path, default=[], metavar="FILE",
                    help="survey TOML for the started platform (repeatable; default: the recorded files)")
    rp.add_argument("--report", type=Path, default=None, metavar="DIR",
                    help="write DIR/replay.json with every divergence")
    rp.add_argument("--concurrency", type=int, default=8, metavar="N",
                    help="--order free: respondents replayed at once (default 8)")
    rp.add_argument("--timeout", type=float, default=10.0, metavar="S", dest="timeout_s",
                    help="per-request timeout in seconds (default 10)")
    rp.add_argument("--max-requests", type=int, default=200, metavar="N",
                    help="cap on requests per respondent (default 200)")
    rp.add_argument("--think-scale", type=float, default=1.0, metavar="F",
                    help="times the recorded think times (default 1; 0: none, which a speeder check sees)")
    rp.add_argument("--suffix", default=None, metavar="S",
                    help="transaction ids become T-S (default: rp + 6 random hex digits)")
    rp.add_argument("--order", choices=("recorded", "free"), default="recorded",
                    help="recorded: one request at a time in the recorded order (default); "
                         "free: --concurrency respondents at once, each at its own pace")


def _replay(args: argparse.Namespace) -> int:
    from loadtest.replay.command import ReplayCommand, replay

    return replay(ReplayCommand(
        recording=args.recording, target=args.target, surveys=args.survey, report=args.report,
        concurrency=args.concurrency, timeout_s=args.timeout_s, max_requests=args.max_requests,
        think_scale=args.think_scale, suffix=args.suffix, order=args.order))
# --- end loadtest replay ---------------------------------------------------------------------------


def _mock(args: argparse.Namespace) -> int:
    from loadtest.platform.app import DEFAULT_API_KEY, DEFAULT_DATA_TOKEN, Platform, PlatformConfig
    from loadtest.platform.server import ServerError, serve
    from loadtest.platform.storage import Store
    from loadtest.platform.survey_file import SurveyFileError, load_survey
    from loadtest.platform.theoremreach import DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET

    files = args.survey or sorted(str(p) for p in Path("scenarios/surveys").glob("*.toml"))
    if not files:
        raise BadInput("loadtest mock: --survey: expected at least one survey file (none given, "
                       "and no scenarios/surveys/*.toml in the current directory)")
    try:
        surveys = [load_survey(f) for f in files]
    except SurveyFileError as exc:
        raise BadInput(str(exc)) from None
    ids = [s.id for s in surveys]
    if len(set(ids)) != len(ids):
        raise BadInput(f"loadtest mock: --survey: expected distinct survey ids (got {ids})")
    if not 0 <= args.port <= 65535:
        raise BadInput(f"loadtest mock: --port: expected 0..65535 (got {args.port})")
    api_key = os.environ.get(args.api_key_env) or DEFAULT_API_KEY
    panel_key = os.environ.get("LOADTEST_PANEL_API_KEY") or DEFAULT_PANEL_API_KEY
    panel_secret = os.environ.get("LOADTEST_PANEL_SECRET") or DEFAULT_PANEL_SECRET
    temporary = args.db is None
    store = Store(args.db)
    data_token = os.environ.get(args.data_token_env) or DEFAULT_DATA_TOKEN
    platform = Platform(surveys, store, PlatformConfig(api_key=api_key, panel_api_key=panel_key,
                                                       panel_secret=panel_secret, data_token=data_token,
                                                       admin_token=os.environ.get(args.admin_token_env) or None))
    if args.faults is not None:
        platform.faults = _fault_plan(args.faults)
    key_source = f"${args.api_key_env}" if os.environ.get(args.api_key_env) else "the local default key"
    key_source += "; data token from " + (
        f"${args.data_token_env}" if os.environ.get(args.data_token_env) else "the local default token")

    def ready(url: str) -> None:
        # The URL alone on stdout (scriptable); the rest on stderr.
        print(url, flush=True)
        print(f"loadtest mock: surveys {', '.join(map(str, ids))}; db {store.path}; api-key from {key_source}",
              file=sys.stderr, flush=True)

    try:
        serve(platform, args.host, args.port, ready, proxy=platform.faults.connection)
    except ServerError as exc:
        raise BadInput(f"loadtest mock: --port: {exc}") from None
    finally:
        store.close()
        if temporary:
            for suffix in ("", "-wal", "-shm"):
                Path(store.path + suffix).unlink(missing_ok=True)
    return EXIT_OK


def _fault_plan(path: Path) -> "FaultPlan":
    import tomllib

    from loadtest.platform.faults import FaultsError, parse_faults

    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise BadInput(f"{path}: <file>: expected a readable file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: <file>: expected valid TOML ({exc})") from None
    try:
        plan: FaultPlan = parse_faults(doc.get("faults", doc), str(path))
    except FaultsError as exc:
        raise BadInput(str(exc)) from None
    return plan


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "mock":
            return _mock(args)
        if args.command == "run":
            return _run(args)
        if args.command == "report":
            from loadtest.report.command import report_command

            return report_command(args.run_dir, args.baseline)
        if args.command == "replay":
            return _replay(args)
        if args.command == "locust":
            from loadtest.locust_driver.command import run_locust

            return run_locust(args.scenario, args.locust_args)
    except BadInput as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_CRASH


if __name__ == "__main__":
    sys.exit(main())
