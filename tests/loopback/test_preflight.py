"""Preflight over real loopback HTTP: each way a target can be wrong ends `loadtest run` before any
load with one line naming what to fix, and exit 2; a good target prints the preflight's session."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.cli import main
from loadtest.control.preflight import Credentials, PreflightError, preflight
from loadtest.local_defaults import DEFAULT_API_KEY, DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET
from loadtest.scenario.file import load_scenario
from tests.helpers import CS_ID, CUSTOMER, MockServer, running_mock

PANEL = """
[panel]
target = "{url}"
api_key_env = "PF_PANEL_KEY"
secret_env = "PF_PANEL_SECRET"
"""


def scenario(tmp_path: Path, url: str, survey_id: int = CS_ID, extra: str = "") -> Path:
    path = tmp_path / "s.toml"
    path.write_text(f'[scenario]\ntarget = "{url}"\nsurvey_id = {survey_id}\napi_key_env = "PF_KEY"\nseed = 3\n'
                    '[load]\nmodel = "closed"\nrespondents = 2\nconcurrency = 1\n[personas.completer]\n' + extra)
    return path


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    with running_mock(CUSTOMER, db=tmp_path_factory.mktemp("pf") / "p.db") as p:
        yield p


class _Html(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>Welcome to our website</body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def website() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused for as long as it is held."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def run_fails(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main(["run", str(path), "--reports", str(path.parent / "reports"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_a_good_target_names_the_preflight_session(tmp_path: Path, platform: MockServer) -> None:
    sc = load_scenario(scenario(tmp_path, platform.url, extra=PANEL.format(url=platform.url)))
    lines = preflight(sc, platform.url, Credentials(DEFAULT_API_KEY, DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET),
                      "lt3-abc123")
    assert lines[0].endswith("HTTP 200 success; its session is transaction lt3-abc123-preflight "
                             "(look it up on the target by that id)")
    assert "panel DIY API" in lines[1] and "signed requests accepted" in lines[1]


def test_connection_refused(tmp_path: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PF_KEY", "k")
    err = run_fails(scenario(tmp_path, f"http://127.0.0.1:{closed_port}"), capsys)
    assert "connection refused" in err and "scenario.target" in err


def test_tls_against_a_plain_http_server(tmp_path: Path, website: str, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PF_KEY", "k")
    err = run_fails(scenario(tmp_path, f"https://{website}"), capsys)
    assert "TLS failed" in err and "scheme" in err


def test_a_reply_that_is_not_the_apis_json(tmp_path: Path, website: str, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PF_KEY", "k")
    err = run_fails(scenario(tmp_path, f"http://{website}"), capsys)
    assert "HTTP 200 text/html is not the respondent API's JSON" in err and "scenario.target" in err


def test_a_refused_api_key_names_the_variable(tmp_path: Path, platform: MockServer, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PF_KEY", "not-the-key")
    err = run_fails(scenario(tmp_path, platform.url), capsys)
    assert "HTTP 401" in err and "PF_KEY (scenario.api_key_env)" in err
    assert "not-the-key" not in err  # the key itself is never printed


def test_an_unknown_survey_names_survey_id(tmp_path: Path, platform: MockServer, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PF_KEY", DEFAULT_API_KEY)
    err = run_fails(scenario(tmp_path, platform.url, survey_id=999), capsys)
    assert "HTTP 404" in err and "no survey 999" in err and "scenario.survey_id" in err


@pytest.mark.parametrize(("key", "secret", "says"), [
    ("wrong", DEFAULT_PANEL_SECRET, "HTTP 401: the panel refused the API key; set PF_PANEL_KEY"),
    (DEFAULT_PANEL_API_KEY, "wrong", "HTTP 403: the panel refused the request's signature; set PF_PANEL_SECRET"),
])
def test_a_refused_panel(tmp_path: Path, platform: MockServer, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str], key: str, secret: str, says: str) -> None:
    for name, value in (("PF_KEY", DEFAULT_API_KEY), ("PF_PANEL_KEY", key), ("PF_PANEL_SECRET", secret)):
        monkeypatch.setenv(name, value)
    err = run_fails(scenario(tmp_path, platform.url, extra=PANEL.format(url=platform.url)), capsys)
    assert says in err and "panel DIY API" in err


def test_preflight_raises_one_line(tmp_path: Path, closed_port: int) -> None:
    sc = load_scenario(scenario(tmp_path, f"http://127.0.0.1:{closed_port}"))
    with pytest.raises(PreflightError) as err:
        preflight(sc, sc.target, Credentials("k"), "p")
    assert "\n" not in str(err.value) and str(err.value).startswith("preflight: take of survey 100001 at http://")
