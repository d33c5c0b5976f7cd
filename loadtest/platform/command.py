"""`loadtest mock`: the reference survey platform alone, for developing a client against it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from loadtest.core.usage import BadInput

if TYPE_CHECKING:
    from loadtest.platform.faults.plan import FaultPlan

__all__ = ["add_parser", "main"]

EXAMPLES = """examples:
  loadtest mock                                   the example surveys installed with loadtest, on :8080
  loadtest mock --survey x/surveys/starter.toml --port 0
  loadtest mock --faults faults.toml --db platform.db
  loadtest mock --log                             every request on stderr; open the printed URL for a curl walk
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mock = sub.add_parser("mock", help="serve the reference survey platform", epilog=EXAMPLES,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    mock.add_argument("--survey", action="append", default=[], metavar="FILE",
                      help="survey TOML (repeatable; default: the example surveys installed with loadtest)")
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
    mock.add_argument("--data-token-env", default="LOADTEST_DATA_TOKEN", metavar="NAME",
                      help="environment variable holding the bearer token of the respondent data API "
                           "(unset: the local default 'loadtest-local-data-token')")
    mock.add_argument("--body-timeout", type=float, default=10.0, metavar="S",
                      help="seconds a request body may take to arrive whole; then 408 and the connection "
                           "is dropped (default 10)")
    mock.add_argument("--log", action="store_true",
                      help="one line per request on stderr: method, path, status, ms, survey token abbreviated")
    mock.add_argument("--exit-with-parent-fd", type=int, default=None, metavar="FD", help=argparse.SUPPRESS)
    mock.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from loadtest.bundled import example_surveys
    from loadtest.local_defaults import (
        DEFAULT_API_KEY,
        DEFAULT_DATA_TOKEN,
        DEFAULT_PANEL_API_KEY,
        DEFAULT_PANEL_SECRET,
    )
    from loadtest.platform.app import Platform, PlatformConfig
    from loadtest.platform.server import ServerError, serve
    from loadtest.platform.storage import Store
    from loadtest.survey.file import SurveyFileError, load_survey

    # With no --survey: the example surveys installed with the package, whatever the folder.
    files = args.survey or [str(p) for p in example_surveys()]
    if not files:
        raise BadInput("loadtest mock: --survey: expected at least one survey file (none given, and no "
                       "example surveys installed)")
    try:
        surveys = [load_survey(f) for f in files]
    except SurveyFileError as exc:
        raise BadInput(str(exc)) from None
    ids = [s.id for s in surveys]
    if len(set(ids)) != len(ids):
        raise BadInput(f"loadtest mock: --survey: expected distinct survey ids (got {ids})")
    if not 0 <= args.port <= 65535:
        raise BadInput(f"loadtest mock: --port: expected 0..65535 (got {args.port})")
    if not args.body_timeout > 0:
        raise BadInput(f"loadtest mock: --body-timeout: expected seconds > 0 (got {args.body_timeout})")
    api_key = os.environ.get(args.api_key_env) or DEFAULT_API_KEY
    panel_key = os.environ.get("LOADTEST_PANEL_API_KEY") or DEFAULT_PANEL_API_KEY
    panel_secret = os.environ.get("LOADTEST_PANEL_SECRET") or DEFAULT_PANEL_SECRET
    temporary = args.db is None
    store = Store(args.db)
    data_token = os.environ.get(args.data_token_env) or DEFAULT_DATA_TOKEN
    platform = Platform(surveys, store, PlatformConfig(api_key=api_key, panel_api_key=panel_key,
                                                       panel_secret=panel_secret, data_token=data_token,
                                                       admin_token=os.environ.get(args.admin_token_env) or None,
                                                       body_timeout_s=args.body_timeout))
    if args.faults is not None:
        platform.faults = _fault_plan(args.faults)
    if args.log:
        from loadtest.platform.request_log import log_requests

        log_requests(platform, sys.stderr)
    key_source = f"${args.api_key_env}" if os.environ.get(args.api_key_env) else "the local default key"
    key_source += "; data token from " + (
        f"${args.data_token_env}" if os.environ.get(args.data_token_env) else "the local default token")

    def ready(url: str) -> None:
        # The URL alone on stdout (scriptable); the rest on stderr, first, so that whoever has
        # read the URL can read this line too.
        print(f"loadtest mock: surveys {', '.join(map(str, ids))}; db {store.path}; api-key from {key_source}",
              file=sys.stderr, flush=True)
        print(url, flush=True)

    try:
        serve(platform, args.host, args.port, ready, proxy=platform.faults.connection,
              parent_fd=args.exit_with_parent_fd)
    except ServerError as exc:
        raise BadInput(f"loadtest mock: --port: {exc}") from None
    finally:
        store.close()
        if temporary:
            for suffix in ("", "-wal", "-shm"):
                Path(store.path + suffix).unlink(missing_ok=True)
    return 0


def _fault_plan(path: Path) -> FaultPlan:
    import tomllib

    from loadtest.platform.faults.plan import FaultsError, parse_faults

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


