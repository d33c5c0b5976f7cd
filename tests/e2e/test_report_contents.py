"""report.html as a survey QA engineer reads it, in headless Chromium: at most 1.5 MB, every chart
drawn offline with no console error, and the sections that explain a run: settings, expected and
unexpected outcomes per persona, each survey's funnel by page (validation errors, terminate
reasons, full quota cells), the length of interview with the speeder rule.

The run is scenarios/smoke.toml's persona mix with quick walks (test_run.quick_smoke) and
RESPONDENTS respondents, not the example's 200: its length is the panel's 10 callbacks a second."""

from __future__ import annotations

from pathlib import Path

from selenium import webdriver

from tests.browser import wait_for
from tests.e2e.test_run import loadtest, quick_smoke, run_dir, summary

MAX_BYTES = 1_500_000
# Three whole cycles of the mix (every persona 3 times or more): 18 quota chasers at the panel's
# 15-place "men" cell, so it fills and turns chasers away (the example's 200 send 38).
RESPONDENTS = 96


def test_the_report_is_small_draws_every_chart_offline_and_explains_the_run(tmp_path: Path,
                                                                             browser: webdriver.Chrome) -> None:
    out = loadtest("run", str(quick_smoke(tmp_path)), "--respondents", str(RESPONDENTS), "--reports",
                   str(tmp_path / "r"))
    assert out.returncode in (0, 3), out.stdout + out.stderr  # a busy machine may miss a p95; the report is the point
    folder, s = run_dir(tmp_path / "r"), summary(tmp_path / "r")
    report = folder / "report.html"
    assert report.stat().st_size <= MAX_BYTES, f"report.html is {report.stat().st_size} bytes"
    text = report.read_text()
    for heading in ("Settings", "Expected and unexpected outcomes per persona", "Survey 100001", "the funnel by page",
                    "Terminate reasons and full quota cells", "Validation errors by page", "Length of interview"):
        assert heading in text, heading
    browser.get(report.as_uri())

    def drawn() -> list[str] | None:
        state = browser.execute_script(
            "return [...document.querySelectorAll('.js-plotly-plot')].map(e => [e.id, "
            "e.querySelectorAll('svg.main-svg path, svg.main-svg rect').length])")
        return [i for i, _ in state] if state and all(marks > 10 for _, marks in state) else None

    ids = wait_for("every chart to draw its marks", drawn, timeout=30)
    assert {"funnel-100001", "funnel-200002", "interview-length", "latency-over-time"} <= set(ids)
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    # The speeder rule is drawn where the embedded platform has one, and the funnel starts with every respondent.
    legend = browser.execute_script("return document.getElementById('interview-length').innerText")
    assert f"speeder rule ({next(iter(s['interview']['speeder_min_seconds']))})" in legend
    funnel = s["funnel"]["100001"]["all"]
    assert funnel["respondents"] == sum(p["respondents"] for p in s["funnel"]["100001"]["personas"].values())
    assert funnel["quota_full_cells"] and funnel["terminate_reasons"]
    assert browser.save_screenshot(str(tmp_path / "report.png"))
