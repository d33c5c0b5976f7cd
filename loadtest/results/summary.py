"""summary.json: one schema for every driver (`loadtest run`, `loadtest locust`), and its
printed form. Thresholds are evaluated here, so both drivers pass or fail a run the same way."""

from __future__ import annotations

import dataclasses
from typing import Any

from loadtest.results.metrics import Metrics
from loadtest.results.thresholds import evaluate
from loadtest.scenario.file import Scenario

__all__ = ["build_summary", "print_summary"]


def build_summary(sc: Scenario, metrics: Metrics, *, target: str, duration_s: float, driver: str,
                  limits: dict[str, Any] | None = None, panel: dict[str, Any] | None = None,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    outcomes = dict(sorted(metrics.outcomes.items()))
    outcomes.setdefault("abandoned", 0)
    summary: dict[str, Any] = {
        "scenario": sc.name,
        "scenario_file": str(sc.path),
        "target": target,
        "seed": sc.seed,
        "driver": driver,
        "load": dataclasses.asdict(sc.load),
        "duration_s": round(duration_s, 3),
        "respondents": metrics.respondents,
        "requests": metrics.requests_summary(),
        "outcomes": outcomes,
        "statuses": dict(sorted(metrics.statuses.items())),
        "personas": metrics.personas_summary(),
        "unexpected": metrics.unexpected,
        "checks_failed": dict(sorted(metrics.checks.items())),
        "errors_by_blame": dict(sorted(metrics.errors_by_blame.items())),
        # Lost replies recovered from: `retried` (a first take sent again), `resumed` (the lost
        # request had landed), `resubmitted` (it had not: the page was answered again).
        "recoveries": dict(sorted(metrics.recoveries.items())),
        "injected_faults": dict(sorted(metrics.faults.items())),  # met by respondents, by kind
        "dropped_arrivals": metrics.dropped_arrivals,
        "limits": limits or {},
        "regression": dataclasses.asdict(sc.regression),  # tolerances for `loadtest report --baseline`
        "histograms": metrics.histograms(),
        **(extra or {}),
    }
    if panel is not None:
        summary["callbacks"] = panel["callbacks"]
        summary["reconciliation"] = panel["reconciliation"]
    summary["thresholds"] = evaluate(sc.thresholds, summary)
    summary["passed"] = all(t["passed"] for t in summary["thresholds"])
    return summary


def print_summary(summary: dict[str, Any], out: Any) -> None:
    p = print
    p(f"\n{summary['scenario']}: {summary['respondents']} respondents in {summary['duration_s']:.1f}s "
      f"against {summary['target']} (seed {summary['seed']})", file=out)
    p(f"{'step':<17}{'count':>8}{'fail':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}", file=out)
    for step, s in summary["requests"].items():
        p(f"{step:<17}{s['count']:>8}{s['failures']:>6}{s['p50_ms']:>9.2f}{s['p95_ms']:>9.2f}"
          f"{s['p99_ms']:>9.2f}{s['max_ms']:>9.2f}", file=out)
    for step in summary.get("ingest", ()):
        error = step["first_error"]
        p(f"ingest {step['api']} (survey {step['survey_id']}): {step['created']} of {step['count']} created"
          + (f"; first refused: HTTP {error['status']} {error['message']}" if error else "")
          + (f"; not generated: {step['first_walk_error']}" if step["first_walk_error"] else ""), file=out)
    p("outcomes: " + ", ".join(f"{k} {v}" for k, v in summary["outcomes"].items() if v), file=out)
    for t in summary["thresholds"]:
        mark = "ok  " if t["passed"] else "FAIL"
        p(f"  {mark} {t['name']}: {t['value']} (limit {t['limit']})", file=out)
    if summary["checks_failed"]:
        p("failed checks: " + ", ".join(f"{k} {v}" for k, v in summary["checks_failed"].items()), file=out)
    p(f"{'PASSED' if summary['passed'] else 'FAILED'} -> {summary['run_dir']}", file=out)
