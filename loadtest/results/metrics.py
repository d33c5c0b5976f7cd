"""Run metrics: HDR histograms per step, outcome counters per persona, a per-second timeline.

Latency is recorded in microseconds into `hdrh` histograms (3 significant digits, mergeable across
processes). Two per step: `service` (request written -> reply complete) and `corrected` (from when
the request was meant to be sent: an open-model arrival, or the previous reply plus think time).
The gap between them is coordinated omission: time a request spent waiting to even start.
Pass/fail decisions use these, never Locust's rounded figures.

The per-second timeline keeps, per step, the count, the failures and a sparse histogram of
service times rounded to 2 significant digits (a few dozen keys a second, where an HDR histogram
per second would cost ~20 KB): enough for percentiles-over-time charts and requests.csv, while
the run's own percentiles come from the 3-digit HDR histograms.

`export()` / `absorb()` carry a Metrics between processes (Locust workers to the master) as plain
values with the histograms HDR-encoded, so the master's percentiles are those of all samples.

`errors` tallies what went wrong with respondents by message (an error that ended one, or a
failed check), with its step, its blame and the first respondent it happened to, so the console
and the report can show the most frequent ones, as Locust's error report does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from loadtest.core.flow import RespondentResult
from loadtest.core.stages import StagePlan
from loadtest.results.funnel import Funnel
from loadtest.results.hdr_record import record
from loadtest.results.interview import InterviewLengths
from loadtest.results.stage_figures import StageRecorder

__all__ = ["ErrorTally", "Metrics", "StepStats", "bucket_percentile", "new_histogram", "round2"]

LOWEST_US, HIGHEST_US, DIGITS = 1, 3_600_000_000, 3
MAX_ERROR_KINDS = 200  # distinct messages kept; beyond, they are only counted (unbounded texts, bounded memory)
MAX_MESSAGE = 300


def round2(us: int) -> int:
    """Microseconds kept to 2 significant digits (1234 -> 1200): the timeline's resolution."""
    if us < 100:
        return us
    scale = 1
    while us >= 100:
        us //= 10
        scale *= 10
    return us * scale


def bucket_percentile(latencies: dict[int, int], percentile: float) -> int:
    """The value at `percentile` of a sparse {microseconds: count} histogram (0 when empty)."""
    total = sum(latencies.values())
    if not total:
        return 0
    rank, seen = percentile / 100.0 * total, 0
    for value in sorted(latencies):
        seen += latencies[value]
        if seen >= rank:
            return value
    return max(latencies)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def _ms(hist: HdrHistogram, percentile: float) -> float:
    return round(hist.get_value_at_percentile(percentile) / 1000.0, 3) if hist.get_total_count() else 0.0


def percentiles(hist: HdrHistogram) -> dict[str, float]:
    return {
        "p50_ms": _ms(hist, 50),
        "p95_ms": _ms(hist, 95),
        "p99_ms": _ms(hist, 99),
        "max_ms": round(hist.get_max_value() / 1000.0, 3) if hist.get_total_count() else 0.0,
    }


@dataclass
class StepStats:
    service: HdrHistogram = field(default_factory=new_histogram)
    own_corrected: HdrHistogram | None = None  # None while every corrected time equals its service time

    @property
    def corrected(self) -> HdrHistogram:
        """Closed loops with no think time between requests (Locust's users) never differ from
        the service time: then one histogram serves for both, and each sample is recorded once."""
        return self.service if self.own_corrected is None else self.own_corrected
    count: int = 0
    failures: int = 0  # no reply, or any reply >= 400 the reference platform did not tag as injected
    rate_limited: int = 0  # of those, 429s: the target asked for less (counted apart too)
    injected: int = 0  # replies the platform tagged as an injected fault (x-loadtest-fault)
    statuses: Counter[int] = field(default_factory=Counter)


