"""The web UI in a real browser: headless Chromium (Debian's chromium + chromedriver) opens
Locust's UI during a short `loadtest locust` run, watches the Respondents tab fill live, and
after the stop its numbers, and the Limits tab's, are exactly those of summary.json."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import orjson
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser import wait_for
from tests.e2e.test_locust_distributed import free_port
from tests.e2e.test_run import SMOKE
from tests.helpers import ROOT


def table(driver: webdriver.Chrome) -> list[dict[str, str]]:
    """The visible table, read in one script call (the UI re-renders it every poll)."""
    rows: list[list[str]] = driver.execute_script(
        "return [...document.querySelectorAll('table tr')]"
        ".map(r => [...r.querySelectorAll('th,td')].map(c => c.innerText.trim()))")
    # Not strict: a placeholder row ("no data yet") has fewer cells than the header.
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]] if rows else []


def open_tab(driver: webdriver.Chrome, title: str) -> None:
    def find() -> Any:  # the UI renders after the page loads
        tabs = driver.find_elements(By.CSS_SELECTOR, "[role=tab]")
        return next((t for t in tabs if t.text.lower() == title.lower()), None)

    wait_for(f"the {title} tab", find, timeout=20).click()


def _usable(elements: list[Any]) -> Any:
    """The first element that is displayed and enabled (None until there is one)."""
    return next((e for e in elements if e.is_displayed() and e.is_enabled()), None)


def start_with_mix(driver: webdriver.Chrome, mix: str) -> str:
    """Open "Custom parameters", replace the persona mix, press START; return the mix shown first."""
    wait_for("the start form", lambda: _usable(driver.find_elements(By.XPATH, "//*[text()='Custom parameters']"))
             ).click()
    # The panel opens with an animation: typing before the field is shown and enabled fails.
    field = wait_for("the personas field, shown and enabled",
                     lambda: _usable(driver.find_elements(By.NAME, "personas")))
    shown = field.get_attribute("value")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(mix)
    wait_for("the start button", lambda: _usable(driver.find_elements(
        By.XPATH, "//button[normalize-space()='Start' or normalize-space()='START']"))).click()
    return str(shown)


def test_the_respondents_tab_is_live_and_ends_equal_to_the_summary(tmp_path: Path, browser: webdriver.Chrome) -> None:
    port, reports = free_port(), tmp_path / "reports"
    ui = f"http://127.0.0.1:{port}/"
    with (tmp_path / "out.log").open("wb") as log:  # the child keeps its own copy of the descriptor
        run = subprocess.Popen([sys.executable, "-m", "loadtest.cli", "locust", str(SMOKE),
                                "--web-host", "127.0.0.1", "--web-port", str(port),
                                "-u", "12", "-r", "12", "-t", "10s", "--reports", str(reports)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        def up() -> bool:
            assert run.poll() is None, (tmp_path / "out.log").read_text()[-3000:]
            try:
                return urllib.request.urlopen(ui, timeout=2).status == 200
            except OSError:
                return False

        wait_for("the web UI", up)
        browser.get(ui)
        # The scenario's mix is shown before the start, and what is typed there is what runs.
        shown = start_with_mix(browser, "abandoner=0, polyglot=0, gatecrasher=0")
        assert "completer=5" in shown and "abandoner=2" in shown
        open_tab(browser, "Respondents")

        def total_started() -> int:
            total = next((r for r in table(browser) if r.get("Persona") == "Total"), None)
            return int(total["Started"]) if total and total.get("Started", "").isdigit() else 0

        assert wait_for("respondents to show up live, while the run is going", total_started) > 0
        summary_file = wait_for("summary.json", lambda: next(reports.glob("*/summary.json"), None), timeout=90)
        s: dict[str, Any] = orjson.loads(summary_file.read_bytes())
        ran = set(s["personas"])
        assert {"completer", "screenout"} <= ran and not {"abandoner", "polyglot", "gatecrasher"} & ran

        def expected_rows() -> dict[str, dict[str, str]]:
            rows = {name: _row(p["respondents"], p["outcomes"], p["unexpected"]) for name, p in s["personas"].items()}
            rows["Total"] = _row(s["respondents"], s["outcomes"], s["unexpected"])
            return rows

        def settled() -> dict[str, dict[str, str]] | None:
            browser.refresh()  # the stopped UI no longer polls; a fresh page shows the final numbers
            open_tab(browser, "Respondents")
            shown = {r["Persona"]: {k: v for k, v in r.items() if k in _COLUMNS} for r in table(browser)}
            return shown if shown == expected_rows() else None

        shown = wait_for("the Respondents tab to equal summary.json", settled, timeout=30)
        assert int(shown["Total"]["Finished"]) == s["respondents"] > 0
        total = next(r for r in table(browser) if r["Persona"] == "Total")
        assert int(total["Started"]) == s["started"] and int(total["Callbacks accepted"]) == s["callbacks"]["accepted"]
        open_tab(browser, "Limits")
        limits = wait_for("the Limits tab", lambda: {r["Limit"]: r for r in table(browser) if "Limit" in r})
        assert float(limits["panel"]["Target req/s"]) == s["limits"]["panel"]["target"] == 10
        assert int(limits["panel"]["Permits granted"]) == s["limits"]["panel"]["granted"] > 0
        browser.save_screenshot(str(tmp_path / "limits.png"))
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGTERM)  # loadtest passes it on to Locust, which quits cleanly
            run.wait(timeout=60)
    assert run.returncode == 0, (tmp_path / "out.log").read_text()[-3000:]


_COLUMNS = ("Finished", "Completed", "Terminated", "Quota full", "Other statuses", "Abandoned", "Incomplete",
            "Unexpected")


def _row(finished: int, outcomes: dict[str, int], unexpected: int) -> dict[str, str]:
    main = ("survey_complete", "terminated", "quota_full", "abandoned", "incomplete")
    values = (finished, outcomes.get("survey_complete", 0), outcomes.get("terminated", 0),
              outcomes.get("quota_full", 0), sum(v for k, v in outcomes.items() if k not in main),
              outcomes.get("abandoned", 0), outcomes.get("incomplete", 0), unexpected)
    return {c: str(v) for c, v in zip(_COLUMNS, values, strict=True)}
