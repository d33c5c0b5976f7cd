"""`loadtest report RUN_DIR [--baseline RUN_DIR]`: re-render a run folder's junit.xml and
report.html; with a baseline, print and write the comparison, exit 3 on a regression."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from loadtest.report.compare import print_comparison
from loadtest.report.render import ReportInputError, rerender
from loadtest.usage import BadInput

__all__ = ["report_command"]


def report_command(run_dir: Path, baseline: Path | None, out: Any = sys.stdout) -> int:
    try:
        summary, comparison = rerender(run_dir, baseline)
    except ReportInputError as exc:
        raise BadInput(str(exc)) from None
    print(f"{summary.get('scenario')}: {'PASSED' if summary.get('passed') else 'FAILED'} -> {run_dir / 'report.html'}",
          file=out)
    if comparison is None:
        return 0
    print_comparison(comparison, out)
    print(f"comparison -> {run_dir / 'comparison.json'}", file=out)
    return 0 if comparison["passed"] else 3
