"""The `loadtest` command line: argument parsing and dispatch only.

Each subcommand lives with its stage, in `<stage>/command.py`, which adds its own parser and
handles it. Exit codes: 0 passed, 1 crashed, 2 bad input, 3 a threshold or check failed,
4 interrupted (SIGINT / SIGTERM: the run stopped early, its report marked so).
"""

from __future__ import annotations

import argparse
import importlib
import sys

import loadtest
from loadtest.core.usage import BadInput

__all__ = ["COMMANDS", "EXIT_BAD_INPUT", "EXIT_CHECK_FAILED", "EXIT_CRASH", "EXIT_INTERRUPTED", "EXIT_OK", "main"]

EXIT_OK, EXIT_CRASH, EXIT_BAD_INPUT, EXIT_CHECK_FAILED = 0, 1, 2, 3
EXIT_INTERRUPTED = 4  # results/interruption.py, where the drivers take it from


# Subcommand -> the module that parses and handles it, in the order `loadtest --help` lists them.
COMMANDS = {
    "init": "loadtest.scenario.command",
    "personas": "loadtest.scenario.command",
    "run": "loadtest.engine.command",
    "locust": "loadtest.locust_driver.command",
    "mock": "loadtest.platform.command",
    "report": "loadtest.report.command",
    "replay": "loadtest.replay.command",
    "explore": "loadtest.explore.command",
}


def _parser(argv: list[str]) -> argparse.ArgumentParser:
    """Only the named subcommand's module is imported (a stage's imports cost up to a second:
    `loadtest mock`, which every run without a target starts, needs none of the others); all of
    them for the top-level help, --version, or a name that is not a subcommand."""
    parser = argparse.ArgumentParser(
        prog="loadtest", description="Load tester and respondent simulator for online-survey APIs.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"loadtest {loadtest.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = COMMANDS.get(argv[0]) if argv else None
    for name in dict.fromkeys([chosen] if chosen else COMMANDS.values()):
        importlib.import_module(name).add_parser(sub)
    return parser


EXAMPLES = """examples:
  loadtest init x && loadtest run x/scenario.toml     a starter project, run against the embedded platform
  loadtest init staging --target https://api.example.com --survey-id 1234567
  loadtest personas                                   what each built-in persona does
  loadtest locust x/scenario.toml                     the same scenario in Locust's web UI

exit codes: 0 passed, 1 crashed, 2 bad input, 3 a threshold or check failed, 4 interrupted
"""

def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(argv).parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except BadInput as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # a Ctrl-C outside a run's own handling (a run handles its own)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
