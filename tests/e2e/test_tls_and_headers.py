"""HTTPS with a CA the test makes with openssl, and a gateway header from the environment, against
the independent server: verified by default in both drivers, a CA file trusted when given, a
certificate error never retried, `tls_verify = false` announced, and the header's value in no
output at all."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.helpers import ROOT
from tests.independent_server import RunningServer, ServerConfig, running_server
from tests.independent_server.survey import QUOTA_Q, SCREEN_IN, SCREENER_Q, SOUTH

KEY_ENV, GATEWAY_ENV = "INDEPENDENT_SERVER_KEY", "GATEWAY_AUTH_FOR_TEST"
GATEWAY_SECRET = "gw-7f3a9c1e5b2d4e6f8a0b"  # made up for this test; checked absent from every output


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, and a server certificate it signed for 127.0.0.1."""
    d = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=loadtest test CA", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=127.0.0.1", cwd=d)
    (d / "san.ext").write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "san.ext", cwd=d)
    return d


@pytest.fixture
def https_server(certificates: Path) -> Iterator[RunningServer]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certificates / "server.pem", certificates / "server.key")
    config = ServerConfig(rate_limit_per_second=0, tls=ctx, gateway_header=("X-Gateway-Auth", GATEWAY_SECRET))
    with running_server(config) as srv:
        yield srv


def scenario(tmp_path: Path, srv: RunningServer, tls_lines: str) -> Path:
    path = tmp_path / "tls.toml"
    path.write_text(f'''
[scenario]
name = "tls"
seed = 3
target = "{srv.url}"
survey_id = {srv.config.survey_id}
api_key_env = "{KEY_ENV}"
header_env = {{ X-Gateway-Auth = "{GATEWAY_ENV}" }}
headers = {{ User-Agent = "loadtest-tls-test" }}
{tls_lines}

[load]
model = "closed"
concurrency = 4
respondents = 12

[answers]
{SCREENER_Q} = "{SCREEN_IN}"
{QUOTA_Q} = "{SOUTH}"

[personas.completer]
think_scale = 0.0
''')
    return path


def run(args: list[str], srv: RunningServer, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, KEY_ENV: srv.config.api_key, GATEWAY_ENV: GATEWAY_SECRET}
    return subprocess.run([sys.executable, "-m", "loadtest.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def summary(reports: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(next(reports.glob("*/summary.json")).read_bytes())
    data["outcomes"] = {k: v for k, v in data["outcomes"].items() if v}  # outcomes none reached are listed as 0
    return data


def assert_secret_nowhere(result: subprocess.CompletedProcess[str], *folders: Path) -> None:
    assert GATEWAY_SECRET not in result.stdout + result.stderr
    for folder in folders:
        for f in folder.rglob("*"):
            if f.is_file():
                assert GATEWAY_SECRET.encode() not in f.read_bytes(), f


@pytest.mark.slow
def test_a_ca_file_is_trusted_and_the_gateway_header_is_sent_but_never_shown(
        tmp_path: Path, certificates: Path, https_server: RunningServer) -> None:
    (tmp_path / "ca.pem").write_bytes((certificates / "ca.pem").read_bytes())
    reports = tmp_path / "reports"
    done = run(["run", str(scenario(tmp_path, https_server, 'tls_ca_file = "ca.pem"')), "--reports", str(reports),
                "--record", str(tmp_path / "rec.jsonl")], https_server, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    s = summary(reports)
    assert s["outcomes"] == {"survey_complete": 12}
    assert https_server.stats.completes == 12  # the gateway let every request through: the header was sent
    assert_secret_nowhere(done, reports, tmp_path / "rec.jsonl")


@pytest.mark.slow
def test_an_unknown_ca_is_one_line_at_preflight_and_never_retried_in_the_run(
        tmp_path: Path, https_server: RunningServer) -> None:
    path = scenario(tmp_path, https_server, "")
    pre = run(["run", str(path), "--reports", str(tmp_path / "r1")], https_server, tmp_path)
    assert pre.returncode == 2 and len(pre.stderr.strip().splitlines()) == 1, pre.stderr
    assert "certificate" in pre.stderr.lower()
    done = run(["run", str(path), "--no-preflight", "--reports", str(tmp_path / "r2")], https_server, tmp_path)
    s = summary(tmp_path / "r2")
    assert done.returncode == 3 and s["outcomes"] == {"failed": 12}
    assert s["requests"]["take"]["count"] == 12  # one attempt each: a certificate error is not retried
    assert s["errors_by_blame"] == {"configuration": 12}


@pytest.mark.slow
def test_tls_verify_false_is_announced_and_accepted(tmp_path: Path, https_server: RunningServer) -> None:
    reports = tmp_path / "reports"
    done = run(["run", str(scenario(tmp_path, https_server, "tls_verify = false")), "--reports", str(reports)],
               https_server, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "tls_verify = false" in done.stderr
    assert summary(reports)["outcomes"] == {"survey_complete": 12}


@pytest.mark.slow
def test_the_locust_driver_verifies_certificates_by_default(tmp_path: Path, https_server: RunningServer) -> None:
    """FastHttpUser accepts any certificate by default; ours does not, past the preflight too."""
    path = scenario(tmp_path, https_server, "")
    pre = run(["locust", str(path), "--headless", "-u", "2", "-r", "2", "-t", "4s", "--reports", str(tmp_path / "r1")],
              https_server, ROOT)
    assert pre.returncode == 2 and "certificate" in pre.stderr.lower(), pre.stderr[-2000:]
    reports = tmp_path / "r2"
    done = run(["locust", str(path), "--no-preflight", "--headless", "-u", "2", "-r", "2", "-t", "4s",
                "--reports", str(reports)], https_server, ROOT)
    s = summary(reports)
    assert s["outcomes"].get("survey_complete", 0) == 0 and https_server.stats.completes == 0, s["outcomes"]
    assert s["respondents"] > 0 and done.returncode == 3
    assert_secret_nowhere(done, reports)
