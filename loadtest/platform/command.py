"""`loadtest mock`: the reference survey platform alone, for developing a client against it."""

from __future__ import annotations

import argparse
import os
import sqlite3
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
  loadtest mock --workers 2 --db platform.db      two server processes on one port and one database
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
    mock.add_argument("--workers", type=int, default=1, metavar="N",
                      help="server processes sharing the port and the database (default 1); any of them "
                           "serves any respondent's next request, quotas and panel transactions stay "
                           "counted once, and /__admin/stats sums them all")
    mock.add_argument("--exit-with-parent-fd", type=int, default=None, metavar="FD", help=argparse.SUPPRESS)
    # One of --workers N's processes, started by the supervisor (supervisor.py) on its port.
    mock.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
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
    if not 1 <= args.workers <= 64:
        raise BadInput(f"loadtest mock: --workers: expected 1..64 processes (got {args.workers})")
    faults = _fault_plan(args.faults) if args.faults is not None else None
    if faults is not None and faults.connection is not None and (args.workers > 1 or args.worker):
        raise BadInput(f"{args.faults}: faults.connection: expected --workers 1 (the connection-fault proxy "
                       "is one process in front of one server)")
    api_key = os.environ.get(args.api_key_env) or DEFAULT_API_KEY
    panel_key = os.environ.get("LOADTEST_PANEL_API_KEY") or DEFAULT_PANEL_API_KEY
    panel_secret = os.environ.get("LOADTEST_PANEL_SECRET") or DEFAULT_PANEL_SECRET
    if args.workers > 1:
        return _supervise(args, files, ids, key_sources(args))
    if args.worker and args.db is None:
        raise BadInput("loadtest mock: --worker: expected --db (the database the supervisor shares)")
    temporary = args.db is None and not args.worker
    try:
        store = Store(args.db, shared=args.worker)
    except sqlite3.OperationalError as exc:
        raise BadInput(f"loadtest mock: --db: {exc}") from None
    data_token = os.environ.get(args.data_token_env) or DEFAULT_DATA_TOKEN
    platform = Platform(surveys, store, PlatformConfig(api_key=api_key, panel_api_key=panel_key,
                                                       panel_secret=panel_secret, data_token=data_token,
                                                       admin_token=os.environ.get(args.admin_token_env) or None,
                                                       body_timeout_s=args.body_timeout))
    if faults is not None:
        platform.faults = faults
    if args.log:
        from loadtest.platform.request_log import log_requests

        log_requests(platform, sys.stderr)
    def ready(url: str) -> None:
        # The URL alone on stdout (scriptable); the rest on stderr, first, so that whoever has
        # read the URL can read this line too. (A worker's URL is for its supervisor only.)
        if not args.worker:
            print(f"loadtest mock: surveys {', '.join(map(str, ids))}; db {store.path}; api-key from "
                  f"{key_sources(args)}", file=sys.stderr, flush=True)
        print(url, flush=True)

    if platform.sharing is not None:
        platform.flush_figures(force=True)  # listed in /__admin/stats from the start, if idle
    try:
        serve(platform, args.host, args.port, ready, proxy=platform.faults.connection,
              parent_fd=args.exit_with_parent_fd, join=args.worker)
        if platform.sharing is not None:
            try:
                platform.flush_figures(force=True)  # the last requests count in the others' stats too
            except sqlite3.Error as exc:
                print(f"loadtest mock: worker {os.getpid()}: its last figures were not written ({exc})",
                      file=sys.stderr)
    except ServerError as exc:
        raise BadInput(f"loadtest mock: --port: {exc}") from None
    finally:
        store.close()
        if temporary:
            for suffix in ("", "-wal", "-shm"):
                Path(store.path + suffix).unlink(missing_ok=True)
    return 0


def key_sources(args: argparse.Namespace) -> str:
    """Where the api-key and data token come from (names only: never a secret's value)."""
    key_source = f"${args.api_key_env}" if os.environ.get(args.api_key_env) else "the local default key"
    return key_source + "; data token from " + (
        f"${args.data_token_env}" if os.environ.get(args.data_token_env) else "the local default token")


def _supervise(args: argparse.Namespace, files: list[str], ids: list[int], keys: str) -> int:
    from loadtest.platform.server import ServerError
    from loadtest.platform.sharing import Sharing
    from loadtest.platform.storage import Store
    from loadtest.platform.supervisor import supervise

    temporary = args.db is None
    try:  # made here, once: the schema and the token key exist before any worker opens the file
        store = Store(args.db, shared=True)
    except sqlite3.OperationalError as exc:
        raise BadInput(f"loadtest mock: --db: {exc}") from None
    sharing = Sharing(store)
    sharing.forget_figures()  # a --db used before: the figures of workers long gone count for nothing
    sharing.forget_buckets()
    sharing.close()
    store.close()
    cmd = [sys.executable, "-m", "loadtest.cli", "mock", "--worker", "--db", store.path, "--host", args.host,
           "--api-key-env", args.api_key_env, "--admin-token-env", args.admin_token_env,
           "--data-token-env", args.data_token_env, "--body-timeout", str(args.body_timeout)]
    for f in files:
        cmd += ["--survey", f]
    if args.faults is not None:
        cmd += ["--faults", str(args.faults)]
    if args.log:
        cmd.append("--log")

    def ready(url: str) -> None:
        print(f"loadtest mock: surveys {', '.join(map(str, ids))}; {args.workers} workers; db {store.path}; "
              f"api-key from {keys}", file=sys.stderr, flush=True)
        print(url, flush=True)

    try:
        return supervise(cmd, args.workers, args.host, args.port, ready, parent_fd=args.exit_with_parent_fd)
    except ServerError as exc:
        raise BadInput(f"loadtest mock: --port: {exc}") from None
    finally:
        if temporary:
            for suffix in ("", "-wal", "-shm", "-changes", "-rows"):  # the last two: sharing.py, row_stamps.py
                Path(store.path + suffix).unlink(missing_ok=True)


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


