"""Hostile input does not take the platform down: oversized bodies, JSON nested past any sane
depth, garbage bytes and slow-loris connections each get an answer or are dropped, and a normal
respondent is still served while they go on."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.helpers import API_KEY, CS_ID, CUSTOMER, MockServer, running_mock

TAKE = f"/a/api/v2/surveys/{CS_ID}/take"
SUBMIT = f"/a/api/v2/surveys/{CS_ID}/submit-page"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    d = tmp_path_factory.mktemp("hostile")
    with running_mock(CUSTOMER, db=d / "db.sqlite") as srv:
        yield srv


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10, headers={"api-key": API_KEY}) as c:
        yield c


def token(client: httpx.Client) -> str:
    return client.get(TAKE).headers["x-survey-token"]


def still_serving(client: httpx.Client) -> bool:
    return client.get(TAKE).json()["response"]["status"] == "success"


def test_an_oversized_body_is_refused_with_413(client: httpx.Client) -> None:
    r = client.post(SUBMIT, headers={"x-survey-token": token(client)}, content=b'{"u_10001": "' + b"x" * (2 << 20) + b'"}')
    assert r.status_code == 413 and r.json()["response"]["error"]["httpStatusCode"] == 413  # the seed's envelope
    assert still_serving(client)


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
                                  bytes(range(256)) * 8])
def test_deep_huge_or_garbage_json_gets_a_400_not_a_crash(client: httpx.Client, body: bytes) -> None:
    r = client.post(SUBMIT, headers={"x-survey-token": token(client)}, content=body)
    assert r.status_code == 400 and r.json()["response"]["error"]["name"] == "BAD_REQUEST"
    assert still_serving(client)


def test_well_formed_json_of_the_wrong_shape_is_a_validation_error_not_a_500(client: httpx.Client) -> None:
    # Found by this test: a list where a single choice's id belongs crashed the page that shows
    # the answers back. 50,000 of them, dates missing parts, numbers where text goes.
    for form in ({"u_10001": ["1"] * 50_000}, {"u_10001": {"a": 1}}, {"m_10001": "50001"}, {"u_10001": 50001}):
        r = client.post(SUBMIT, headers={"x-survey-token": token(client)}, content=orjson.dumps(form))
        assert r.status_code == 200 and r.json()["response"]["status"] == "validation_errors", form
    assert still_serving(client)


def test_slow_loris_connections_do_not_starve_a_respondent(server: MockServer, client: httpx.Client) -> None:
    host, port = "127.0.0.1", server.port
    loris = []
    try:
        for _ in range(200):  # each sends half a request head and then nothing
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"GET " + TAKE.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            loris.append(s)
        for _ in range(5):
            assert still_serving(client)
    finally:
        for s in loris:
            s.close()
    assert still_serving(client)


def test_a_bad_faults_or_survey_file_never_starts_a_half_platform(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "survey.toml"
    bad.write_bytes(b"\xff\xfe not toml")
    out = subprocess.run([sys.executable, "-m", "loadtest.cli", "mock", "--port", "0", "--survey", str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.strip().splitlines()) == 1
