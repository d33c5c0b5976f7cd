"""Hostile input does not take the platform down: oversized bodies, JSON nested past any sane
depth, garbage bytes and slow-loris connections each get an answer or are dropped, and a normal
respondent is still served while they go on. Also: numbers past C's range, a filter nested
5,000 deep, broken chunked framing, bodies far past the limit (cut while they stream in, never
held whole) and bodies that stall (dropped after the platform's body timeout)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.helpers import API_KEY, CS_ID, CS_PAGES, CUSTOMER, MockServer, running_mock
from tests.local_http import local_client

TAKE = f"/a/api/v2/surveys/{CS_ID}/take"
SUBMIT = f"/a/api/v2/surveys/{CS_ID}/submit-page"
DATA = f"/v1/surveys/{CS_ID}/respondents/data"
DATA_AUTH = {"authorization": "Bearer loadtest-local-data-token"}
BODY_TIMEOUT_S = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    d = tmp_path_factory.mktemp("hostile")
    with running_mock(CUSTOMER, db=d / "db.sqlite", extra=("--body-timeout", str(BODY_TIMEOUT_S))) as srv:
        yield srv


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with local_client(base_url=server.url, timeout=10, headers={"api-key": API_KEY}) as c:
        yield c


def token(client: httpx.Client) -> str:
    return client.get(TAKE).headers["x-survey-token"]


def still_serving(client: httpx.Client) -> bool:
    return client.get(TAKE).json()["response"]["status"] == "success"


def test_an_oversized_body_is_refused_with_413(client: httpx.Client) -> None:
    big = b'{"u_10001": "' + b"x" * (2 << 20) + b'"}'
    r = client.post(SUBMIT, headers={"x-survey-token": token(client)}, content=big)
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


# --- inputs that once answered 500 --------------------------------------------------------------
def test_a_date_year_past_cs_long_is_a_validation_error(client: httpx.Client) -> None:
    form = {"u_10001": "50001", "u_10002": "50013", "dt_day_10003": "1", "dt_month_10003": "5",
            "dt_year_10003": "1" + "0" * 30}
    r = client.post(SUBMIT, headers={"x-survey-token": token(client)}, content=orjson.dumps(form))
    assert r.status_code == 200 and r.json()["response"]["status"] == "validation_errors", r.text
    assert [e["questionId"] for e in r.json()["response"]["validationErrors"]] == [10003]
    # the same value written through the data API: a 400 naming the variable
    r = client.post(DATA, headers=DATA_AUTH, json={"data": [{"dt_year_10003": "1" + "0" * 30, "dt_month_10003": "5",
                                                              "dt_day_10003": "1"}]})
    assert r.status_code == 400 and r.json()["validationMessages"], r.text
    assert still_serving(client)


@pytest.mark.parametrize("expression", ["(" * 5000 + "status = 'complete'" + ")" * 5000,
                                        "not " * 5000 + "status = 'complete'",
                                        "status = 1" + "0" * 5000])
def test_a_filter_nested_5000_deep_or_a_5000_digit_number_is_a_400(client: httpx.Client, expression: str) -> None:
    r = client.get(DATA, headers=DATA_AUTH, params={"filterExpression": expression})
    assert r.status_code == 400 and r.json()["message"].startswith("filterExpression:"), r.text
    assert still_serving(client)


# --- bodies: framing, size, time ----------------------------------------------------------------
def _send_raw(port: int, head: bytes, body: bytes = b"", timeout: float = 30, wait_close: bool = False
              ) -> tuple[int, bytes, bool]:
    """(status, response body, and with wait_close whether the server then closed the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed before a reply: {data!r}")
            data += chunk
        top, rest = data.split(b"\r\n\r\n", 1)
        fields = dict(line.lower().split(b": ", 1) for line in top.split(b"\r\n")[1:])
        length = int(fields[b"content-length"])
        while len(rest) < length:
            rest += s.recv(65536)
        closed = False
        if wait_close:
            try:
                closed = s.recv(1) == b""
            except TimeoutError:
                closed = False
            except ConnectionResetError:
                closed = True
        return int(top.split(b" ")[1]), rest[:length], closed


def _head(path: str, tok: str, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"api-key: {API_KEY}", f"x-survey-token: {tok}",
             "content-type: application/json", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_a_well_formed_chunked_body_is_read_whole(server: MockServer, client: httpx.Client) -> None:
    body = orjson.dumps(CS_PAGES["screener"])
    status, reply, _ = _send_raw(server.port, _head(SUBMIT, token(client), transfer_encoding="chunked"),
                                 _chunked(body[:7], body[7:20], body[20:]))
    assert status == 200 and orjson.loads(reply)["response"]["status"] in ("success", "terminated"), reply


@pytest.mark.parametrize("body", [b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabc\r\n3\r\ndef\r\nzz\r\n",
                                  b"5\r\nabc\r\n0\r\n\r\n", b"3\r\nabcXX\r\n0\r\n\r\n"])
def test_a_malformed_chunked_body_is_a_400_envelope(server: MockServer, client: httpx.Client, body: bytes) -> None:
    status, reply, _ = _send_raw(server.port, _head(SUBMIT, token(client), transfer_encoding="chunked"), body)
    assert status == 400 and orjson.loads(reply)["response"]["error"]["name"] == "BAD_REQUEST", reply
    assert still_serving(client)


def _peak_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_200_mb_chunked_body_is_cut_at_the_limit_not_read_whole(server: MockServer, client: httpx.Client) -> None:
    before = _peak_rss_kb(server.proc.pid)
    chunk = b"x" * (1 << 20)
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(_head(SUBMIT, token(client), transfer_encoding="chunked"))
        sent = 0
        try:
            for _ in range(200):  # 200 MB, unless the platform stops it first
                s.sendall(frame)
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = s.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert sent < 200 or b"PAYLOAD_TOO_LARGE" in reply
    assert _peak_rss_kb(server.proc.pid) - before < 64 * 1024  # it never held the 200 MB (it did: 524 MB peak)
    assert still_serving(client)


def test_a_declared_content_length_past_the_limit_is_refused_before_reading(server: MockServer,
                                                                            client: httpx.Client) -> None:
    status, reply, closed = _send_raw(server.port, _head(SUBMIT, token(client), content_length=str(200 << 20)),
                                      wait_close=True)
    assert status == 413 and orjson.loads(reply)["response"]["error"]["httpStatusCode"] == 413
    assert closed  # the 200 MB it announced are not waited for
    status, reply, _ = _send_raw(server.port, _head(DATA, "", content_length=str(200 << 20),
                                                    authorization=DATA_AUTH["authorization"]))
    assert status == 413 and "larger than" in orjson.loads(reply)["message"], reply


@pytest.mark.slow  # waits out the platform's body timeout
@pytest.mark.parametrize("framing", ["content_length", "transfer_encoding"])
def test_a_body_that_stalls_is_answered_408_and_dropped(server: MockServer, client: httpx.Client, framing: str) -> None:
    headers = {"content_length": "100"} if framing == "content_length" else {"transfer_encoding": "chunked"}
    partial = b'{"u_10001": "5' if framing == "content_length" else b"e\r\n" + b'{"u_10001": "5'
    start = time.monotonic()
    status, reply, closed = _send_raw(server.port, _head(SUBMIT, token(client), **headers), partial,
                                      timeout=BODY_TIMEOUT_S * 10, wait_close=True)
    assert status == 408 and orjson.loads(reply)["response"]["error"]["name"] == "REQUEST_TIMEOUT", reply
    assert closed
    assert time.monotonic() - start >= BODY_TIMEOUT_S * 0.9  # not before its time: a slow client is not refused early
    assert still_serving(client)


@pytest.mark.slow  # waits out the platform's body timeout
def test_many_stalled_bodies_do_not_starve_a_respondent(server: MockServer, client: httpx.Client) -> None:
    stalled = []
    try:
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            s.sendall(_head(SUBMIT, token(client), content_length="100") + b"{")
            stalled.append(s)
        for _ in range(5):
            assert still_serving(client)
        for s in stalled:  # each is answered and dropped once its time is up
            assert s.recv(65536).startswith(b"HTTP/1.1 408")
    finally:
        for s in stalled:
            s.close()
    assert still_serving(client)
