"""A run folder's report: every file there, report.html drawn in headless Chromium, and
`loadtest report --baseline` catching a regression. The runs are scenarios/smoke.toml with quick
walks (test_run.quick_smoke): the same personas, a quarter of the think time."""

from __future__ import annotations

import csv
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.etree import ElementTree as ET

import orjson
from selenium import webdriver

from tests.browser import wait_for
from tests.e2e.test_run import loadtest, quick_smoke, run_dir, summary


def test_a_run_folder_has_its_csv_junit_and_a_report_that_draws_offline(tmp_path: Path,
                                                                         browser: webdriver.Chrome) -> None:
    # 20 respondents: the mix's first 20 hold every one of its 13 personas (every step, both
    # surveys, callbacks through the panel's limit), and every chart draws as with 40 (~700 marks).
    out = loadtest("run", str(quick_smoke(tmp_path)), "--respondents", "20", "--reports", str(tmp_path / "r"))
    assert out.returncode == 0, out.stdout + out.stderr
    folder, s = run_dir(tmp_path / "r"), summary(tmp_path / "r")
    assert {p.name for p in folder.iterdir()} == {"summary.json", "respondents.jsonl", "requests.csv", "junit.xml",
                                                  "report.html"}
    with (folder / "requests.csv").open() as f:
        rows = list(csv.DictReader(f))
    for step, stats in s["requests"].items():  # per-second rows add up to the run's counts
        assert sum(int(r["requests"]) for r in rows if r["step"] == step) == stats["count"]
    suite = ET.parse(folder / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert {c.get("name") for c in suite.iter("testcase")} >= {t["name"] for t in s["thresholds"]} | set(s["personas"])
    html = (folder / "report.html").read_text()
    assert "<script src=" not in html and "http://" not in html.split("<script>", 1)[0]  # nothing fetched
    browser.get(folder.joinpath("report.html").as_uri())
    charts = wait_for("the charts to draw", lambda: browser.execute_script(
        "const d = document.querySelectorAll('.js-plotly-plot'); "
        "return d.length >= 5 && [...d].every(e => e.querySelector('svg.main-svg')) ? d.length : 0"), timeout=30)
    ids = browser.execute_script("return [...document.querySelectorAll('.js-plotly-plot')].map(e => e.id)")
    assert charts == len(ids) and set(ids) >= {"latency-over-time", "throughput", "latency-histograms", "limits",
                                               "funnel", "funnel-100001", "interview-length"}
    marks = browser.execute_script(
        "return document.querySelectorAll('.js-plotly-plot path, .js-plotly-plot rect').length")
    assert marks > 50  # lines and bars were drawn, not empty axes
    assert browser.save_screenshot(str(tmp_path / "report.png"))
    assert "PASSED" in browser.find_element("css selector", "h1").text


def test_report_against_a_baseline_exits_3_on_a_fifty_percent_p95_regression(tmp_path: Path) -> None:
    # Ten respondents (the mix's first ten: take, submit-page and previous-page, five completions)
    # make a baseline as good as 30 did: what is compared here is submit-page's p95.
    out = loadtest("run", str(quick_smoke(tmp_path)), "--respondents", "10", "--reports", str(tmp_path / "r"))
    assert out.returncode == 0, out.stdout + out.stderr
    base = run_dir(tmp_path / "r")
    slower = tmp_path / "slower"
    shutil.copytree(base, slower)
    s = orjson.loads((slower / "summary.json").read_bytes())
    s["requests"]["submit-page"]["p95_ms"] *= 1.5  # exactly 50% slower at p95, nothing else changed
    s["regression"]["min_ms"] = 0.0  # loopback p95s are ~2 ms: judge the change by its ratio alone
    (slower / "summary.json").write_bytes(orjson.dumps(s))
    # The two reports side by side: each writes only into its own folder and reads the baseline's
    # summary.json, which neither writes (report/render.py).
    with ThreadPoolExecutor(2) as pool:
        same, out = pool.map(lambda folder: loadtest("report", str(folder), "--baseline", str(base)), (base, slower))
    assert same.returncode == 0 and "no regression" in same.stdout, same.stdout + same.stderr
    assert out.returncode == 3, out.stdout + out.stderr
    assert "REGRESSED: submit-page p95" in out.stdout
    c = orjson.loads((slower / "comparison.json").read_bytes())
    assert c["steps"]["submit-page"]["p95"]["regressed"] and not c["passed"]
    assert "Compared with the baseline" in (slower / "report.html").read_text()


def test_report_on_a_folder_without_a_summary_is_bad_input(tmp_path: Path) -> None:
    out = loadtest("report", str(tmp_path))
    assert out.returncode == 2
    assert out.stderr.strip().endswith("expected a run folder's summary.json (No such file or directory)")
