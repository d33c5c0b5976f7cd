"""The `loadtest` command line: argument parsing and dispatch only.

Each subcommand lives with its stage, in `<stage>/command.py`, which adds its own parser and
handles it. Exit codes: 0 passed, 1 crashed, 2 bad input, 3 a threshold or check failed,
4 interrupted (SIGINT / SIGTERM: the run stopped early, its report marked so).
"""

from __future__ import annotations

import argparse
import sys

import loadtest
from loadtest.core.usage import BadInput

__all__ = ["EXIT_BAD_INPUT", "EXIT_CHECK_FAILED", "EXIT_CRASH", "EXIT_INTERRUPTED", "EXIT_OK", "main"]

EXIT_OK, EXIT_CRASH, EXIT_BAD_INPUT, EXIT_CHECK_FAILED = 0, 1, 2, 3
EXIT_INTERRUPTED = 4  # results/interruption.py, where the drivers take it from


def _parser() -> argparse.ArgumentParser:
    from loadtest.engine import command as run_command
    from loadtest.explore import command as explore_command
    from loadtest.locust_driver import command as locust_command
    from loadtest.platform import command as mock_command
    from loadtest.replay import command as replay_command
    from loadtest.report import command as report_command
    from loadtest.scenario import command as scenario_command

    parser = argparse.ArgumentParser(
        prog="loadtest", description="Load tester and respondent simulator for online-survey APIs.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"loadtest {loadtest.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for stage in (scenario_command, run_command, locust_command, mock_command, report_command, replay_command,
                  explore_command):
        stage.add_parser(sub)
    return parser


EXAMPLES = """examples:
  loadtest init x && loadtest run x/scenario.toml     a starter project, run against the embedded platform
  loadtest init staging --target https://api.example.com --survey-id 1234567
  loadtest personas                                   what each built-in persona does
  loadtest locust x/scenario.toml                     the same scenario in Locust's web UI

exit codes: 0 passed, 1 crashed, 2 bad input, 3 a threshold or check failed, 4 interrupted
"""

def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
