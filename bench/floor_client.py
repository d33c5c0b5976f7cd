"""Reference client for bench/client_cost.py: the least a Python asyncio client can do for the flow.

    .venv/bin/python bench/floor_client.py URL --seconds 13 [--concurrency 64]

One asyncio Protocol per connection with httptools, like the engine's transport, but nothing
else: requests are pre-built bytes, the token is taken from the reply headers and the answers
(first answer of each question) are picked out of the page's HTML by a regex, as wrk's
bench/capacity.lua does. No page model, no persona, no metrics, no timeouts, no log. Its CPU per
request is a floor for any Python client on asyncio's own event loop, the engine included.
Stops after --seconds or on SIGINT/SIGTERM; prints `RESULT {...}`. --uvloop: the same on uvloop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sys
from urllib.parse import urlsplit

import httptools

BASE = b"/a/api/v2/surveys/900001"
QA = re.compile(rb"data-question-id='(\d+)'.*?data-answer-id='(\d+)'")


class Respondents(asyncio.Protocol):
    """One keep-alive connection walking respondents one after another."""

    def __init__(self, state: dict, take: bytes, submit_head: bytes) -> None:
        self.state, self.take, self.submit_head = state, take, submit_head
        self.parser = httptools.HttpResponseParser(self)
        self.token = b""
        self.body: list[bytes] = []
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport
        transport.write(self.take)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"x-survey-token":
            self.token = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        st = self.state
        st["requests"] += 1
        body = b"".join(self.body)
        self.body = []
        if self.parser.get_status_code() != 200 or b'"status":"' not in body:
            st["bad"] += 1
        if st["stop"]:
            self.transport.close()
        elif b'"status":"survey_complete"' in body:
            st["respondents"] += 1
            self.transport.write(self.take)
        else:
            form = b"{" + b",".join(b'"u_%s":"%s"' % qa for qa in QA.findall(body)) + b"}"
            self.transport.write(b"%sx-survey-token: %s\r\ncontent-length: %d\r\n\r\n%s"
                                 % (self.submit_head, self.token, len(form), form))


async def run(url: str, seconds: float, concurrency: int, api_key: str) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    common = b"host: %s:%d\r\napi-key: %s\r\naccept: application/json\r\n" % (host.encode(), port, api_key.encode())
    take = b"GET %s/take HTTP/1.1\r\n%s\r\n" % (BASE, common)
    submit_head = b"POST %s/submit-page HTTP/1.1\r\n%scontent-type: application/json\r\n" % (BASE, common)
    state = {"requests": 0, "respondents": 0, "bad": 0, "stop": False}
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    conns = [(await loop.create_connection(lambda: Respondents(state, take, submit_head), host, port))[1]
             for _ in range(concurrency)]
    try:
        await asyncio.wait_for(done.wait(), seconds)
    except TimeoutError:
        pass
    state["stop"] = True  # each connection closes after its reply in flight
    await asyncio.wait([c.closed for c in conns], timeout=5)
    return state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--api-key", default="loadtest-local-key")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop instead of asyncio's own loop")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        state = uvloop.run(run(args.url, args.seconds, args.concurrency, args.api_key))
    else:
        state = asyncio.run(run(args.url, args.seconds, args.concurrency, args.api_key))
    del state["stop"]
    sys.stdout.write("RESULT " + json.dumps({"client": "floor", **state}) + "\n")
    return 0 if state["bad"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
