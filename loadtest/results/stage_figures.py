"""Per-stage figures: what each stage of the load plan asked for and what it got.

Two sources, so that neither driver's hot path carries more than one attribute check:
- `StageRecorder` (inside Metrics, only for plans of more than one stage) keeps each stage's
  requests per step in HDR histograms (3 significant digits, mergeable across Locust workers);
  a request counts in the stage in which its reply came (after the plan's end: the last stage).
- respondents.jsonl (both drivers write it; a Locust master holds every worker's lines) gives
  each respondent's start, intended start and duration: respondents started per stage and per
  second, and the exact number in flight over time (a sweep over start and end times).

`stage_report` joins them with the plan into summary.json's `stages` (one entry per stage) and
`load_timeline` (per second: planned against achieved arrivals, or in-flight count).
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from hdrh.histogram import HdrHistogram

from loadtest.core.stages import Stage, StagePlan, arrival_times
from loadtest.results.hdr_record import record
from loadtest.scenario.load import LoadModel

if TYPE_CHECKING:  # metrics.py holds a StageRecorder, so it is imported here for its type only
    from loadtest.results.metrics import Metrics

__all__ = ["StageRecorder", "respondent_spans", "stage_lines", "stage_report"]

LOWEST_US, HIGHEST_US, DIGITS = 1, 3_600_000_000, 3  # as results/metrics.py's histograms


def _histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


@dataclass
class _StageStep:
    service: HdrHistogram = field(default_factory=_histogram)
    count: int = 0
    failures: int = 0


class StageRecorder:
    """Requests per stage and step; arrivals dropped per stage."""

    def __init__(self, plan: StagePlan) -> None:
        self.boundaries = [plan.bounds(i)[0] for i in range(1, len(plan.stages))]
        self.steps: list[dict[str, _StageStep]] = [{} for _ in plan.stages]
        self.dropped = [0] * len(plan.stages)

    def stage_at(self, at_s: float) -> int:
        return bisect.bisect_right(self.boundaries, at_s)

    def request(self, step: str, at_s: float, service_s: float, http_status: int, failed: bool) -> None:
        steps = self.steps[bisect.bisect_right(self.boundaries, at_s)]
        s = steps.get(step)
        if s is None:
            s = steps[step] = _StageStep()
        s.count += 1
        s.failures += failed
        if http_status:
            record(s.service, max(LOWEST_US, int(service_s * 1e6)))

    def export(self) -> dict[str, Any]:
        return {"steps": [{name: [s.service.encode(), s.count, s.failures] for name, s in steps.items()}
                          for steps in self.steps], "dropped": list(self.dropped)}

    def absorb(self, data: dict[str, Any]) -> None:
        if len(data["steps"]) != len(self.steps):
            return  # another plan's figures (a process started with a different scenario)
        for mine, theirs in zip(self.steps, data["steps"], strict=True):
            for name, (encoded, count, failures) in theirs.items():
                s = mine.get(name)
                if s is None:
                    s = mine[name] = _StageStep()
                if count:
                    s.service.add(HdrHistogram.decode(encoded))
                s.count += count
                s.failures += failures
        self.dropped = [a + b for a, b in zip(self.dropped, data["dropped"], strict=True)]


def _ms(hist: HdrHistogram, percentile: float) -> float:
    return round(hist.get_value_at_percentile(percentile) / 1000.0, 3) if hist.get_total_count() else 0.0


def _step_figures(hist: HdrHistogram, count: int, failures: int) -> dict[str, Any]:
    return {"count": count, "failures": failures,
            **{f"p{p}_ms": _ms(hist, p) for p in (50, 95, 99)}}


# --- respondents.jsonl ------------------------------------------------------------------------------
def respondent_spans(path: Path | None) -> list[tuple[float, float, float]]:
    """(start_s, intended_start_s, duration_s) of every respondent in a respondents.jsonl."""
    if path is None or not path.is_file():
        return []
    out = []
    with path.open("rb") as f:
        for line in f:
            # respondent_line puts the timings last: parse that tail, not the whole respondent.
            line = line.rstrip(b"\n")
            at = line.rfind(b',"timings":')
            try:
                timings = orjson.loads(line[at + 11:-1]) if at >= 0 else orjson.loads(line).get("timings", {})
            except orjson.JSONDecodeError:
                try:
                    timings = orjson.loads(line).get("timings", {})
                except orjson.JSONDecodeError:  # a torn last line (a killed run): not a respondent
                    continue
            start = float(timings.get("start_s", 0.0))
            out.append((start, start - float(timings.get("late_s", 0.0)), float(timings.get("duration_s", 0.0))))
    return out


def _in_flight(spans: list[tuple[float, float, float]], seconds: int, plan: StagePlan
               ) -> tuple[list[float], list[float], list[int]]:
    """Respondent-seconds in flight per second of the run and per stage, and each stage's peak
    (one more bucket at the end: after the plan, while the last respondents finish)."""
    # Ends rounded as the drivers round starts (0.1 ms): a respondent that starts as the previous
    # one of its worker ends sorts after that end, not beside it.
    events = sorted([(s, 1) for s, _, _ in spans] + [(round(s + d, 4), -1) for s, _, d in spans],
                    key=lambda e: (e[0], e[1]))
    per_second = [0.0] * seconds
    per_stage = [0.0] * (len(plan.stages) + 1)
    peak = [0] * (len(plan.stages) + 1)
    ends = [plan.bounds(i)[1] for i in range(len(plan.stages))] + [math.inf]
    level, last = 0, 0.0

    def spread(t0: float, t1: float, n: int) -> None:
        t = t0
        while t < t1:  # split [t0, t1) at whole seconds and at stage ends
            sec = int(t)
            i = min(bisect.bisect_right(ends, t), len(ends) - 1)
            nxt = min(t1, sec + 1.0, ends[i])
            if sec < seconds:
                per_second[sec] += n * (nxt - t)
            per_stage[i] += n * (nxt - t)
            peak[i] = max(peak[i], n)
            t = nxt if nxt > t else t1

    for t, change in events:
        if level and t > last:
            spread(last, t, level)
        last = max(last, t)
        level += change
    return per_second, per_stage, peak


# --- the report -----------------------------------------------------------------------------------
def stage_report(load: LoadModel, seed: int, metrics: Metrics, respondents: Path | None, duration_s: float,
                 planned: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """summary.json's `stages` and `load_timeline`. `planned` False: the driver did not follow the
    plan (Locust with a flat form: its -u/-r decide), so the run is one stage with no plan."""
    plan = load.plan() if planned else StagePlan((Stage("stage1", max(duration_s, 1e-3), 0.0),), 0.0)
    spans = respondent_spans(respondents)
    end = max([plan.duration_s, duration_s, *(s + d for s, _, d in spans)] or [0.0])
    seconds = max(1, math.ceil(end))
    per_second, area, peak = _in_flight(spans, seconds, plan)
    open_model = load.kind == "open"
    started = Counter(plan.stage_at(intended if open_model else start) for start, intended, _ in spans)
    scheduled = _scheduled(load, plan, seed) if planned and open_model else None
    recorder = metrics.by_stage
    stages = []
    for i, stage in enumerate(plan.stages):
        t0, t1 = plan.bounds(i)
        if recorder is not None:
            steps = {name: _step_figures(s.service, s.count, s.failures)
                     for name, s in sorted(recorder.steps[i].items())}
            dropped = recorder.dropped[i]
        else:  # one stage: the run's own figures are the stage's
            steps = {name: _step_figures(m.service, m.count, m.failures) for name, m in sorted(metrics.steps.items())}
            dropped = metrics.dropped_arrivals
        total = sum(s["count"] for s in steps.values())
        failures = sum(s["failures"] for s in steps.values())
        entry: dict[str, Any] = {
            "name": stage.name, "index": i, "start_s": round(t0, 3), "end_s": round(t1, 3),
            "from_target": plan.from_target(i) if planned else None, "target": stage.target if planned else None,
            "requests": steps, "requests_total": total, "failures_total": failures,
            "error_ratio": round(failures / total, 6) if total else 0.0,
            "respondents_started": started.get(i, 0),
            "in_flight": {"planned_mean": round(plan.mean_between(t0, t1), 3) if planned and not open_model else None,
                          "mean": round(area[i] / (t1 - t0), 3), "peak": peak[i]},
        }
        if open_model:
            entry["arrivals"] = {"planned": scheduled[i] if scheduled is not None else None,
                                 "expected": round(plan.integral(t1) - plan.integral(t0), 3) if planned else None,
                                 "started": started.get(i, 0), "dropped": dropped}
        stages.append(entry)
    return stages, _timeline(plan, spans, per_second, seconds, open_model, planned)


def _scheduled(load: LoadModel, plan: StagePlan, seed: int) -> list[int]:
    if load.arrivals == "uniform":
        return plan.uniform_counts()
    counts = [0] * len(plan.stages)
    for arrival in arrival_times(plan, load.arrivals, seed):  # the same seeded schedule the run followed
        counts[arrival.stage] += 1
    return counts


def _timeline(plan: StagePlan, spans: list[tuple[float, float, float]], per_second: list[float], seconds: int,
              open_model: bool, planned: bool) -> dict[str, Any]:
    """Per second: the plan's arrivals (open) or mean in-flight target (closed), and what was achieved."""
    starts = [0] * seconds
    for start, _, _ in spans:
        starts[min(int(start), seconds - 1)] += 1
    plan_per_second = [round(plan.integral(s + 1) - plan.integral(s), 3) if open_model
                       else round(plan.mean_between(s, min(s + 1.0, plan.duration_s)), 3)
                       if s < plan.duration_s else 0.0 for s in range(seconds)]
    in_flight = [round(v, 3) for v in per_second]
    return {"unit": "respondents/s" if open_model else "respondents in flight",
            "second": list(range(seconds)),
            "planned": plan_per_second if planned else None,
            "achieved": starts if open_model else in_flight,
            "started": starts, "in_flight": in_flight}


