"""report.html's pieces without a browser: the inlined plotly.js is the basic bundle of the very
version plotly.py builds figures for, a trace it cannot draw is refused, a request without a reply
is never drawn or tabled as 0 ms, long runs are thinned, and the sections render from a summary
(and from an older summary that lacks them)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.offline
import pytest

from loadtest.report.html_report import render_html
from loadtest.report.plotly_bundle import bundle_version, check_traces, plotly_basic_js
from loadtest.report.sections import requests_table, survey_sections
from loadtest.report.survey_charts import MAX_POINTS, no_reply_seconds, thin_rows
from loadtest.results.funnel import Funnel, funnel_summary
from tests.unit.test_funnel_and_interview import A, B, result


def test_the_inlined_bundle_is_plotly_pys_own_version_and_a_quarter_of_the_full_one() -> None:
    assert bundle_version() == plotly.offline.get_plotlyjs_version()
    assert len(plotly_basic_js()) < len(plotly.offline.get_plotlyjs()) / 3


def test_a_trace_the_basic_bundle_cannot_draw_is_refused() -> None:
    check_traces(go.Figure([go.Bar(x=[1], y=[1]), go.Scatter(x=[1], y=[1])]))
    with pytest.raises(ValueError, match="cannot draw"):
        check_traces(go.Figure([go.Funnel(x=[1], y=["a"])]))


def row(second: int, requests: int, p50: float, step: str = "take") -> dict[str, Any]:
    return {"second": second, "step": step, "requests": requests, "failures": 0, "p50_ms": p50, "p95_ms": p50,
            "p99_ms": p50, "max_ms": p50}


def test_seconds_without_a_reply_are_gaps_and_long_runs_are_windows() -> None:
    rows = [row(0, 3, 2.0), row(1, 2, 0.0), row(2, 1, 5.0)]  # second 1: two requests, no reply
    drawn = thin_rows(rows)
    assert [r["p50_ms"] for r in drawn] == [2.0, None, 5.0]
    assert no_reply_seconds(rows) == {"take": [1]}
    long = [row(s, 2, float(s % 7 + 1)) for s in range(4 * MAX_POINTS)]
    thinned = thin_rows(long)
    assert len(thinned) <= MAX_POINTS
    assert thinned[0]["requests"] == 2.0 and thinned[0]["p99_ms"] == 4.0  # a mean rate; the window's worst second


def test_a_step_with_no_reply_at_all_says_so_instead_of_zero_ms() -> None:
    summary = {"requests": {"take": {"count": 4, "failures": 4, "rate_limited": 0, "p50_ms": 0.0, "p95_ms": 0.0,
                                     "p99_ms": 0.0, "max_ms": 0.0, "corrected": {"p99_ms": 0.0},
                                     "http_statuses": {"0": 4}}}}
    html = requests_table(summary, lambda head, rows, bad=None: repr((head, rows, bad)))
    assert "'no reply', 'no reply'" in html and "0.0" not in html


def test_the_report_renders_the_survey_sections_and_an_older_summary_without_them() -> None:
    f = Funnel()
    f.record(result([A, B, B], "survey_complete", statuses=["success", "success", "validation_errors"]))
    f.record(result([A], "quota_full", details={"quotaId": "men"}))
    summary: dict[str, Any] = {"scenario": "t", "passed": True, "funnel": funnel_summary(f),
                               "personas": {"p": {"respondents": 2, "outcomes": {"survey_complete": 1,
                                                                                 "quota_full": 1}, "unexpected": 0}}}
    html = render_html(summary, [])
    assert "Survey 7: the funnel by page" in html and "Validation errors by page" in html and "men" in html
    assert 'id="funnel-7"' in html and "Expected and unexpected outcomes per persona" in html
    assert survey_sections({}, str, str) == ""
    assert "Settings" in render_html({"scenario": "old", "passed": False}, [])
