"""The report's charts, as plotly figures built from a run's summary.json and requests.csv rows."""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from hdrh.histogram import HdrHistogram

from loadtest.results.hdr_read import recorded

__all__ = ["OUTCOME_COLOURS", "funnel_chart", "latency_histograms", "latency_over_time", "layout", "limits_chart",
           "load_plan_chart", "throughput_over_time", "use_look"]

PERCENTILE_DASH = {"p50_ms": "dash", "p95_ms": "solid", "p99_ms": "dot"}
OUTCOME_COLOURS = {"survey_complete": "#2e7d32", "terminated": "#ef6c00", "quota_full": "#6a1b9a",
                   "abandoned": "#9e9e9e", "incomplete": "#cfd8dc", "failed": "#c62828"}


@functools.cache
def use_look() -> None:
    """Every chart's look, for every figure made after it (render_html calls it first). As the
    default rather than each figure's `template=`: a template given by name is copied and
    validated into every figure (~25 ms each, a third of a report's rendering), the default only
    once. Set when a report is made, not at import: loading the template costs a process ~30 MB,
    which a run should not carry through its load."""
    pio.templates.default = "plotly_white"


def layout(fig: go.Figure, title: str, x: str, y: str, **extra: Any) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, height=380,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50}, legend={"orientation": "h", "y": -0.2}, **extra)
    return fig


def latency_over_time(rows: list[dict[str, Any]]) -> go.Figure:
    by_step: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_step[r["step"]].append(r)
    fig = go.Figure()
    for step, points in sorted(by_step.items()):
        for key, dash in PERCENTILE_DASH.items():
            fig.add_trace(go.Scatter(x=[p["second"] for p in points], y=[p[key] for p in points], mode="lines",
                                     name=f"{step} {key[:3]}", legendgroup=step, line={"dash": dash}))
    return layout(fig, "Service time per step over the run (p50 dashed, p95 solid, p99 dotted)",
                   "second of the run", "ms")


def throughput_over_time(rows: list[dict[str, Any]]) -> go.Figure:
    by_step: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_step[r["step"]].append(r)
    fig = go.Figure()
    for step, points in sorted(by_step.items()):
        fig.add_trace(go.Scatter(x=[p["second"] for p in points], y=[p["requests"] for p in points],
                                 stackgroup="requests", name=step))
    failures: defaultdict[int, int] = defaultdict(int)
    for r in rows:
        failures[r["second"]] += r["failures"]
    if any(failures.values()):
        seconds = sorted(failures)
        fig.add_trace(go.Scatter(x=seconds, y=[failures[s] for s in seconds], name="failures",
                                 line={"color": "#c62828"}))
    return layout(fig, "Requests per second, by step", "second of the run", "requests/s")


def latency_histograms(histograms: dict[str, dict[str, str]]) -> go.Figure:
    """Each step's service-time distribution, from its HDR histogram, in log-spaced bins."""
    fig = go.Figure()
    for step, encoded in sorted(histograms.items()):
        hist = HdrHistogram.decode(encoded["service"].encode())
        bins: dict[float, int] = defaultdict(int)
        for value, count in recorded(hist):
            ms = value / 1000.0
            edge = 10 ** (math.floor(math.log10(max(ms, 0.001)) * 10) / 10)  # 10 bins per decade
            bins[round(edge, 4)] += count
        xs = sorted(bins)
        fig.add_trace(go.Bar(x=xs, y=[bins[x] for x in xs], name=step, opacity=0.75))
    return layout(fig, "Service-time distribution per step (all requests; 10 bins per decade)", "ms (log)",
                   "requests", barmode="overlay", xaxis_type="log")


def limits_chart(limits: dict[str, Any]) -> go.Figure:
    names = sorted(limits)
    fig = go.Figure([
        go.Bar(x=names, y=[limits[n]["target"] for n in names], name="target", marker_color="#90a4ae"),
        go.Bar(x=names, y=[limits[n]["achieved"] or 0 for n in names], name="achieved", marker_color="#1565c0",
               text=[f"{limits[n]['granted']} permits" for n in names], textposition="outside"),
    ])
    return layout(fig, "Rate limits: achieved rate against target", "limit", "requests/s", barmode="group")


def funnel_chart(personas: dict[str, Any]) -> go.Figure:
    names = sorted(personas)
    outcomes = sorted({o for p in personas.values() for o in p["outcomes"]},
                      key=lambda o: (list(OUTCOME_COLOURS).index(o) if o in OUTCOME_COLOURS else 99, o))
    fig = go.Figure([go.Bar(y=names, x=[personas[n]["outcomes"].get(o, 0) for n in names], name=o, orientation="h",
                            marker_color=OUTCOME_COLOURS.get(o)) for o in outcomes])
    fig = layout(fig, "Outcomes per persona", "respondents", "", barmode="stack")
    fig.update_layout(height=max(300, 40 * len(names) + 120))
    return fig


def load_plan_chart(timeline: dict[str, Any], stages: list[dict[str, Any]]) -> go.Figure:
    """Planned against achieved per second: arrivals (open model) or respondents in flight
    (closed), with each stage's start marked, so the stage where the run fell behind shows."""
    seconds = timeline["second"]
    fig = go.Figure()
    if timeline.get("planned") is not None:
        fig.add_trace(go.Scatter(x=seconds, y=timeline["planned"], name="planned", mode="lines",
                                 line={"color": "#90a4ae", "width": 3, "shape": "linear"}))
    fig.add_trace(go.Scatter(x=seconds, y=timeline["achieved"], name="achieved", mode="lines+markers",
                             line={"color": "#1565c0"}, marker={"size": 4}))
    if timeline["unit"] == "respondents/s":  # the open model: in flight is a consequence, on its own axis
        fig.add_trace(go.Scatter(x=seconds, y=timeline["in_flight"], name="in flight", yaxis="y2",
                                 line={"color": "#ef6c00", "dash": "dot"}))
        fig.update_layout(yaxis2={"title": "in flight", "overlaying": "y", "side": "right", "showgrid": False})
    for st in stages[1:]:
        fig.add_vline(x=st["start_s"], line={"color": "#bdbdbd", "dash": "dash"})
    for st in stages:
        fig.add_annotation(x=st["start_s"], y=1.02, yref="paper", text=st["name"], showarrow=False,
                           xanchor="left", font={"size": 11, "color": "#616161"})
    what = "arrivals per second" if timeline["unit"] == "respondents/s" else "respondents in flight"
    return layout(fig, f"Load plan: planned against achieved {what}", "second of the run", timeline["unit"])
