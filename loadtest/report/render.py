"""Everything in a run folder besides what the run streams itself (respondents.jsonl):
summary.json, requests.csv, junit.xml, report.html, and comparison.json against a baseline.
Used by both drivers when a run ends, and by `loadtest report` to re-render a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from loadtest.report.compare import compare
from loadtest.report.html_report import render_html
from loadtest.report.junit import write_junit
from loadtest.report.requests_csv import read_requests_csv, write_requests_csv
from loadtest.results.run_files import write_summary

__all__ = ["ReportInputError", "rerender", "write_run_files"]


class ReportInputError(ValueError):
    """A folder that is not a run folder (no readable summary.json); str() is one line."""


def write_run_files(run_dir: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    write_summary(run_dir / "summary.json", summary)
    write_requests_csv(run_dir / "requests.csv", rows)
    write_junit(run_dir / "junit.xml", summary)
    (run_dir / "report.html").write_text(render_html(summary, rows), "utf-8")


def _summary(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "summary.json"
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ReportInputError(f"{path}: expected a run folder's summary.json ({exc.strerror})") from None
    except orjson.JSONDecodeError as exc:
        raise ReportInputError(f"{path}: expected JSON ({exc})") from None


def rerender(run_dir: Path, baseline: Path | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Re-make junit.xml and report.html from the folder's own files; with a baseline folder,
    also comparison.json and the comparison section of the report."""
    summary = _summary(run_dir)
    rows = read_requests_csv(run_dir / "requests.csv")
    comparison = compare(summary, _summary(baseline)) if baseline is not None else None
    write_junit(run_dir / "junit.xml", summary)
    if comparison is not None:
        (run_dir / "comparison.json").write_bytes(orjson.dumps(comparison, option=orjson.OPT_INDENT_2))
    (run_dir / "report.html").write_text(render_html(summary, rows, comparison), "utf-8")
    return summary, comparison
