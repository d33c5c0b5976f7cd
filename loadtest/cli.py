"""The `loadtest` command line: argument parsing and dispatch only.

Each subcommand lives with its stage, in `<stage>/command.py`, which adds its own parser and
handles it. Exit codes: 0 passed, 1 crashed, 2 bad input, 3 a threshold or check failed.
"""

from __future__ import annotations

import argparse
import sys

from loadtest.core.usage import BadInput

__all__ = ["EXIT_BAD_INPUT", "EXIT_CHECK_FAILED", "EXIT_CRASH", "EXIT_OK", "main"]

EXIT_OK, EXIT_CRASH, EXIT_BAD_INPUT, EXIT_CHECK_FAILED = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    from loadtest.engine import command as run_command
    from loadtest.locust_driver import command as locust_command
    from loadtest.platform import command as mock_command
    from loadtest.replay import command as replay_command
    from loadtest.report import command as report_command

    parser = argparse.ArgumentParser(
        prog="loadtest", description="Load tester and respondent simulator for online-survey APIs.",
        epilog="exit codes: 0 passed, 1 crashed, 2 bad input, 3 a threshold or check failed")
    sub = parser.add_subparsers(dest="command", required=True)
    for stage in (mock_command, run_command, report_command, replay_command, locust_command):
        stage.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except BadInput as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
