"""summary.json: one schema for every driver (`loadtest run`, `loadtest locust`), and its
printed form. Thresholds are evaluated here, so both drivers pass or fail a run the same way."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from loadtest.results.funnel import funnel_summary
from loadtest.results.interruption import interruption_text, verdict
from loadtest.results.interview import interview_summary
from loadtest.results.metrics import Metrics
from loadtest.results.stage_figures import stage_lines, stage_report
from loadtest.results.thresholds import evaluate
from loadtest.scenario.file import Scenario

__all__ = ["build_summary", "print_errors", "print_summary"]

ERRORS_KEPT, ERRORS_PRINTED = 50, 10


def build_summary(sc: Scenario, metrics: Metrics, *, target: str, duration_s: float, driver: str,
                  limits: dict[str, Any] | None = None, panel: dict[str, Any] | None = None,
                  extra: dict[str, Any] | None = None, respondents: Path | None = None,
                  planned: bool = True) -> dict[str, Any]:
    """`respondents` is the run's respondents.jsonl (per-stage starts and in-flight counts come
    from it); `planned` False when the driver did not follow the scenario's load plan."""
    outcomes = dict(sorted(metrics.outcomes.items()))
    outcomes.setdefault("abandoned", 0)
    summary: dict[str, Any] = {
        "scenario": sc.name,
        "scenario_file": str(sc.path),
        "target": target,
        "seed": sc.seed,
        "driver": driver,
        "load": dataclasses.asdict(sc.load),
        "mix": {p.name: p.weight for p in sc.personas},  # the persona weights the run walked
        "duration_s": round(duration_s, 3),
        "respondents": metrics.respondents,
        "requests": metrics.requests_summary(),
        "outcomes": outcomes,
        "statuses": dict(sorted(metrics.statuses.items())),
        "personas": metrics.personas_summary(),
        "unexpected": metrics.unexpected,
        "checks_failed": dict(sorted(metrics.checks.items())),
        "errors_by_blame": dict(sorted(metrics.errors_by_blame.items())),
        # The most frequent error messages and failed checks, each with its step, blame, count
        # and the first respondent it happened to (its seed replays it).
        "errors": metrics.errors.top(ERRORS_KEPT),
        "errors_distinct": len(metrics.errors.entries),
        "transaction_prefix": sc.transaction_prefix,
        # Lost replies recovered from: `retried` (a first take sent again), `resumed` (the lost
        # request had landed), `resubmitted` (it had not: the page was answered again).
        "recoveries": dict(sorted(metrics.recoveries.items())),
        "injected_faults": dict(sorted(metrics.faults.items())),  # met by respondents, by kind
        # Information, never a failure: what the reference platform does that this target did not.
        "extensions_not_seen": dict(sorted(metrics.extensions_not_seen.items())),
        "dropped_arrivals": metrics.dropped_arrivals,
        "limits": limits or {},
        "regression": dataclasses.asdict(sc.regression),  # tolerances for `loadtest report --baseline`
        "histograms": metrics.histograms(),
        # Per survey and persona: respondents that reached, answered and ended at each page.
        "funnel": funnel_summary(metrics.funnel, sc.surveys),
        "validation_errors_by_question": _by_question(metrics.invalid_questions),
        # Length of interview (first take to outcome) beside the think time the personas planned.
        "interview": interview_summary(metrics.interview, sc.surveys, sc.target == "embedded"),
        **(extra or {}),
    }
    # Per stage of the load plan: requests, latency, arrivals and in-flight against the plan.
    summary["stages"], summary["load_timeline"] = stage_report(sc.load, sc.seed, metrics, respondents, duration_s,
                                                               planned)
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
    # Every reply >= 400 is in "fail"; a 429 column shows when the target rate-limited any.
    limited = any(s.get("rate_limited") for s in summary["requests"].values())
    p(f"{'step':<17}{'count':>8}{'fail':>6}" + (f"{'429':>6}" if limited else "")
      + f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}", file=out)
    for step, s in summary["requests"].items():
        p(f"{step:<17}{s['count']:>8}{s['failures']:>6}" + (f"{s.get('rate_limited', 0):>6}" if limited else "")
          + f"{s['p50_ms']:>9.2f}{s['p95_ms']:>9.2f}{s['p99_ms']:>9.2f}{s['max_ms']:>9.2f}", file=out)
    for step in summary.get("ingest", ()):
        error = step["first_error"]
        p(f"ingest {step['api']} (survey {step['survey_id']}): {step['created']} of {step['count']} created"
          + (f"; first refused: HTTP {error['status']} {error['message']}" if error else "")
          + (f"; not generated: {step['first_walk_error']}" if step["first_walk_error"] else ""), file=out)
    for line in stage_lines(summary.get("stages", [])):  # a plan of several stages: each stage's figures
        p(line, file=out)
    p("outcomes: " + ", ".join(f"{k} {v}" for k, v in summary["outcomes"].items() if v), file=out)
    for t in summary["thresholds"]:
        mark = "ok  " if t["passed"] else "FAIL"
        p(f"  {mark} {t['name']}: {t['value']} (limit {t['limit']})", file=out)
    if summary["checks_failed"]:
        p("failed checks: " + ", ".join(f"{k} {v}" for k, v in summary["checks_failed"].items()), file=out)
    if summary.get("extensions_not_seen"):
        p("info: extensions of the reference platform not seen (not failures): "
          + ", ".join(f"{k} {v}" for k, v in summary["extensions_not_seen"].items()), file=out)
    print_errors(summary, out)
    if summary.get("interrupted"):
        p(f"interrupted by {interruption_text(summary)}: the figures cover the run up to the stop", file=out)
    p(f"{verdict(summary)} -> {summary['run_dir']}", file=out)


def print_errors(summary: dict[str, Any], out: Any) -> None:
    """The error block: the most frequent messages first, like Locust's error report."""
    errors = summary.get("errors") or []
    if not errors:
        print("errors: none", file=out)
        return
    total = sum(e["count"] for e in errors)
    shown = errors[:ERRORS_PRINTED]
    distinct = summary.get("errors_distinct", len(errors))
    print(f"errors: {distinct} distinct, {total} in all" + (f"; the {len(shown)} most frequent:" if distinct > len(
        shown) else ":"), file=out)
    print(f"  {'count':>6}  {'kind':<6} {'step':<14} {'blame':<14} message (first respondent)", file=out)
    for e in shown:
        print(f"  {e['count']:>6}  {e['kind']:<6} {e['step'] or '-':<14} {e['blame']:<14} {e['message']} "
              f"(#{e['first_index']}, seed {e['first_seed']})", file=out)


def _by_question(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    """{survey id: {question id: validation errors naming it}}, most named first."""
    out: dict[str, dict[str, int]] = {}
    for key, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        survey, question = key.split(":", 1)
        out.setdefault(survey, {})[question] = n
    return out
