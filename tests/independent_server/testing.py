"""Client-side helpers for test_server.py: a conforming respondent, page readers, raw-socket HTTP."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.local_http import local_client

from . import survey as S
from .config import ServerConfig
from .server import RunningServer, running_server

MULTI_ANSWERS, MULTI_Q, NORTH, QUOTA_Q = S.MULTI_ANSWERS, S.MULTI_Q, S.NORTH, S.QUOTA_Q
RATING_ANSWERS, RATING_Q, SCREEN_IN, SCREEN_OUT = S.RATING_ANSWERS, S.RATING_Q, S.SCREEN_IN, S.SCREEN_OUT
SCREENER_Q, SOUTH, TEXT_A, TEXT_Q = S.SCREENER_Q, S.SOUTH, S.TEXT_A, S.TEXT_Q

SURVEY = 987654321
BASE = f"/a/api/v2/surveys/{SURVEY}"
KEY = ServerConfig.api_key
ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """The rate limiter's clock, moved by hand: no test waits for a real second to pass."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def quiet(**overrides: Any) -> ServerConfig:
    """A config with the wire quirks off, for tests about something else."""
    values: dict[str, Any] = {"rate_limit_per_second": 0, "chunked_every": 0, "close_every": 0, **overrides}
    return ServerConfig(**values)


@contextmanager
def serve(config: ServerConfig) -> Iterator[tuple[RunningServer, httpx.Client]]:
    with running_server(config) as srv, local_client(base_url=srv.url, headers={"api-key": KEY}) as client:
        yield srv, client


def page1(screener: int = SCREEN_IN, region: int = NORTH) -> dict[str, Any]:
    return {f"u_{SCREENER_Q}": str(screener), f"u_{QUOTA_Q}": str(region)}


PAGE2 = {f"m_{MULTI_Q}": [str(MULTI_ANSWERS[0]), str(MULTI_ANSWERS[2])], f"t_{TEXT_A}": "all good here"}
PAGE3 = {f"u_{RATING_Q}": str(RATING_ANSWERS[3])}


class Walker:
    """One respondent: sends the latest token it got, like a conforming client."""

    def __init__(self, client: httpx.Client, transaction_id: str | None = None) -> None:
        self.client = client
        self.tid = transaction_id
        self.token: str | None = None

    def _headers(self, token: str | None) -> dict[str, str]:
        token = token or self.token
        return {"x-survey-token": token} if token else {}

    def _adopt(self, r: httpx.Response) -> httpx.Response:
        if "x-survey-token" in r.headers:
            self.token = r.headers["x-survey-token"]
        return r

    def take(self, token: str | None = None) -> httpx.Response:
        params = {"transaction_id": self.tid} if self.tid and not (token or self.token) else None
        return self._adopt(self.client.get(f"{BASE}/take", params=params, headers=self._headers(token)))

    def submit(self, form: dict[str, Any], token: str | None = None) -> httpx.Response:
        return self._adopt(self.client.post(f"{BASE}/submit-page", json=form, headers=self._headers(token)))

    def back(self, token: str | None = None) -> httpx.Response:
        return self._adopt(self.client.get(f"{BASE}/previous-page", headers=self._headers(token)))


def status(r: httpx.Response) -> str:
    return str(r.json()["response"]["status"])


def sections(r: httpx.Response) -> list[dict[str, Any]]:
    out = []
    for q in r.json()["response"]["questions"]:
        assert isinstance(q["json"], str), "questions[].json is a JSON-encoded string"
        out.append(json.loads(q["json"]))
    return out


def qids(r: httpx.Response) -> list[int]:
    return [s["id"] for s in sections(r)]


def selected(r: httpx.Response) -> set[int]:
    return {a["id"] for s in sections(r) for a in s["answers"] if a.get("selected") is True}


def assert_envelope(r: httpx.Response, code: int, name: str) -> None:
    assert r.status_code == code
    error = r.json()["response"]["error"]
    assert set(error) == {"docs", "resourceUrl", "name", "id", "message", "httpStatusCode"}
    assert error["name"] == name and error["httpStatusCode"] == code



def raw_take(sock: socket.socket, token: str | None = None) -> None:
    extra = f"x-survey-token: {token}\r\n" if token else ""
    sock.sendall(f"GET {BASE}/take HTTP/1.1\r\nhost: x\r\napi-key: {KEY}\r\n{extra}\r\n".encode())


def read_until(sock: socket.socket, buf: bytearray, marker: bytes) -> None:
    while marker not in buf:
        data = sock.recv(65536)
        assert data, f"connection closed before {marker!r}"
        buf += data


def read_reply(sock: socket.socket) -> tuple[dict[str, str], bytes]:
    buf = bytearray()
    read_until(sock, buf, b"\r\n\r\n")
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    body = bytearray(rest)
    if headers.get("transfer-encoding") == "chunked":
        read_until(sock, body, b"0\r\n\r\n")
        return headers, bytes(body)
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return headers, bytes(body)
