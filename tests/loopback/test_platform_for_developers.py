"""The reference platform as a client developer meets it, over 127.0.0.1: `GET /` lists every
endpoint /openapi.json describes and its curl walk works as printed; /openapi.json names every
route the platform answers; `loadtest mock --log` writes one line per request."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loadtest.platform.admin import route
from tests.browser import wait_for
from tests.helpers import API_KEY, CS_ID, CUSTOMER, ROOT, STORE_VISIT, MockServer, running_mock
from tests.local_http import local_client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    with running_mock(CUSTOMER, STORE_VISIT, db=tmp_path_factory.mktemp("dev") / "db.sqlite") as srv:
        yield srv


def test_the_home_page_lists_every_endpoint_and_its_curl_walk_works(server: MockServer) -> None:
    with local_client(base_url=server.url, timeout=10) as client:
        home = client.get("/")
        assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
        spec = client.get("/openapi.json").json()
        page = html.unescape(home.text)
        for path, ops in spec["paths"].items():
            for method in ops:
                assert f"<td>{method.upper()}</td><td><code>{path}</code>" in page, (method, path)
        walk = page[page.index("<pre>") + 5:page.index("</pre>")]
        assert f"{server.url}/a/api/v2/surveys/{CS_ID}/take" in walk
        form = json.loads(re.search(r"-d '(\{.*\})'", walk).group(1))  # type: ignore[union-attr]
        # The walk as printed: take, submit the first page with the form shown, go back.
        headers = {"api-key": API_KEY}
        take = client.get(f"/a/api/v2/surveys/{CS_ID}/take", params={"transaction_id": "dev-home-1"}, headers=headers)
        token = take.headers["x-survey-token"]
        submit = client.post(f"/a/api/v2/surveys/{CS_ID}/submit-page", json=form,
                             headers={**headers, "x-survey-token": token})
        assert submit.json()["response"]["status"] == "success", submit.text  # the next page, no screen-out
        back = client.get(f"/a/api/v2/surveys/{CS_ID}/previous-page",
                          headers={**headers, "x-survey-token": submit.headers["x-survey-token"]})
        assert back.json()["response"]["status"] == "success"


def test_openapi_names_every_route_the_platform_answers(server: MockServer) -> None:
    spec = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    # Every literal path admin.route answers (read from its source), and the other APIs' own.
    source = Path(route.__code__.co_filename).read_text()
    literal = set(re.findall(r'path == "(/[^"]*)" and method == "(\w+)"', source))
    assert literal and {(m, p) for p, m in literal} <= documented
    base = "/a/api/v2/surveys/{surveyId}"
    assert {("GET", f"{base}/take"), ("POST", f"{base}/submit-page"), ("GET", f"{base}/previous-page"),
            ("POST", f"{base}/responses"), ("PUT", "/__admin/surveys/{surveyId}/state"), ("GET", "/")} <= documented
    assert "adminToken" in spec["components"]["securitySchemes"]


def test_mock_log_writes_one_line_per_request(tmp_path: Path) -> None:
    err = (tmp_path / "err.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "loadtest.cli", "mock", "--survey", str(CUSTOMER), "--port", "0",
                             "--db", str(tmp_path / "db.sqlite"), "--log"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=err, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()  # the URL line, printed once the server is ready
        assert url.startswith("http://127.0.0.1:"), url
        headers = {"api-key": API_KEY}
        take = httpx.get(f"{url}/a/api/v2/surveys/{CS_ID}/take?transaction_id=log-1", headers=headers, timeout=10)
        token = take.headers["x-survey-token"]
        httpx.get(f"{url}/a/api/v2/surveys/{CS_ID}/take", headers={**headers, "x-survey-token": token}, timeout=10)
        httpx.get(f"{url}/nothing-here", timeout=10)

        def lines() -> list[str] | None:
            found = [line for line in (tmp_path / "err.log").read_text().splitlines() if " ms token " in line]
            return found if len(found) >= 3 else None

        first, again, missing = wait_for("three request lines on stderr", lines, timeout=30)[:3]
        assert re.fullmatch(rf"\d\d:\d\d:\d\d\.\d{{3}} GET /a/api/v2/surveys/{CS_ID}/take\?transaction_id=log-1 200 "
                            rf"[\d.]+ ms token {re.escape(token[:8])}… \(new\)", first), first
        assert f" GET /a/api/v2/surveys/{CS_ID}/take 200 " in again and f"token {token[:8]}…" in again
        assert " GET /nothing-here 404 " in missing and missing.endswith("token -")
        assert API_KEY not in (tmp_path / "err.log").read_text()  # keys are never written
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        err.close()
        if proc.stdout is not None:
            proc.stdout.close()
