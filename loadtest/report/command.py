"""`loadtest report RUN_DIR [--baseline RUN_DIR]`: re-render a run folder's junit.xml and
report.html; with a baseline, print and write the comparison, exit 3 on a regression. A folder a
killed run left (no summary.json, a checkpoint.json) is rebuilt from its checkpoint first
(recover.py), marked interrupted, and exits 4 (an interrupted run is never a pass)."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import Any

from loadtest.core.usage import BadInput
from loadtest.report.compare import print_comparison
from loadtest.report.recover import recover
from loadtest.report.render import ReportInputError, rerender
from loadtest.results.checkpoint import CHECKPOINT
from loadtest.results.interruption import EXIT_INTERRUPTED, verdict

__all__ = ["add_parser", "main", "report_command"]

EXAMPLES = """examples:
  loadtest report reports/smoke-20260101-120000-s42            junit.xml and report.html again
  loadtest report reports/today --baseline reports/yesterday   exit 3 when a change exceeds [regression]
"""


def report_command(run_dir: Path, baseline: Path | None, out: Any = sys.stdout) -> int:
    try:
        if not (run_dir / "summary.json").exists() and (run_dir / CHECKPOINT).exists():
            rebuilt = recover(run_dir)
            how = rebuilt["interruption"]
            torn = how["torn_last_line_bytes"]
            print(f"{run_dir}: no summary.json; rebuilt from {CHECKPOINT} written "
                  f"{_ago(how['checkpoint_written_at'])}, with {rebuilt['respondents']} respondents "
                  f"({how['respondents_logged']} in respondents.jsonl"
                  + (f"; its torn last line of {torn} bytes skipped" if torn else "") + ")", file=out)
        summary, comparison = rerender(run_dir, baseline)
    except ReportInputError as exc:
        raise BadInput(str(exc)) from None
    print(f"{summary.get('scenario')}: {verdict(summary)} -> {run_dir / 'report.html'}",
          file=out)
    code = EXIT_INTERRUPTED if summary.get("interrupted") else 0
    if comparison is None:
        return code
    print_comparison(comparison, out)
    print(f"comparison -> {run_dir / 'comparison.json'}", file=out)
    return code or (0 if comparison["passed"] else 3)


def _ago(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rep = sub.add_parser("report", help="re-render a run folder's report; compare it with a baseline run",
                         epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    rep.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    rep.add_argument("--baseline", type=Path, default=None, metavar="RUN_DIR",
                     help="a previous run folder: print and write the comparison; exit 3 on a regression")
    rep.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    return report_command(args.run_dir, args.baseline)
