"""Evaluate a scenario's thresholds and checks against a run summary. Pure: dict in, list out."""

from __future__ import annotations

from typing import Any

from loadtest.scenario.file import Thresholds

__all__ = ["evaluate"]


def evaluate(th: Thresholds, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per threshold: name, limit, value, passed. Persona checks always count: a
    respondent with an unexpected outcome or a failed check fails the run unless `unexpected`
    allows some."""
    out: list[dict[str, Any]] = []

    def add(name: str, limit: Any, value: Any, passed: bool) -> None:
        out.append({"name": name, "limit": limit, "value": value, "passed": bool(passed)})

    requests = summary["requests"]
    for key, limits in (("p95_ms", th.p95_ms), ("p99_ms", th.p99_ms)):
        for step, limit in limits.items():
            value = requests.get(step, {}).get(key)
            add(f"{step}.{key}", limit, value, value is not None and value <= limit)
    total = sum(s["count"] for s in requests.values())
    failed = sum(s["failures"] for s in requests.values())
    ratio = round(failed / total, 6) if total else 0.0
    if th.error_ratio is not None:
        add("error_ratio", th.error_ratio, ratio, ratio <= th.error_ratio)
    if th.rate_limited is not None:  # the share of requests the target answered 429
        limited = sum(s.get("rate_limited", 0) for s in requests.values())
        share = round(limited / total, 6) if total else 0.0
        add("rate_limited", th.rate_limited, share, share <= th.rate_limited)
    allowed = th.unexpected if th.unexpected is not None else 0
    add("unexpected_respondents", allowed, summary["unexpected"], summary["unexpected"] <= allowed)
    if th.dropped_arrivals is not None:
        dropped = summary.get("dropped_arrivals", 0)
        add("dropped_arrivals", th.dropped_arrivals, dropped, dropped <= th.dropped_arrivals)
    rec = summary.get("reconciliation")
    if rec is not None:
        problems = sum(rec.get("problems", {}).values())
        add("panel_reconciliation", 0, problems, rec.get("passed", False))
    check = summary.get("data_check")
    if check is not None:  # every completed respondent's stored answers equal what it sent
        problems = sum(check.get("problems", {}).values())
        add("data_check", 0, problems, check.get("passed", False))
    ingest = summary.get("ingest")
    if ingest:  # every item of every [[ingest]] step created: a refusal fails the run
        missing = sum(step["count"] - step["created"] for step in ingest)
        add("ingest", 0, missing, all(step["passed"] for step in ingest))
    # Shares are of respondents that reached an outcome: those cut off by the end of the run
    # (`incomplete`, many in a short Locust -t run) say nothing about the survey's funnel.
    respondents = (summary["respondents"] - summary["outcomes"].get("incomplete", 0)) or 1
    for outcome, (low, high) in th.outcome_share.items():
        share = round(summary["outcomes"].get(outcome, 0) / respondents, 6)
        if low is not None:
            add(f"outcome_share.{outcome}.min", low, share, share >= low)
        if high is not None:
            add(f"outcome_share.{outcome}.max", high, share, share <= high)
    stages = {st["name"]: st for st in summary.get("stages", ())}
    for name, sth in th.stages.items():  # [thresholds.stage.NAME]: the same limits, on one stage's figures
        st = stages.get(name)
        if st is None:  # a --duration override cut the plan before this stage: nothing to judge
            add(f"stage.{name}", "the stage in the run", "not run (the plan was cut before it)", True)
            continue
        for key, limits in (("p95_ms", sth.p95_ms), ("p99_ms", sth.p99_ms)):
            for step, limit in limits.items():
                value = st.get("requests", {}).get(step, {}).get(key)
                add(f"stage.{name}.{step}.{key}", limit, value, value is not None and value <= limit)
        if sth.error_ratio is not None:
            value = st.get("error_ratio", 0.0)
            add(f"stage.{name}.error_ratio", sth.error_ratio, value, value <= sth.error_ratio)
        if sth.dropped_arrivals is not None:
            value = st.get("arrivals", {}).get("dropped", 0)
            add(f"stage.{name}.dropped_arrivals", sth.dropped_arrivals, value, value <= sth.dropped_arrivals)
    return out
