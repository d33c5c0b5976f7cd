"""The Prometheus collector over a run's Metrics, socket-free: what /metrics would say, parsed
back with prometheus_client's own parser, equals the run's figures."""

from __future__ import annotations

import sys
import threading

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from loadtest.results.metrics import Metrics
from loadtest.results.prometheus import LiveView, RunCollector
from tests.unit.test_funnel_and_interview import A, result


def scrape(view: LiveView) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(view))
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_collector_reports_the_runs_own_figures() -> None:
    m = Metrics()
    for ms in (0.5, 2, 3, 40, 700):
        m.request("take", ms / 1000, ms / 1000, 200, 1.0)
    m.request("submit-page", 0.002, 0.002, 429, 1.0)
    m.request("submit-page", 0.0, 5.0, 0, 2.0)  # no reply
    m.respondent(result([A], "survey_complete", "completer"))
    m.respondent(result([A], "abandoned", "completer"))
    m.dropped_arrivals = 3
    got = scrape(LiveView(metrics=lambda: m, in_flight=lambda: 7,
                          limits=lambda: {"panel": {"target": 10.0, "granted": 42, "achieved": 9.9}},
                          labels={"scenario": "smoke", "driver": "engine"}))
    assert got[("loadtest_run_info", (("driver", "engine"), ("scenario", "smoke")))] == 1
    assert got[("loadtest_requests_total", (("step", "take"),))] == 5
    assert got[("loadtest_request_failures_total", (("step", "submit-page"),))] == 2
    assert got[("loadtest_rate_limited_total", (("step", "submit-page"),))] == 1
    take = (("step", "take"),)
    assert got[("loadtest_request_duration_seconds_count", take)] == 5
    assert got[("loadtest_request_duration_seconds_bucket", (("le", "0.001"), ("step", "take")))] == 1
    assert got[("loadtest_request_duration_seconds_bucket", (("le", "0.005"), ("step", "take")))] == 3
    assert got[("loadtest_request_duration_seconds_bucket", (("le", "+Inf"), ("step", "take")))] == 5
    assert abs(got[("loadtest_request_duration_seconds_sum", take)] - 0.7455) < 0.002
    # the request without a reply has no service time: counted, failed, not in the histogram
    assert got[("loadtest_request_duration_seconds_count", (("step", "submit-page"),))] == 1
    assert got[("loadtest_respondents_in_flight", ())] == 7
    assert got[("loadtest_respondents_total", (("outcome", "survey_complete"), ("persona", "completer")))] == 1
    assert got[("loadtest_respondents_total", (("outcome", "abandoned"), ("persona", "completer")))] == 1
    assert got[("loadtest_dropped_arrivals_total", ())] == 3
    assert got[("loadtest_limit_permits_total", (("limit", "panel"),))] == 42
    assert got[("loadtest_limit_target_rate", (("limit", "panel"),))] == 10


def test_before_a_run_exists_only_the_info_line_is_served() -> None:
    got = scrape(LiveView(labels={"scenario": "s"}))
    assert list(got) == [("loadtest_run_info", (("scenario", "s"),))]


def test_a_scrape_while_the_loop_records_reads_one_moment_of_each_histogram() -> None:
    # The engine's loop records into the histograms while the exporter's thread reads them;
    # switching threads every microsecond makes the two interleave inside any one scrape.
    m = Metrics()
    m.request("take", 0.003, 0.003, 200, 1.0)
    done = threading.Event()

    def loop() -> None:
        i = 0
        while not done.is_set():
            m.request("take", (i % 900 + 1) / 1000, 0.001, 200, 1.0)
            i += 1

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    recorder = threading.Thread(target=loop)
    recorder.start()
    try:
        seen = []
        for _ in range(30):
            got = scrape(LiveView(metrics=lambda: m))
            count = got[("loadtest_request_duration_seconds_count", (("step", "take"),))]
            top = got[("loadtest_request_duration_seconds_bucket", (("le", "+Inf"), ("step", "take")))]
            assert count == top
            seen.append(count)
    finally:
        done.set()
        recorder.join()
        sys.setswitchinterval(old)
    assert seen == sorted(seen) and seen[-1] > seen[0]  # counters only grow, and the loop did record


def test_the_histogram_sum_is_hdrs_own_mean_times_count() -> None:
    m = Metrics()
    for ms in (0.05, 1.7, 12, 333, 4_100):
        m.request("take", ms / 1000, ms / 1000, 200, 1.0)
    hist = m.steps["take"].service
    got = scrape(LiveView(metrics=lambda: m))
    assert got[("loadtest_request_duration_seconds_sum", (("step", "take"),))] == pytest.approx(
        hist.get_mean_value() * hist.get_total_count() / 1e6, rel=1e-12)
