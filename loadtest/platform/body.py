"""Reading a request body under the platform's limits: size, shape and time.

A body is refused (`BodyRefused`, with the HTTP status to answer) when it is larger than the
limit, when its chunked framing is broken or it ends early, or when it has not arrived whole
within the read timeout. Nothing is read past the limit: a declared Content-Length over it is
refused before any byte is read, and a chunked body is cut as soon as it passes it. granian
closes a connection whose body was not read to the end, so a refused body also drops it.

granian's RSGI protocol (2.8) offers `await protocol()` (the whole body; it raises
RSGIProtocolClosed when the body ends short or its framing is broken) and `async for chunk in
protocol`, which never raises: a broken chunked body yields an empty chunk and then another one,
where a whole body yields one empty chunk at its end (tests/loopback/test_hostile_clients.py
pins this). A body with a Content-Length is read in one call, a chunked one chunk by chunk.

Time: an `asyncio.timeout` per body costs ~12 µs, about half the platform's whole work for a
request; instead each read is entered in a table with its deadline and one sweep a few times a
second cancels the reads past theirs (~2.2 µs a body in all, against a bare `await protocol()`).
"""

from __future__ import annotations

import asyncio
from asyncio import current_task
from collections.abc import Mapping
from typing import Any

__all__ = ["BodyReader", "BodyRefused"]


class BodyRefused(Exception):
    """The body is not read (or not whole); answer `status` and let the connection go."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BodyReader:
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._reading: dict[asyncio.Task[Any], float] = {}  # the task reading a body -> its deadline
        self._expired: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None  # started with the first body, runs while the loop does

    async def read(self, protocol: Any, headers: Mapping[str, str], limit: int) -> bytes:
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise BodyRefused(400, "The Content-Length header is not a number")
            if int(declared) > limit:
                raise BodyRefused(413, f"The request body is larger than {limit} bytes")
        loop = self._loop
        if loop is None:  # one platform serves on one loop; its sweeper starts with the first body
            loop = self._loop = asyncio.get_running_loop()
            self._sweeper = loop.create_task(self._sweep())
        task = current_task(loop)
        if task is None:  # not under asyncio's tasks: read without a deadline
            return await self._read(protocol, declared is not None, limit)
        self._reading[task] = loop.time() + self.timeout_s
        try:
            if declared is not None:  # the common case, kept to one await
                return bytes(await protocol())
            return await self._read(protocol, False, limit)
        except RuntimeError as exc:  # RSGIProtocolClosed / RSGIProtocolError: short or broken body
            raise BodyRefused(400, "The request body ended early or is malformed") from exc
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            task.uncancel()
            raise BodyRefused(408, f"The request body did not arrive within {self.timeout_s:g} s") from None
        finally:
            del self._reading[task]
            if self._expired:
                self._expired.discard(task)

    async def _read(self, protocol: Any, sized: bool, limit: int) -> bytes:
        try:
            if sized:
                return bytes(await protocol())
            chunks: list[bytes] = []
            size = 0
            ended = False
            async for chunk in protocol:
                if ended:  # something after an empty chunk: granian's sign of a broken body
                    raise BodyRefused(400, "The request body's chunked encoding is malformed")
                if not chunk:
                    ended = True
                    continue
                size += len(chunk)
                if size > limit:
                    raise BodyRefused(413, f"The request body is larger than {limit} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
        except RuntimeError as exc:
            raise BodyRefused(400, "The request body ended early or is malformed") from exc

    async def _sweep(self) -> None:
        period = min(1.0, max(self.timeout_s / 4, 0.05))
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            for task, deadline in list(self._reading.items()):
                if deadline <= now and task not in self._expired:
                    self._expired.add(task)
                    task.cancel()
