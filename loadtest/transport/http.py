"""The engine's hot-path HTTP/1.1 client: asyncio Protocol + httptools, keep-alive, pooled per origin.

Why not httpx here: measured on these machines a shared httpx.AsyncClient costs 0.8-2.8 ms of
client CPU per request and collapses with concurrency; a bare Protocol + httptools costs tens
of microseconds (bench/RESULTS.md). httpx stays for the control plane and tests.

One `Connection` carries one request at a time. `Transport.send` takes an idle connection for the
request's origin (or opens one, up to `max_connections` per origin, else waits its turn), writes
the request, and waits for the parser to complete the reply. Timeouts are one sweep over the
requests in flight a few times a second, not a loop timer per request: a cancelled timer stays in
the loop's heap until its deadline, so at thousands of requests a second every push and pop
walked tens of thousands of entries. Chunked replies are decoded by httptools.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import httptools

from loadtest.core.errors import CertificateError, TransportError
from loadtest.core.flow_values import Reply, Request

__all__ = ["Connection", "HttpTransport"]

Origin = tuple[str, str, int]  # scheme, host, port


class Connection(asyncio.Protocol):
    __slots__ = ("_lost", "body", "closed", "done_at", "headers", "keep_alive", "parser", "transport", "waiter")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, dict[str, str], bytes]] | None = None
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.closed = False
        self.keep_alive = True
        self.done_at = 0.0  # perf_counter when the last reply was complete

    # asyncio.Protocol
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(TransportError(f"malformed HTTP reply: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(TransportError("connection closed before the reply was complete" +
                                  (f": {exc}" if exc else "")))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        # Stamped here, as the reply completes, not when the waiting task next runs: on a busy
        # core that wake-up came ~1 ms later and was counted as the server's time.
        self.done_at = time.perf_counter()
        self.keep_alive = self.parser.should_keep_alive()
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), self.headers, b"".join(self.body)))

    # ours
    def _fail(self, exc: Exception) -> None:
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def start(self, raw: bytes) -> asyncio.Future[tuple[int, dict[str, str], bytes]]:
        assert self.transport is not None and self.waiter is None
        self.headers, self.body = {}, []
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Pool:
    __slots__ = ("idle", "size", "waiters")

    def __init__(self) -> None:
        self.idle: list[Connection] = []
        self.size = 0
        self.waiters: deque[asyncio.Future[None]] = deque()


class HttpTransport:
    def __init__(
        self,
        base_url: str,
        timeout_s: float = 10.0,
        max_connections: int = 1000,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base = _origin(parts.scheme, parts.hostname, parts.port)
        self.base_path = parts.path.rstrip("/")
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self._ssl = ssl_context  # built once, on the first https connection, if not given
        self._pools: dict[Origin, _Pool] = {}
        self.connections_opened = 0
        self._waiting: dict[Connection, float] = {}  # connection -> deadline of the reply it waits for
        self._sweeper: asyncio.TimerHandle | None = None
        self._sweep_loop: asyncio.AbstractEventLoop | None = None
        self._tick_s = min(0.25, timeout_s / 10)  # how late a timeout may fire

    async def send(self, request: Request) -> Reply:
        if request.url.startswith(("http://", "https://")):
            parts = urlsplit(request.url)
            origin = _origin(parts.scheme, parts.hostname or "", parts.port)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        else:
            origin, target = self.base, self.base_path + request.url
        raw = _encode(request, target, origin)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        conn = await self._acquire(origin, deadline)
        # Service time runs from the write to the parsed reply, as the wire and the platform see
        # it: connecting or waiting for a pooled connection is the client's side, and shows in
        # the corrected time (from the intended start) instead. Counted from before the acquire,
        # a respondent's first take carried its connect: take p99 1.1 ms over the wire's
        # (bench/latency_truth.py).
        started = time.perf_counter()
        waiter = conn.start(raw)
        self._waiting[conn] = deadline
        if self._sweeper is None or self._sweep_loop is not loop:  # (a Transport outliving its loop re-arms)
            self._sweep_loop = loop
            self._sweeper = loop.call_later(self._tick_s, self._sweep, loop)
        try:
            status, headers, body = await waiter
        except BaseException:  # failed, timed out or cancelled: this connection's state is unknown
            conn.close()
            self._release(origin, conn)
            raise
        finally:
            del self._waiting[conn]
        elapsed = conn.done_at - started
        if not conn.keep_alive:
            conn.close()
        self._release(origin, conn)
        return Reply(status=status, headers=headers, body=body, elapsed_s=elapsed)

    async def _acquire(self, origin: Origin, deadline: float) -> Connection:
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = _Pool()
        while True:
            while pool.idle:
                conn = pool.idle.pop()
                if not conn.closed:
                    return conn
                pool.size -= 1
            if pool.size < self.max_connections:
                pool.size += 1
                try:
                    return await self._connect(origin, deadline)
                except BaseException:
                    pool.size -= 1
                    self._wake(pool)
                    raise
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            pool.waiters.append(turn)
            try:
                await asyncio.wait_for(turn, max(0.0, deadline - asyncio.get_running_loop().time()))
            except TimeoutError:
                raise TransportError("timed out waiting for a free connection") from None

    async def _connect(self, origin: Origin, deadline: float) -> Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        ctx = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            ctx = self._ssl
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(Connection, host, port, ssl=ctx),
                max(0.001, deadline - loop.time()),
            )
        except ssl.SSLCertVerificationError as exc:
            raise CertificateError(f"TLS to {host}:{port}: {exc.verify_message or exc} (see tls_ca_file, "
                                   "tls_verify)") from None
        except TimeoutError:
            raise TransportError(f"connect to {host}:{port} timed out") from None
        except OSError as exc:
            raise TransportError(f"connect to {host}:{port} failed: {exc.strerror or exc}") from None
        self.connections_opened += 1
        return conn

    def _release(self, origin: Origin, conn: Connection) -> None:
        pool = self._pools[origin]
        if conn.closed:
            pool.size -= 1
        else:
            pool.idle.append(conn)
        self._wake(pool)

    @staticmethod
    def _wake(pool: _Pool) -> None:
        while pool.waiters:
            turn = pool.waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweeper = None
        if not self._waiting:
            return  # the next request re-arms it
        now = loop.time()
        for conn in [c for c, deadline in self._waiting.items() if deadline <= now]:
            _expire(conn)  # its send() raises and takes it out of _waiting
        self._sweeper = loop.call_later(self._tick_s, self._sweep, loop)

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for pool in self._pools.values():
            for conn in pool.idle:
                conn.close()
            pool.idle.clear()


def _expire(conn: Connection) -> None:
    conn._fail(TransportError("timed out waiting for the reply"))
    conn.close()


def _origin(scheme: str, host: str, port: int | None) -> Origin:
    return scheme, host, port or (443 if scheme == "https" else 80)


def _encode(request: Request, target: str, origin: Origin) -> bytes:
    scheme, host, port = origin
    default = 443 if scheme == "https" else 80
    lines = [f"{request.method} {target} HTTP/1.1", f"host: {host}" if port == default else f"host: {host}:{port}"]
    lines.extend(f"{k}: {v}" for k, v in request.headers)
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(request.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body