class ErrorTally:
    """Counts per (kind, step, blame, message): kind is "error" (it ended the respondent) or
    "check" (a failed check); with each, the first respondent's seed and index, to replay it by."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, str, str], list[int]] = {}  # key -> [count, first seed, first index]
        self.overflow = 0  # occurrences of messages beyond MAX_ERROR_KINDS

    def add(self, kind: str, step: str, blame: str, message: str, seed: int, index: int, count: int = 1) -> None:
        key = (kind, step, blame, message[:MAX_MESSAGE])
        entry = self.entries.get(key)
        if entry is not None:
            entry[0] += count
        elif len(self.entries) < MAX_ERROR_KINDS:
            self.entries[key] = [count, seed, index]
        else:
            self.overflow += count

    def record(self, result: RespondentResult) -> None:
        if result.error:
            e = result.error
            self.add("error", e.get("step") or _failed_step(result), str(e["blame"]),
                     f"{e['error']}: {e['message']}", result.seed, result.index)
        for check in result.checks:
            self.add("check", "", str(check.blame), f"{check.name}: {check.detail}", result.seed, result.index)

    def top(self, n: int | None = None) -> list[dict[str, Any]]:
        ranked = sorted(self.entries.items(), key=lambda kv: (-kv[1][0], kv[0]))
        return [{"count": count, "kind": kind, "step": step, "blame": blame, "message": message,
                 "first_seed": seed, "first_index": index}
                for (kind, step, blame, message), (count, seed, index) in ranked[:n]]

    def export(self) -> dict[str, Any]:
        return {"entries": [[*key, *value] for key, value in self.entries.items()], "overflow": self.overflow}

    def absorb(self, data: dict[str, Any]) -> None:
        for kind, step, blame, message, count, seed, index in data.get("entries", ()):
            self.add(kind, step, blame, message, seed, index, count)
        self.overflow += data.get("overflow", 0)


def _failed_step(result: RespondentResult) -> str:
    """The step an error ended the respondent on, where the result shows it."""
    if result.recoveries and result.recoveries[-1].how == "gave_up":
        return result.recoveries[-1].lost
    return "take" if not result.statuses else ""


class Metrics:
    def __init__(self) -> None:
        self.steps: dict[str, StepStats] = defaultdict(StepStats)
        # second since start -> step -> [count, failures, {service us (2 digits): count}]
        self.timeline: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, {}]))
        self.outcomes: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()  # every reply status seen, terminal or not
        self.personas: dict[str, dict[str, Any]] = {}
        self.errors_by_blame: Counter[str] = Counter()
        self.errors = ErrorTally()
        self.checks: Counter[str] = Counter()
        self.recoveries: Counter[str] = Counter()  # lost replies recovered from, by how (core/flow.py)
        self.faults: Counter[str] = Counter()  # injected faults respondents met, by kind
        self.extensions_not_seen: Counter[str] = Counter()  # reference-platform behaviour the target lacks (info)
        self.invalid_questions: Counter[str] = Counter()  # "survey:question" -> validation errors naming it
        self.respondents = 0
        self.unexpected = 0
        self.dropped_arrivals = 0
        self.funnel = Funnel()  # per survey and persona: each page reached, answered, ended at
        self.interview = InterviewLengths()  # length of interview by persona and outcome
        self.by_stage: StageRecorder | None = None  # per-stage figures, for plans of more than one stage

    def track_stages(self, plan: StagePlan) -> None:
        """Keep figures per stage of `plan` too (a one-stage plan's are the run's own)."""
        self.by_stage = StageRecorder(plan) if len(plan.stages) > 1 else None

    def dropped(self, stage: int) -> None:
        """An arrival dropped (max_in_flight walking), in the plan's stage `stage`."""
        self.dropped_arrivals += 1
        if self.by_stage is not None:
            self.by_stage.dropped[stage] += 1

    def request(self, step: str, service_s: float, corrected_s: float, http_status: int, at_s: float,
                injected: bool = False) -> None:
        """One request; http_status 0 means no reply (transport failure or timeout). Every reply
        >= 400 is a failure, as in k6's http_req_failed and in Locust; a fault the reference
        platform tagged as injected is counted apart, so the error ratio is of genuine ones."""
        # Every request of both drivers passes here: the common case (a reply, not injected, no
        # stages, corrected equal to service) takes the fewest steps.
        s = self.steps[step]
        s.count += 1
        if injected:
            s.injected += 1
            failed = False
        else:
            failed = http_status == 0 or http_status >= 400
            if failed:
                s.failures += 1
                s.rate_limited += http_status == 429
        s.statuses[http_status] += 1
        if self.by_stage is not None:
            self.by_stage.request(step, at_s, service_s, http_status, failed)
        bucket = self.timeline[int(at_s)][step]
        bucket[0] += 1
        if failed:
            bucket[1] += 1
        if http_status:
            us = int(service_s * 1e6)
            if us < LOWEST_US:
                us = LOWEST_US
            if corrected_s != service_s or s.own_corrected is not None:
                corrected_us = max(LOWEST_US, int(max(corrected_s, service_s) * 1e6))
                if s.own_corrected is None and corrected_us != us:  # the first that differs: split them
                    s.own_corrected = new_histogram()
                    s.own_corrected.add(s.service)  # every earlier sample, equal in both
                if s.own_corrected is not None:
                    record(s.own_corrected, corrected_us)
            record(s.service, us)
            key = round2(us) if us >= 100 else us
            lat = bucket[2]
            lat[key] = lat.get(key, 0) + 1

    def respondent(self, result: RespondentResult, timings: dict[str, float] | None = None) -> None:
        self.respondents += 1
        self.funnel.record(result)
        if timings is not None:  # the driver's duration_s and think_s (respondents.jsonl's timings)
            self.interview.record(result, timings)
        outcome = result.outcome or "incomplete"
        self.outcomes[outcome] += 1
        self.statuses.update(result.statuses)
        p = self.personas.get(result.persona)
        if p is None:  # not setdefault: that would build the Counter every time
            p = self.personas[result.persona] = {"respondents": 0, "outcomes": Counter(), "unexpected": 0}
        p["respondents"] += 1
        p["outcomes"][outcome] += 1
        # A respondent cut off by the end of the run (Locust's -t, a stop) is reported as
        # incomplete, not as a failed check: it did nothing wrong.
        bad = outcome != "incomplete" and (not result.expected or bool(result.checks))
        if bad:
            p["unexpected"] += 1
            self.unexpected += 1
        for check in result.checks:
            self.checks[check.name] += 1
        for recovery in result.recoveries:
            self.recoveries[recovery.how] += 1
        # Most respondents meet neither; Counter.update of an empty list still costs its Mapping check.
        if result.faults:
            self.faults.update(result.faults)
        if result.extensions_not_seen:
            self.extensions_not_seen.update(result.extensions_not_seen)
        for qid in result.invalid_questions:
            self.invalid_questions[f"{result.survey_id}:{qid}"] += 1
        if result.error:
            self.errors_by_blame[result.error["blame"]] += 1
        if result.error or result.checks:
            self.errors.record(result)

    # --- summaries ------------------------------------------------------------------------------
    def requests_summary(self) -> dict[str, Any]:
        out = {}
        for step, s in sorted(self.steps.items()):
            out[step] = {
                "count": s.count,
                "failures": s.failures,
                "rate_limited": s.rate_limited,
                "injected": s.injected,
                **percentiles(s.service),
                "corrected": percentiles(s.corrected),
                "http_statuses": {str(k): v for k, v in sorted(s.statuses.items())},
            }
        return out

    def histograms(self) -> dict[str, dict[str, str]]:
        """Each step's HDR histograms, encoded (summary.json keeps them: reports and baseline
        comparisons are re-made from them exactly, with no samples file)."""
        return {step: {"service": s.service.encode().decode(), "corrected": s.corrected.encode().decode()}
                for step, s in sorted(self.steps.items()) if s.service.get_total_count()}

    def timeline_rows(self) -> list[dict[str, Any]]:
        """requests.csv: one row per second per step."""
        rows = []
        for sec in sorted(self.timeline):
            for step, (count, failed, lat) in sorted(self.timeline[sec].items()):
                rows.append({"second": sec, "step": step, "requests": count, "failures": failed,
                             **{f"p{p}_ms": round(bucket_percentile(lat, p) / 1000, 3) for p in (50, 95, 99)},
                             "max_ms": round(max(lat) / 1000, 3) if lat else 0.0})
        return rows

    def personas_summary(self) -> dict[str, Any]:
        return {
            name: {"respondents": p["respondents"], "outcomes": dict(sorted(p["outcomes"].items())),
                   "unexpected": p["unexpected"]}
            for name, p in sorted(self.personas.items())
        }

    # --- between processes -----------------------------------------------------------------------
    def export(self, timeline_base: int = 0) -> dict[str, Any]:
        """Plain values (msgpack-able, string keys). Timeline seconds are shifted by
        `timeline_base` (the sender's start, in epoch seconds) so a receiver can rebase them."""
        return {
            "steps": {name: {"service": s.service.encode(), "corrected": s.corrected.encode(), "count": s.count,
                             "failures": s.failures, "injected": s.injected, "rate_limited": s.rate_limited,
                             "statuses": {str(k): v for k, v in s.statuses.items()}}
                      for name, s in self.steps.items()},
            "timeline": {str(timeline_base + sec): {step: [b[0], b[1], {str(k): v for k, v in b[2].items()}]
                                                    for step, b in steps.items()}
                         for sec, steps in self.timeline.items()},
            "outcomes": dict(self.outcomes), "statuses": dict(self.statuses),
            "personas": {name: {"respondents": p["respondents"], "outcomes": dict(p["outcomes"]),
                                "unexpected": p["unexpected"]} for name, p in self.personas.items()},
            "errors_by_blame": dict(self.errors_by_blame), "checks": dict(self.checks), "errors": self.errors.export(),
            "recoveries": dict(self.recoveries), "faults": dict(self.faults),
            "extensions_not_seen": dict(self.extensions_not_seen), "invalid_questions": dict(self.invalid_questions),
            "respondents": self.respondents, "unexpected": self.unexpected, "dropped_arrivals": self.dropped_arrivals,
            "funnel": self.funnel.export(), "interview": self.interview.export(),
            **({"by_stage": self.by_stage.export()} if self.by_stage is not None else {}),
        }

    def absorb(self, data: dict[str, Any], timeline_base: int = 0) -> None:
        """Add an exported Metrics to this one (histograms merged, counters summed)."""
        for name, d in data["steps"].items():
            s = self.steps[name]
            if d["count"]:
                service, corrected = HdrHistogram.decode(d["service"]), HdrHistogram.decode(d["corrected"])
                if s.own_corrected is None and corrected.encode() != service.encode():
                    s.own_corrected = new_histogram()
                    s.own_corrected.add(s.service)
                s.service.add(service)
                if s.own_corrected is not None:
                    s.own_corrected.add(corrected)
            s.count += d["count"]
            s.failures += d["failures"]
            s.injected += d.get("injected", 0)
            s.rate_limited += d.get("rate_limited", 0)
            s.statuses.update({int(k): v for k, v in d["statuses"].items()})
        for sec, steps in data["timeline"].items():
            for step, (count, failed, latencies) in steps.items():
                bucket = self.timeline[int(sec) - timeline_base][step]
                bucket[0] += count
                bucket[1] += failed
                mine = bucket[2]
                for us, n in latencies.items():
                    mine[int(us)] = mine.get(int(us), 0) + n
        self.outcomes.update(data["outcomes"])
        self.statuses.update(data["statuses"])
        for name, d in data["personas"].items():
            p = self.personas.setdefault(name, {"respondents": 0, "outcomes": Counter(), "unexpected": 0})
            p["respondents"] += d["respondents"]
            p["outcomes"].update(d["outcomes"])
            p["unexpected"] += d["unexpected"]
        self.errors_by_blame.update(data["errors_by_blame"])
        self.errors.absorb(data.get("errors", {}))
        self.checks.update(data["checks"])
        self.recoveries.update(data.get("recoveries", {}))
        self.faults.update(data.get("faults", {}))
        self.extensions_not_seen.update(data.get("extensions_not_seen", {}))
        self.invalid_questions.update(data.get("invalid_questions", {}))
        self.respondents += data["respondents"]
        self.unexpected += data["unexpected"]
        self.dropped_arrivals += data["dropped_arrivals"]
        self.funnel.absorb(data.get("funnel", {}))
        self.interview.absorb(data.get("interview", []))
        if self.by_stage is not None and "by_stage" in data:
            self.by_stage.absorb(data["by_stage"])

    @property
    def total_requests(self) -> int:
        return sum(s.count for s in self.steps.values())

    @property
    def failed_requests(self) -> int:
        return sum(s.failures for s in self.steps.values())
