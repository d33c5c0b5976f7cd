"""requests.csv: per step, per second of the run: requests, failures and service-time
percentiles (from the timeline's 2-significant-digit histograms; see metrics.py)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

__all__ = ["COLUMNS", "read_requests_csv", "write_requests_csv"]

COLUMNS = ("second", "step", "requests", "failures", "p50_ms", "p95_ms", "p99_ms", "max_ms")


def write_requests_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=COLUMNS)
        out.writeheader()
        out.writerows(rows)


def read_requests_csv(path: Path) -> list[dict[str, Any]]:
    """The rows back, typed; [] when the file is absent (a run folder from an older version)."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [{"second": int(r["second"]), "step": r["step"], "requests": int(r["requests"]),
                 "failures": int(r["failures"]), **{k: float(r[k]) for k in COLUMNS[4:]}}
                for r in csv.DictReader(f)]
