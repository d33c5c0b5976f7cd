"""`loadtest locust` fills Locust's start form from the scenario: the web UI opens with the
scenario's concurrency, a spawn rate that reaches it in ~10 s and the embedded platform's URL, and
binds 127.0.0.1 when it serves our own platform; options given on the command line win."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser import wait_for
from tests.e2e.test_locust_distributed import free_port
from tests.e2e.test_run import SMOKE
from tests.helpers import ROOT


def test_the_web_ui_opens_with_the_scenarios_users_rate_and_host_on_loopback(tmp_path: Path,
                                                                             browser: webdriver.Chrome) -> None:
    port = free_port()
    log = (tmp_path / "out.log").open("wb")
    run = subprocess.Popen([sys.executable, "-m", "loadtest.cli", "locust", str(SMOKE), "--web-port", str(port),
                            "--reports", str(tmp_path / "r")], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        def up() -> bool:
            assert run.poll() is None, (tmp_path / "out.log").read_text()[-3000:]
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200
            except OSError:
                return False

        wait_for("the web UI", up)
        out = (tmp_path / "out.log").read_text()
        assert f"Starting web interface at http://127.0.0.1:{port}" in out, out[-2000:]  # loopback only
        platform = re.search(r"reference platform at (http://127\.0\.0\.1:\d+)", out)
        assert platform, out[-2000:]
        browser.get(f"http://127.0.0.1:{port}/")

        def value(name: str) -> str | None:
            fields = [f for f in browser.find_elements(By.NAME, name) if f.is_displayed()]
            return fields[0].get_attribute("value") if fields else None

        assert wait_for("the users field", lambda: value("userCount"), timeout=20) == "50"
        assert value("spawnRate") == "5"
        assert value("host") == platform.group(1)
    finally:
        run.send_signal(signal.SIGTERM)  # never started: Locust quits at once
        run.wait(timeout=60)
        log.close()
