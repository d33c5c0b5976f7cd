"""`--prometheus-port`: both drivers serve /metrics while a run goes; a scrape during the run is
parsed with prometheus_client's own parser and shows requests per step, respondents in flight,
outcomes and the panel limit's permits; the last scrape never exceeds what summary.json says."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.browser import wait_for
from tests.e2e.test_locust_distributed import free_port
from tests.e2e.test_run import SMOKE, summary
from tests.helpers import ROOT

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"/metrics answered {exc.code}: {exc.read()[-500:]!r}") from None
    except OSError:
        return None  # not serving yet (or any more)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


@pytest.fixture
def child(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=60)


# Runs that keep respondents in flight for seconds, not the whole smoke scenario: what is
# checked is a scrape while they walk, and the last one against summary.json.
# - engine: smoke's first 8 respondents, all at once, at smoke's pace: a completer alone thinks
#   >= 3 s, and the wave lasts ~8 s, ~15 looks of the scraper, every one answered 200 (a scrape
#   reads the histograms the loop records into; tests/unit/test_prometheus.py forces the race).
# - locust: 20 users for 6 s at smoke's pace; each starts a new respondent as one ends, so from
#   the first submit (~1 s in) to the stop respondents are in flight (gevent: no such race).
DRIVERS = {
    "engine": ["run", str(SMOKE), "-u", "8", "--respondents", "8"],
    "locust": ["locust", str(SMOKE), "--headless", "-u", "20", "-r", "20", "-t", "6s", "--only-summary"],
}


@pytest.mark.parametrize("driver", sorted(DRIVERS))
def test_metrics_are_served_during_the_run_and_parse(driver: str, tmp_path: Path,
                                                     child: list[subprocess.Popen[bytes]]) -> None:
    port, reports = free_port(), tmp_path / "r"
    with (tmp_path / "out.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "loadtest.cli", *DRIVERS[driver], "--reports", str(reports),
                                 "--prometheus-port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    child.append(proc)

    scrapes: list[Samples] = []

    def ended() -> bool:  # scrape all along, until the run is over
        got = scrape(port)
        if got:
            scrapes.append(got)
        return proc.poll() is not None

    wait_for("the run to end, scraping /metrics all along", ended, timeout=240)
    busy = [g for g in scrapes if total(g, "loadtest_respondents_in_flight") > 0
            and total(g, "loadtest_requests_total", step="submit-page") > 0]
    assert busy, f"no scrape during the load among {len(scrapes)}"
    during, later = busy[0], scrapes[-1]
    assert total(during, "loadtest_run_info", driver=driver, scenario="smoke") == 1
    assert total(during, "loadtest_request_duration_seconds_count", step="take") > 0
    assert total(during, "loadtest_limit_target_rate", limit="panel") == 10
    assert total(later, "loadtest_respondents_total") > 0
    assert proc.returncode in (0, 3), (tmp_path / "out.log").read_text()[-3000:]
    s: dict[str, Any] = summary(reports)
    for step, figures in s["requests"].items():
        assert total(later, "loadtest_requests_total", step=step) <= figures["count"]
    assert total(later, "loadtest_respondents_total") <= s["respondents"]
    assert total(later, "loadtest_limit_permits_total", limit="panel") <= s["limits"]["panel"]["granted"]
    assert scrape(port) is None  # the endpoint goes with the run


def test_a_port_already_taken_is_bad_input(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "loadtest.cli", "run", str(SMOKE), "--reports", str(tmp_path),
                              "--prometheus-port", str(port)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert f"--prometheus-port {port}: cannot serve /metrics on 127.0.0.1:{port}" in out.stderr
    assert not any(tmp_path.iterdir())  # before any load: no run folder either