def stage_lines(stages: list[dict[str, Any]]) -> list[str]:
    """The console's stage table (only for plans of more than one stage): one line a stage."""
    if len(stages) < 2:
        return []
    out = [f"{'stage':<14}{'seconds':>13}{'target':>13}{'started':>9}{'planned':>9}{'dropped':>9}"
           f"{'in flight':>11}{'requests':>10}{'fail':>6}  slowest p95"]
    for s in stages:
        target = f"{s['from_target']:g}->{s['target']:g}" if s["target"] is not None else "-"
        arrivals = s.get("arrivals") or {}
        planned = arrivals.get("planned") if arrivals else s["in_flight"]["planned_mean"]
        slowest = max(s["requests"].items(), key=lambda kv: kv[1]["p95_ms"], default=None)
        out.append(f"{s['name'][:13]:<14}{s['start_s']:>6g}-{s['end_s']:<6g}{target:>13}{s['respondents_started']:>9}"
                   f"{'-' if planned is None else planned:>9}{arrivals.get('dropped', '-'):>9}"
                   f"{s['in_flight']['mean']:>6.1f}/{s['in_flight']['peak']:<4}{s['requests_total']:>10}"
                   f"{s['failures_total']:>6}  " + (f"{slowest[0]} {slowest[1]['p95_ms']:.2f} ms" if slowest else "-"))
    return out
