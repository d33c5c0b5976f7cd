"""The `loadtest` command line. Exit codes: 0 passed, 1 crashed, 2 bad input, 3 a check failed."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from loadtest.usage import BadInput

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


def _mock(args: argparse.Namespace) -> int:
    from loadtest.platform.app import DEFAULT_API_KEY, Platform, PlatformConfig
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
    platform = Platform(surveys, store, PlatformConfig(api_key=api_key, panel_api_key=panel_key,
                                                       panel_secret=panel_secret))
    key_source = f"${args.api_key_env}" if os.environ.get(args.api_key_env) else "the local default key"

    def ready(url: str) -> None:
        # The URL alone on stdout (scriptable); the rest on stderr.
        print(url, flush=True)
        print(f"loadtest mock: surveys {', '.join(map(str, ids))}; db {store.path}; api-key from {key_source}",
              file=sys.stderr, flush=True)

    try:
        serve(platform, args.host, args.port, ready)
    except ServerError as exc:
        raise BadInput(f"loadtest mock: --port: {exc}") from None
    finally:
        store.close()
        if temporary:
            for suffix in ("", "-wal", "-shm"):
                Path(store.path + suffix).unlink(missing_ok=True)
    return EXIT_OK


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
