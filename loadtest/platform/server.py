"""Serve a Platform with granian's embedded server, in this process, on loopback by default.

Port 0 means "pick a free one": we bind a socket with SO_REUSEPORT to learn a free port and hold
it while granian binds the same port (granian binds its listeners with SO_REUSEPORT; a bound,
non-listening socket receives no connections). Readiness is a real connection to the port, made
once the server runs; only then is `on_ready(base_url)` called, so whoever waits on that line
can send traffic at once.

`parent_fd` is the read end of a pipe whose write end only the parent holds: the kernel closes it
when the parent dies however it dies (kill -9 included), the read sees end-of-file, and the
server stops as on SIGTERM, so an embedded platform never outlives the run that started it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Callable
from typing import Any

from loadtest.platform.faults.proxy import ConnectionFaults, FaultProxy

__all__ = ["ServerError", "reserve_port", "serve"]

READY_TIMEOUT_S = 15.0


class ServerError(RuntimeError):
    """The server could not start (address in use, readiness never reached)."""


def reserve_port(host: str, port: int, join: bool = False) -> socket.socket:
    """A bound socket holding host:port. `join`: the port is one our supervisor holds for its
    workers (supervisor.py), so sharing it is the point."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if port and not join:
        # SO_REUSEPORT would let us share a port another server is listening on; refuse that first.
        # (SO_REUSEADDR alone still binds over connections in TIME_WAIT, e.g. after a kill -9.)
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise ServerError(f"cannot bind {host}:{port}: {exc.strerror}") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot bind {host}:{port}: {exc.strerror}") from None
    return sock


async def _wait_ready(host: str, port: int, serving: asyncio.Task[Any]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    delay = 0.002
    while True:
        if serving.done():
            serving.result()  # re-raise whatever stopped it
            raise ServerError("server stopped before it was ready")
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            if loop.time() > deadline:
                raise ServerError(f"server not accepting on {host}:{port} after {READY_TIMEOUT_S:.0f}s") from None
            await asyncio.sleep(delay)  # bounded back-off while the listener comes up
            delay = min(delay * 2, 0.1)
            continue
        writer.close()
        return


def _stop_with_parent(loop: asyncio.AbstractEventLoop, fd: int, stop: Callable[[], None]) -> None:
    def readable() -> None:
        try:
            data = os.read(fd, 512)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # end of file: the parent is gone (or closed its end to stop us)
            loop.remove_reader(fd)
            stop()

    os.set_blocking(fd, False)
    loop.add_reader(fd, readable)


async def serve_async(app: Any, host: str, port: int, on_ready: Callable[[str], None],
                      proxy: ConnectionFaults | None = None, parent_fd: int | None = None,
                      join: bool = False) -> None:
    """With `proxy`, the app listens on a private loopback port and the fault proxy on host:port
    (proxy.py): every client goes through it, and the URL announced is the proxy's."""
    from granian.constants import Interfaces
    from granian.server.embed import Server

    public_host, public_port = host, port
    if proxy is not None:
        host, port = "127.0.0.1", 0
    holder = reserve_port(host, port, join)
    port = holder.getsockname()[1]
    server = Server(app, address=host, port=port, interface=Interfaces.RSGI, log_enabled=False, backlog=2048)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop)
    if parent_fd is not None:
        _stop_with_parent(loop, parent_fd, server.stop)
    serving = asyncio.create_task(server.serve())
    try:
        await _wait_ready(host, port, serving)
    except BaseException:
        server.stop()
        await asyncio.gather(serving, return_exceptions=True)
        raise
    finally:
        holder.close()
    if proxy is not None:
        try:
            listener = await FaultProxy(proxy, host, port).start(public_host, public_port)
        except OSError as exc:
            server.stop()
            raise ServerError(f"cannot bind {public_host}:{public_port}: {exc.strerror}") from None
        host, port = public_host, listener.sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    on_ready(f"http://{shown}:{port}")
    await serving


def serve(app: Any, host: str, port: int, on_ready: Callable[[str], None], proxy: ConnectionFaults | None = None,
          parent_fd: int | None = None, join: bool = False) -> None:
    """Serve until SIGINT or SIGTERM (or end-of-file on `parent_fd`)."""
    asyncio.run(serve_async(app, host, port, on_ready, proxy, parent_fd, join))
