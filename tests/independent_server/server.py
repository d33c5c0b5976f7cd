"""Start and stop the independent server: routing, admission (api-key, rate limit, 503 bursts),
reply shaping (chunked, Connection: close), the counting outside listener, and a thread runner.

Order of checks on a request: route (404), api-key (401), rate limit (429), 503 burst, method (405),
survey id (400 when not an integer, 404 when unknown), then the survey. A 429 or 503 is answered
before the survey sees the request: no state changes and no token is sent on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .config import ServerConfig, Stats, StatsSnapshot
from .survey import Survey, envelope
from .wire import MAX_HEAD, BadRequest, Request, Response, read_request, write_response

__all__ = ["API_PREFIX", "App", "Handle", "RunningServer", "running_server", "start"]

API_PREFIX = "/a/api/v2/surveys/"
ENDPOINTS = {"take": "GET", "submit-page": "POST", "previous-page": "GET"}


def _json(status: int, doc: dict[str, Any], headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, json.dumps(doc, separators=(",", ":")).encode(), headers)


def _every(n: int, count: int) -> bool:
    return n > 0 and count % n == 0


class Connections:
    """Open connections and their handler tasks, so that shutdown can close them and wait."""

    def __init__(self) -> None:
        self.open: dict[asyncio.StreamWriter, asyncio.Task[Any] | None] = {}

    def opened(self, writer: asyncio.StreamWriter) -> None:
        self.open[writer] = asyncio.current_task()

    async def closed(self, writer: asyncio.StreamWriter) -> None:
        try:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        finally:
            self.open.pop(writer, None)  # only now: close_all waits for the task until here

    async def close_all(self) -> None:
        tasks = [t for t in self.open.values() if t is not None]
        for writer in list(self.open):
            writer.close()  # the handler reads end-of-stream and returns
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5)
            for task in pending:
                task.cancel()


class App:
    """The API on 127.0.0.1. Runs on one event loop; every handler step is synchronous."""

    def __init__(self, config: ServerConfig, stats: Stats, outside_url: str,
                 connections: Connections) -> None:
        self.config = config
        self.stats = stats
        self.survey = Survey(config, stats, outside_url)
        self.connections = connections
        self.windows: dict[str, deque[float]] = {}  # per api-key: times of admitted requests
        self.admitted = 0  # requests past auth and rate limit (the 503 pattern counts these)
        self.replies = 0  # replies written (chunked_every and close_every count these)
        self.sent_429 = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.opened(writer)
        try:
            while True:
                close = False
                try:
                    req = await asyncio.wait_for(read_request(reader), self.config.keepalive_timeout_s)
                except BadRequest as exc:
                    response, close = _json(exc.status, envelope(exc.status, exc.message, "")), True
                else:
                    if req is None:
                        break
                    response, close = self.dispatch(req), not req.keep_alive
                self.replies += 1
                close = close or _every(self.config.close_every, self.replies)
                chunked = _every(self.config.chunked_every, self.replies)
                await write_response(writer, response, chunked=chunked, close=close)
                if close:
                    break
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await self.connections.closed(writer)

    def dispatch(self, req: Request) -> Response:
        self.stats.request(req.path)
        try:
            return self._dispatch(req)
        except Exception as exc:  # a bug here must show up in the stats, not hang a client
            self.stats.add("internal_errors")
            return _json(500, envelope(500, f"{type(exc).__name__}: {exc}", req.path))

    def _dispatch(self, req: Request) -> Response:
        path = req.path
        rest = path[len(API_PREFIX):].split("/") if path.startswith(API_PREFIX) else []
        if len(rest) != 2 or rest[1] not in ENDPOINTS:
            return _json(404, envelope(404, "The resource that you're trying to access doesn't exist", path))
        gateway = self.config.gateway_header
        if gateway is not None and req.headers.get(gateway[0].lower()) != gateway[1]:
            return _json(403, envelope(403, "The gateway refused the request", path))
        key = req.headers.get("api-key")
        if key is None or key != self.config.api_key:
            message = "Missing api-key header" if key is None else "Incorrect API Key"
            return _json(401, envelope(401, message, path))
        refused = self._rate_limit(key, path) or self._burst(path)
        if refused is not None:
            return refused
        survey_id, endpoint = rest
        if req.method != ENDPOINTS[endpoint]:
            return _json(405, envelope(405, f"{endpoint} takes {ENDPOINTS[endpoint]}", path),
                         (("allow", ENDPOINTS[endpoint]),))
        if not survey_id.isdigit():
            return _json(400, envelope(400, "Invalid URL parameters", path))
        if int(survey_id) != self.config.survey_id:
            return _json(404, envelope(404, "The resource that you're trying to access doesn't exist", path))
        token = req.headers.get("x-survey-token", "").strip() or None
        if endpoint == "take":
            reply = self.survey.take(req.query, token, path)
        elif endpoint == "submit-page":
            reply = self.survey.submit(token, req.body, path)
        else:
            reply = self.survey.previous(token, path)
        return _json(reply.status, reply.doc, (("x-survey-token", reply.token),) if reply.token else ())

    def _rate_limit(self, key: str, path: str) -> Response | None:
        """At most `rate_limit_per_second` admitted requests in any 1-second window per api-key."""
        limit = self.config.rate_limit_per_second
        if limit <= 0:
            return None
        now = self.config.clock()
        window = self.windows.setdefault(key, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) < limit:
            window.append(now)
            return None
        self.sent_429 += 1
        self.stats.add("sent_429")
        # Alternate the two forms RFC 9110 allows: delta-seconds, then an HTTP-date.
        retry = "1" if self.sent_429 % 2 else email.utils.formatdate(math.ceil(time.time()) + 1, usegmt=True)
        return _json(429, envelope(429, f"More than {limit} requests per second for this api-key", path),
                     (("retry-after", retry),))

    def _burst(self, path: str) -> Response | None:
        every, length = self.config.burst_every, min(self.config.burst_length, self.config.burst_every)
        if every <= 0 or length <= 0:
            return None
        self.admitted += 1
        position, first = (self.admitted - 1) % every, every - length
        if position < first:
            return None
        self.stats.add("sent_503")
        headers = (("retry-after", "1"),) if position == first else ()
        return _json(503, envelope(503, "The service is briefly unavailable", path), headers)


class Outside:
    """The listener outside the target: counts every request it gets, answers 200, closes."""

    def __init__(self, stats: Stats, connections: Connections) -> None:
        self.stats = stats
        self.connections = connections

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.opened(writer)
        try:
            req = await read_request(reader)
            if req is not None:
                self.stats.outside(req.target)
                await write_response(writer, Response(200, b"outside\n", content_type="text/plain"),
                                     chunked=False, close=True)
        except (BadRequest, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await self.connections.closed(writer)


@dataclass
class Handle:
    app: App
    url: str
    outside_url: str
    servers: list[asyncio.Server] = field(default_factory=list)

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        await self.app.connections.close_all()
        for server in self.servers:
            await server.wait_closed()


async def start(config: ServerConfig, stats: Stats) -> Handle:
    """Bind both listeners (port 0 gives a free port; the bound one is read back, no waiting)."""
    connections = Connections()
    outside = await asyncio.start_server(Outside(stats, connections).serve, config.outside_host,
                                         config.outside_port, limit=MAX_HEAD)
    outside_url = f"http://{config.outside_host}:{outside.sockets[0].getsockname()[1]}"
    app = App(config, stats, outside_url, connections)
    try:
        main = await asyncio.start_server(app.serve, config.host, config.port, limit=MAX_HEAD, ssl=config.tls)
    except BaseException:
        outside.close()
        raise
    url = f"{'https' if config.tls else 'http'}://{config.host}:{main.sockets[0].getsockname()[1]}"
    return Handle(app, url, outside_url, [main, outside])


class RunningServer:
    """What `running_server` yields: where the server is and what it has counted so far."""

    def __init__(self, config: ServerConfig, stats: Stats, url: str, outside_url: str) -> None:
        self.config = config
        self.url = url  # http://127.0.0.1:PORT
        self.outside_url = outside_url  # http://127.0.0.2:PORT
        self._stats = stats

    @property
    def stats(self) -> StatsSnapshot:
        return self._stats.snapshot()

    @property
    def outside_hits(self) -> int:
        return self._stats.snapshot().outside_hits


class _ServerThread(threading.Thread):
    def __init__(self, config: ServerConfig, stats: Stats) -> None:
        super().__init__(name="independent-survey-server", daemon=True)
        self.config = config
        self.stats = stats
        self.ready = threading.Event()
        self.handle: Handle | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._stop_event = asyncio.get_running_loop(), asyncio.Event()
        try:
            self.handle = await start(self.config, self.stats)
        except BaseException as exc:
            self.error = exc
            return
        finally:
            self.ready.set()
        try:
            await self._stop_event.wait()
        finally:
            await self.handle.close()

    def stop(self) -> None:
        if self._loop is not None and self._stop_event is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stop_event.set)
        self.join(timeout=10)


@contextlib.contextmanager
def running_server(config: ServerConfig | None = None) -> Iterator[RunningServer]:
    """Run the server on its own event loop in a background thread for the `with` block."""
    config = config or ServerConfig()
    stats = Stats()
    thread = _ServerThread(config, stats)
    thread.start()
    if not thread.ready.wait(timeout=30):
        thread.stop()
        raise RuntimeError("the independent server did not start in 30 s")
    if thread.error is not None or thread.handle is None:
        thread.join(timeout=10)
        raise RuntimeError("the independent server failed to start") from thread.error
    try:
        yield RunningServer(config, stats, thread.handle.url, thread.handle.outside_url)
    finally:
        thread.stop()
