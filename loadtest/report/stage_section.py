"""The report's "Load plan and stages" section: planned against achieved over time, and per
stage its arrivals, in-flight count, requests and latency per step, so a reader sees the stage
where latency broke. A stage whose own threshold failed is marked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from loadtest.report import charts

__all__ = ["stage_section"]


def _failed_stages(summary: dict[str, Any]) -> set[str]:
    return {t["name"].split(".")[1] for t in summary.get("thresholds", ())
            if t["name"].startswith("stage.") and not t["passed"]}


def stage_section(summary: dict[str, Any], table: Callable[..., str], figure: Callable[[go.Figure, str], str]) -> str:
    stages = summary.get("stages") or []
    timeline = summary.get("load_timeline")
    if not stages or timeline is None:
        return ""
    failed = _failed_stages(summary)
    open_model = timeline["unit"] == "respondents/s"
    head = ["stage", "from s", "to s", "target", "respondents started"]
    head += ["arrivals planned", "expected", "dropped"] if open_model else ["planned in flight (mean)"]
    head += ["in flight (mean)", "in flight (peak)", "requests", "failures", "error ratio"]
    rows = []
    for s in stages:
        target = f"{s['from_target']:g} → {s['target']:g}" if s["target"] is not None else "-"
        row: list[Any] = [s["name"], s["start_s"], s["end_s"], target, s["respondents_started"]]
        if open_model:
            a = s["arrivals"]
            row += [_or_dash(a["planned"]), _or_dash(a["expected"]), a["dropped"]]
        else:
            row.append(_or_dash(s["in_flight"]["planned_mean"]))
        row += [s["in_flight"]["mean"], s["in_flight"]["peak"], s["requests_total"], s["failures_total"],
                s["error_ratio"]]
        rows.append(row)
    latency = [[s["name"], step, v["count"], v["failures"], v["p50_ms"], v["p95_ms"], v["p99_ms"]]
               for s in stages for step, v in s["requests"].items()]
    bad_latency = [s["name"] in failed for s in stages for _ in s["requests"]]
    note = ("<p class=\"muted\">A request counts in the stage its reply came in (after the plan: the last "
            "stage); respondents are counted by their " + ("intended start (arrival)." if open_model else "start.")
            + "</p>")
    return ("<h2>Load plan and stages</h2>" + figure(charts.load_plan_chart(timeline, stages), "load-plan")
            + table(head, rows, [s["name"] in failed for s in stages]) + note
            + table(["stage", "step", "count", "failures", "p50 ms", "p95 ms", "p99 ms"], latency, bad_latency))


def _or_dash(value: Any) -> Any:
    return "-" if value is None else value
