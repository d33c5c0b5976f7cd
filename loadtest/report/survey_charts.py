"""The report's survey charts (the page funnel, the length of interview) and the per-second
rows thinned for drawing, as plotly figures from summary.json (basic traces only: bars, lines).

Seconds without a reply (every request of a step timed out or was refused) have no latency: they
are left as gaps in the latency lines and marked apart, never drawn as 0 ms. Long runs are drawn
in windows of several seconds (at most MAX_POINTS a line) so that the report stays small."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import plotly.graph_objects as go
from hdrh.histogram import HdrHistogram

from loadtest.report.charts import OUTCOME_COLOURS, layout
from loadtest.results.hdr_read import recorded

__all__ = ["MAX_POINTS", "funnel_pages_chart", "interview_chart", "mark_no_reply", "no_reply_seconds", "thin_rows"]

MAX_POINTS = 400
PERCENTILES = ("p50_ms", "p95_ms", "p99_ms", "max_ms")


def thin_rows(rows: list[dict[str, Any]], max_points: int = MAX_POINTS) -> list[dict[str, Any]]:
    """requests.csv rows for drawing: a step's seconds without any reply get None percentiles (a
    gap, not 0 ms); beyond max_points seconds, rows are merged into windows (requests and failures
    as per-second means, each percentile the window's worst second)."""
    seconds = sorted({r["second"] for r in rows})
    window = max(1, math.ceil(len(seconds) / max_points)) if seconds else 1
    merged: dict[tuple[str, int], dict[str, Any]] = {}
    for r in rows:
        start = r["second"] - (r["second"] - seconds[0]) % window
        out = merged.setdefault((r["step"], start), {"second": start, "step": r["step"], "requests": 0, "failures": 0,
                                                     **{p: None for p in PERCENTILES}})
        out["requests"] += r["requests"] / window
        out["failures"] += r["failures"] / window
        if r["requests"] and any(r[p] for p in PERCENTILES):  # a reply came: it has a latency
            for p in PERCENTILES:
                out[p] = r[p] if out[p] is None else max(out[p], r[p])
    return [merged[k] for k in sorted(merged, key=lambda k: (k[1], k[0]))]


def no_reply_seconds(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Per step, the seconds whose requests all went without a reply."""
    out: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        if r["requests"] and not any(r[p] for p in PERCENTILES):
            out[r["step"]].append(r["second"])
    return dict(out)


def funnel_pages_chart(survey_id: str, block: dict[str, Any]) -> go.Figure:
    """Respondents that reached and answered each page, in page order, with the drop-off."""
    pages = block["pages"]
    names = ["(entry)", *[p["page"] for p in pages]]
    shown = block["respondents"] - sum(block["ended_before_first_page"].values())
    reached = [block["respondents"], *[p["reached"] for p in pages]]
    answered = [shown, *[p["answered"] for p in pages]]
    drop = [f"-{(r - a) / r:.0%}" if r and r > a else "" for r, a in zip(reached, answered, strict=True)]
    fig = go.Figure([
        go.Bar(y=names, x=reached, name="reached", orientation="h", marker_color="#90caf9"),
        go.Bar(y=names, x=answered, name="answered (went on)", orientation="h", marker_color="#1565c0",
               text=drop, textposition="outside", hovertemplate="%{y}: %{x} answered (%{text} dropped)"),
    ])
    fig = layout(fig, f"Survey {survey_id}: respondents that reached and answered each page (drop-off in %)",
                  "respondents", "", barmode="overlay")
    fig.update_layout(height=max(300, 34 * len(names) + 130), yaxis={"autorange": "reversed"})
    return fig


def _bins(encoded: str) -> dict[int, int]:
    """Respondents per bin k (seconds in [10^(k/10), 10^((k+1)/10)))."""
    hist = HdrHistogram.decode(encoded.encode())
    bins: dict[int, int] = defaultdict(int)
    for value, count in recorded(hist):
        s = max(value / 1000.0, 0.001)
        bins[math.floor(math.log10(s) * 10)] += count
    return bins


def interview_chart(interview: dict[str, Any]) -> go.Figure:
    """Each outcome's length-of-interview distribution (log-spaced bins), with the speeder rule's
    line where the target has one."""
    fig = go.Figure()
    top = 1
    binned = {outcome: _bins(f["histogram"]) for outcome, f in sorted(interview["by_outcome"].items())}
    ks = [k for bins in binned.values() for k in bins]
    grid = list(range(min(ks), max(ks) + 2)) if ks else []  # every bin, empty ones at 0, one past the last
    for outcome, bins in binned.items():
        xs = [round(10 ** (k / 10), 4) for k in grid]
        top = max(top, *bins.values()) if bins else top
        # Steps, not bars: on a log axis plotly sizes every bar by the narrowest linear gap.
        fig.add_trace(go.Scatter(x=xs, y=[bins.get(k, 0) for k in grid], name=outcome, mode="lines",
                                 line={"shape": "hv", "color": OUTCOME_COLOURS.get(outcome)}))
    # A line as a trace, in data units (a shape on a log axis would want log10 positions).
    for survey, seconds in sorted(interview.get("speeder_min_seconds", {}).items()):
        fig.add_trace(go.Scatter(x=[seconds, seconds], y=[0, top], mode="lines", name=f"speeder rule ({survey})",
                                 line={"color": "#c62828", "dash": "dash"},
                                 hovertemplate=f"survey {survey}: a complete faster than {seconds:g} s is terminated"))
    return layout(fig, "Length of interview by outcome (first take to outcome; 10 bins per decade)",
                   "seconds (log)", "respondents", xaxis_type="log")


def mark_no_reply(fig: go.Figure, rows: list[dict[str, Any]]) -> go.Figure:
    """Crosses on the time axis where a step's requests got no reply at all (a gap in its lines)."""
    for step, seconds in sorted(no_reply_seconds(rows).items()):
        fig.add_trace(go.Scatter(x=seconds, y=[0] * len(seconds), mode="markers", name=f"{step}: no reply",
                                 marker={"symbol": "x", "size": 9, "color": "#c62828"},
                                 hovertemplate=f"second %{{x}}: no {step} request got a reply"))
    return fig
