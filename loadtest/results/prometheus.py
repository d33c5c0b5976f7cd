"""Live metrics for Prometheus: `--prometheus-port N` serves /metrics while a run goes.

Nothing is counted twice: a collector reads the run's own Metrics (the HDR histograms and
counters both drivers fill anyway) when Prometheus scrapes, so the hot path pays nothing for it.
The figures are the summary's: per-step requests, failures (every reply >= 400 and every request
without a reply) and 429s, service-time histograms (HDR counts at the bucket bounds), respondents
in flight and finished by persona and outcome, dropped arrivals, limit permits and targets. A
Locust master serves the sum its workers shipped (as its summary does); a new test in the web UI
starts the counters again, which Prometheus reads as a counter reset.

The server is prometheus_client's own (a daemon thread; under Locust, gevent's patched one),
on its own registry, bound to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from loadtest.core.usage import BadInput
from loadtest.results.hdr_read import recorded
from loadtest.results.metrics import Metrics

__all__ = ["BUCKETS_S", "Exporter", "ExporterStartError", "LiveView", "RunCollector", "start_exporter"]

BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class LiveView:
    """Where the collector reads from; a driver fills it in once its run exists (None: no run yet)."""

    metrics: Callable[[], Metrics | None] = lambda: None
    in_flight: Callable[[], int] = lambda: 0
    limits: Callable[[], dict[str, dict[str, Any]]] = dict  # name -> {"target": req/s, "granted": permits}
    labels: dict[str, str] = field(default_factory=dict)  # scenario, driver: on loadtest_run_info


def _buckets(hist: HdrHistogram) -> tuple[list[tuple[str, float]], float]:
    """Cumulative counts at each bound (seconds) from a histogram of microseconds, then +Inf; and
    the sum of the samples in seconds (each at its bucket's middle, as hdrh's mean takes them).

    Read through results/hdr_read.py (one copy of the counts array), never hdrh's iterators: the
    engine's loop records on while this runs in the exporter's thread, and an iterator that sees
    the total move raises (HdrConcurrentModificationException, a 500 to the scrape).
    """
    bounds = [round(b * 1e6) for b in BUCKETS_S]
    counts = [0] * len(bounds)
    total = sum_us = 0
    for value, n in recorded(hist):  # value: the bucket's highest equivalent value
        total += n
        low = hist.get_lowest_equivalent_value(value)
        sum_us += n * (low + ((value - low + 1) >> 1))
        for i in range(bisect.bisect_left(bounds, value), len(bounds)):
            counts[i] += n
    out = [(f"{b:g}", float(c)) for b, c in zip(BUCKETS_S, counts, strict=True)]
    return [*out, ("+Inf", float(total))], sum_us / 1e6


class RunCollector(Collector):
    def __init__(self, view: LiveView) -> None:
        self.view = view

    def collect(self) -> Iterator[Metric]:
        view = self.view
        info = GaugeMetricFamily("loadtest_run_info", "The run being measured (always 1).", labels=list(view.labels))
        info.add_metric(list(view.labels.values()), 1)
        yield info
        m = view.metrics()
        if m is None:
            return
        # Snapshots: the driver's loop goes on filling these while a scrape reads them.
        steps = sorted(list(m.steps.items()))
        requests = CounterMetricFamily("loadtest_requests", "Requests sent, by step.", labels=["step"])
        failures = CounterMetricFamily("loadtest_request_failures",
                                       "Requests that failed: a reply >= 400 or none at all.", labels=["step"])
        limited = CounterMetricFamily("loadtest_rate_limited", "Replies 429 (the target asked for less).",
                                      labels=["step"])
        latency = HistogramMetricFamily("loadtest_request_duration_seconds",
                                        "Service time: request written to reply complete.", labels=["step"])
        for step, s in steps:
            requests.add_metric([step], s.count)
            failures.add_metric([step], s.failures)
            limited.add_metric([step], s.rate_limited)
            buckets, sum_s = _buckets(s.service)
            latency.add_metric([step], buckets, sum_value=sum_s)
        yield from (requests, failures, limited, latency)
        walking = GaugeMetricFamily("loadtest_respondents_in_flight", "Respondents walking the survey now.")
        walking.add_metric([], max(0, view.in_flight()))
        yield walking
        finished = CounterMetricFamily("loadtest_respondents", "Respondents finished, by persona and outcome.",
                                       labels=["persona", "outcome"])
        unexpected = CounterMetricFamily("loadtest_respondents_unexpected",
                                         "Respondents with an outcome their persona did not expect, or a failed check.",
                                         labels=["persona"])
        for persona, p in sorted(list(m.personas.items())):
            for outcome, n in sorted(list(p["outcomes"].items())):
                finished.add_metric([persona, outcome], n)
            unexpected.add_metric([persona], p["unexpected"])
        yield from (finished, unexpected)
        dropped = CounterMetricFamily("loadtest_dropped_arrivals",
                                      "Open model: arrivals dropped because max_in_flight were walking.")
        dropped.add_metric([], m.dropped_arrivals)
        yield dropped
        permits = CounterMetricFamily("loadtest_limit_permits", "Permits a named rate limit granted.", labels=["limit"])
        target = GaugeMetricFamily("loadtest_limit_target_rate", "A named rate limit's target, requests/s.",
                                   labels=["limit"])
        for name, lim in sorted(view.limits().items()):
            permits.add_metric([name], lim.get("granted") or 0)
            target.add_metric([name], lim.get("target") or 0)
        yield from (permits, target)


@dataclass
class Exporter:
    server: Any
    thread: Any
    view: LiveView
    port: int

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ExporterStartError(BadInput):
    """The port could not be bound; str() is one line naming it (the CLI exits 2 with it)."""


def start_exporter(port: int | None, host: str = "127.0.0.1", view: LiveView | None = None) -> Exporter | None:
    """Serve /metrics on host:port (port 0: any free one, see Exporter.port); None without a port."""
    if port is None:
        return None
    view = view or LiveView()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(view))
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ExporterStartError(f"--prometheus-port {port}: cannot serve /metrics on {host}:{port} "
                                 f"({exc.strerror or exc})") from None
    return Exporter(server, thread, view, server.server_address[1])
