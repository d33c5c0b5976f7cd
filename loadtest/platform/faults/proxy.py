"""Connection-level faults: a small TCP proxy in front of the platform, deciding per request.

    [faults.connection]
    seed = 3
    reset = 0.02          # the request is answered with a TCP reset; the platform never sees it
    reset_after = 0.01    # the platform does the work; the client gets a reset instead of the reply
    hang = 0.005          # no reply at all: the request waits until the client gives up (or hang_s)
    cut = 0.01            # the reply stops halfway through its body and the connection closes
    slow_close = 0.01     # the reply arrives, then the connection is held hang-up-less for
                          #   slow_close_s before it closes (a keep-alive client's next request dies)
    refuse = 0.01         # a new connection is reset at once
    hang_s = 30
    slow_close_s = 2

`loadtest mock` puts it in front of the app when the fault table has a `connection` part: the
URL it prints is the proxy's. Requests are read with their framing (Content-Length), replies
too (Content-Length or chunked), so a fault hits one request, not a whole keep-alive
connection. Request n gets the same decision for the same seed. /__admin and /openapi.json pass
untouched. Injected connection faults are counted by kind (GET /__admin/faults shows them).
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["KINDS", "ConnectionFaults", "FaultProxy"]

KINDS = ("reset", "reset_after", "hang", "cut", "slow_close")
MAX_HEAD = 64 * 1024


@dataclass
class ConnectionFaults:
    seed: int = 0
    reset: float = 0.0
    reset_after: float = 0.0
    hang: float = 0.0
    cut: float = 0.0
    slow_close: float = 0.0
    refuse: float = 0.0
    hang_s: float = 30.0
    slow_close_s: float = 2.0
    # What the proxy has done so far: state, not settings, so not constructor arguments.
    journal: Counter[str] = field(default_factory=Counter, init=False)
    _requests: int = field(default=0, init=False)
    _connections: int = field(default=0, init=False)

    def next_request(self) -> str | None:
        n, self._requests = self._requests, self._requests + 1
        roll = random.Random(f"{self.seed}:request:{n}").random()
        for kind in KINDS:
            p = getattr(self, kind)
            if roll < p:
                self.journal[kind] += 1
                return kind
            roll -= p
        return None

    def next_connection_refused(self) -> bool:
        n, self._connections = self._connections, self._connections + 1
        refused = random.Random(f"{self.seed}:connection:{n}").random() < self.refuse
        if refused:
            self.journal["refuse"] += 1
        return refused


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST, not FIN: SO_LINGER on, zero seconds."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _read_message(reader: asyncio.StreamReader, reply: bool) -> bytes | None:
    """One HTTP message (head + body), or None at a clean end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ConnectionError("stream ended inside a message head") from None
        return None
    except asyncio.LimitOverrunError:
        raise ConnectionError("message head too long") from None
    fields = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    if b"content-length" in fields:
        return head + await reader.readexactly(int(fields[b"content-length"]))
    if reply and fields.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            body += size_line + await reader.readexactly(size + 2)
            if size == 0:
                return head + body
    return head


def _path_of(request: bytes) -> bytes:
    parts = request.split(b" ", 2)
    return parts[1] if len(parts) > 1 else b""


@dataclass
class FaultProxy:
    faults: ConnectionFaults
    upstream_host: str
    upstream_port: int

    async def start(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._connection, host, port, limit=MAX_HEAD, backlog=2048)

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.faults.next_connection_refused():
            _reset(client_w)
            return
        try:
            up_r, up_w = await asyncio.open_connection(self.upstream_host, self.upstream_port, limit=MAX_HEAD)
        except OSError:
            _reset(client_w)
            return
        try:
            await self._pipe(client_r, client_w, up_r, up_w)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            _reset(client_w)
        finally:
            up_w.close()
            if not client_w.is_closing():
                client_w.close()

    async def _pipe(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter,
                    up_r: asyncio.StreamReader, up_w: asyncio.StreamWriter) -> None:
        while True:
            request = await _read_message(client_r, reply=False)
            if request is None:
                return
            path = _path_of(request)
            kind = None if path.startswith((b"/__admin", b"/openapi.json")) else self.faults.next_request()
            if kind == "reset":
                _reset(client_w)
                return
            if kind == "hang":  # held: no reply until the client gives up, or hang_s passes
                try:
                    await asyncio.wait_for(client_r.read(), timeout=self.faults.hang_s)
                except TimeoutError:
                    pass
                _reset(client_w)
                return
            up_w.write(request)
            await up_w.drain()
            reply = await _read_message(up_r, reply=True)
            if reply is None:
                raise ConnectionError("the platform closed the connection")
            if kind == "reset_after":
                _reset(client_w)
                return
            if kind == "cut":
                head_end = reply.index(b"\r\n\r\n") + 4
                client_w.write(reply[: head_end + (len(reply) - head_end) // 2])
                await client_w.drain()
                client_w.close()
                return
            client_w.write(reply)
            await client_w.drain()
            if kind == "slow_close":
                await asyncio.sleep(self.faults.slow_close_s)
                client_w.close()
                return
