"""The engine's HTTP client against small loopback servers that behave well and badly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from loadtest.core.errors import TransportError
from loadtest.core.flow import Request
from loadtest.transport.http import HttpTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + (await reader.readexactly(length) if length else b"")


def run_with_server(handler: Handler, client: Callable[[str], Awaitable[None]]) -> None:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Every connection is closed on this loop, even a handler cancelled at the end of the run:
        # a writer left to the garbage collector after the loop is gone is a ResourceWarning.
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(closing, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            await client(f"http://127.0.0.1:{port}")

    asyncio.run(main())


GET = Request(step="take", method="GET", url="/x", headers=(("accept", "application/json"),))


def test_keep_alive_reuses_one_connection_and_chunked_bodies_are_decoded() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                seen.append(await read_request(reader))
            except asyncio.IncompleteReadError:
                return
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Survey-Token: abc\r\n\r\n"
                         b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
            await writer.drain()

    async def client(url: str) -> None:
        t = HttpTransport(url)
        post = Request(step="submit-page", method="POST", url="/y", headers=(), body=b'{"u_1":"2"}')
        for req in [GET] * 5 + [post]:
            reply = await t.send(req)
            assert (reply.status, reply.body, reply.headers["x-survey-token"]) == (200, b"hello world", "abc")
        assert t.connections_opened == 1
        await t.aclose()

    run_with_server(handler, client)
    assert seen[0].startswith(b"GET /x HTTP/1.1\r\nhost: 127.0.0.1:")
    assert seen[-1].endswith(b'content-length: 11\r\n\r\n{"u_1":"2"}')


def test_connection_close_is_honoured_and_the_next_request_reconnects() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def client(url: str) -> None:
        t = HttpTransport(url)
        for _ in range(3):
            assert (await t.send(GET)).body == b"ok"
        assert t.connections_opened == 3

    run_with_server(handler, client)


@pytest.mark.parametrize("behaviour", ["hang", "cut", "garbage"])
def test_failures_become_transport_errors(behaviour: str) -> None:

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if behaviour == "hang":
            await reader.read()  # never answers; returns when the client gives up and closes
        elif behaviour == "cut":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            await writer.drain()
        else:
            writer.write(b"SMTP READY\r\n\r\n")
            await writer.drain()
        writer.close()

    async def client(url: str) -> None:
        t = HttpTransport(url, timeout_s=0.3)
        with pytest.raises(TransportError):
            await t.send(GET)

    run_with_server(handler, client)


def test_a_refused_connection_is_a_transport_error() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(TransportError, match=r"connect to 127\.0\.0\.1"):
            await HttpTransport(f"http://127.0.0.1:{port}").send(GET)

    asyncio.run(main())


def test_the_pool_caps_connections_and_queues_the_rest() -> None:
    open_now = 0
    peak = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, peak
        open_now += 1  # connections the client holds open at once
        peak = max(peak, open_now)
        try:
            while True:
                try:
                    await read_request(reader)
                except asyncio.IncompleteReadError:
                    return
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        finally:
            open_now -= 1

    async def client(url: str) -> None:
        t = HttpTransport(url, max_connections=3)
        replies = await asyncio.gather(*(t.send(GET) for _ in range(30)))
        assert all(r.status == 200 for r in replies)
        assert t.connections_opened == 3
        await t.aclose()

    run_with_server(handler, client)
    assert peak == 3


def test_tls_targets_work_with_the_context_given(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure")
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reply = await HttpTransport(f"https://127.0.0.1:{port}", ssl_context=client_ctx).send(GET)
            assert (reply.status, reply.body) == (200, b"secure")
            with pytest.raises(TransportError):  # an untrusted certificate is refused, not ignored
                await HttpTransport(f"https://127.0.0.1:{port}").send(GET)

    asyncio.run(main())


def test_service_time_leaves_out_waiting_for_a_pooled_connection() -> None:
    answered = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            if answered == 0:  # a deliberately slow first reply (0.3 s); the second request queues meanwhile
                slow = asyncio.Event()
                asyncio.get_running_loop().call_later(0.3, slow.set)
                await slow.wait()
            answered += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    async def client(url: str) -> None:
        t = HttpTransport(url, max_connections=1)
        first, second = await asyncio.gather(t.send(GET), t.send(GET))
        assert t.connections_opened == 1
        # The second spent ~0.3 s queued for the only connection; its service time is its own exchange.
        assert second.elapsed_s < first.elapsed_s / 3
        await t.aclose()

    run_with_server(handler, client)


def test_only_the_request_past_its_deadline_times_out_and_a_second_loop_still_has_timeouts() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            if head.startswith(b"GET /hang "):
                await reader.read()  # never answers; returns when the client gives up and closes
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    hang = Request(step="take", method="GET", url="/hang", headers=())
    t = HttpTransport("http://127.0.0.1:1", timeout_s=0.3)  # replaced per loop below; one object, two loops

    async def client(url: str) -> None:
        t.base = HttpTransport(url).base
        # wait_for only turns a timeout that never fires into a failure instead of a hung suite
        results = await asyncio.wait_for(
            asyncio.gather(t.send(hang), *(t.send(GET) for _ in range(3)), return_exceptions=True), 30)
        assert isinstance(results[0], TransportError) and "timed out" in str(results[0])
        assert [r.status for r in results[1:]] == [200, 200, 200]  # type: ignore[union-attr]

    run_with_server(handler, client)
    run_with_server(handler, client)  # a new event loop: the timeout sweep is armed on it too


def test_service_time_ends_when_the_reply_is_complete_not_when_the_task_next_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from loadtest.transport import http as transport_mod

    busy_s = 0.2
    complete = transport_mod.Connection.on_message_complete

    def complete_then_busy_loop(self: transport_mod.Connection) -> None:
        # Queue 0.2 s of blocking work ahead of the waiting task's wake-up, as a busy core would.
        def block() -> None:
            until = time.perf_counter() + busy_s
            while time.perf_counter() < until:
                pass

        asyncio.get_running_loop().call_soon(block)
        complete(self)

    monkeypatch.setattr(transport_mod.Connection, "on_message_complete", complete_then_busy_loop)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await reader.read()

    async def client(url: str) -> None:
        t = HttpTransport(url)
        began = time.perf_counter()
        reply = await t.send(GET)
        wall = time.perf_counter() - began
        assert wall - reply.elapsed_s >= busy_s * 0.95  # the blocked wake-up is not the server's time
        await t.aclose()

    run_with_server(handler, client)
