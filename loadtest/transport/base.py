"""The Transport protocol: what a driver needs to turn a Request into a Reply.

The engine is written against this, not against a socket: the HTTP client (http.py), the
reference platform in this process (platform/in_process.py) and a test's scripted replies all
fit. `send` raises TransportError when no complete reply came (refused, reset, timed out).
"""

from __future__ import annotations

from typing import Protocol

from loadtest.core.flow_values import Reply, Request

__all__ = ["Transport"]


class Transport(Protocol):
    async def send(self, request: Request) -> Reply: ...

    async def aclose(self) -> None: ...
