"""`--prometheus-port` under Locust: the process that owns the run folder (local or master)
serves /metrics over the current test: a master's figures are the sum its workers shipped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loadtest.locust_driver.state import TestRun
from loadtest.results.prometheus import Exporter, LiveView, start_exporter

__all__ = ["serve_live_metrics"]


def serve_live_metrics(opts: Any, role: str, scenario: str, current: Callable[[], TestRun | None]) -> Exporter | None:
    """None on a worker (it ships its figures to the master) or without --prometheus-port."""
    if role == "worker" or getattr(opts, "prometheus_port", None) is None:
        return None

    def in_flight() -> int:
        run = current()
        return sum(run.started_total.values()) - run.metrics.respondents if run is not None else 0

    view = LiveView(metrics=lambda: run.metrics if (run := current()) is not None else None, in_flight=in_flight,
                    limits=lambda: run.limits() if (run := current()) is not None else {},
                    labels={"scenario": scenario, "driver": "locust"})
    return start_exporter(opts.prometheus_port, opts.prometheus_host, view)
