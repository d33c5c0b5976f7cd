"""The reference platform in this process, as a Transport: its own HTTP dispatch, no socket.

Drivers reach the platform through here (or embedded.py, a server in its own process). The
offline walk answers ingestion steps with it, and engine tests run respondents through it with
no port: the same `Platform.handle` the server calls, so the routing, the api-key check and the
replies are the platform's own, not a copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from loadtest.core.errors import TransportError
from loadtest.core.flow_values import Reply, Request
from loadtest.local_defaults import DEFAULT_API_KEY
from loadtest.platform.app import Platform, PlatformConfig
from loadtest.platform.storage import Store
from loadtest.survey.model import Survey

__all__ = ["HOST", "InProcessPlatform"]

HOST = "in-process.invalid"  # what the platform writes into the redirect URLs it makes
NEVER_FULL = 1 << 62  # a quota limit no walk reaches


class InProcessPlatform:
    """One platform on a throwaway in-memory database. `send` is what a Transport does."""

    def __init__(self, surveys: Sequence[Survey], clock: Callable[[], float] = time.time,
                 quotas_fill: bool = True, api_key: str = DEFAULT_API_KEY) -> None:
        self.api_key = api_key
        self.store = Store(":memory:")
        self.platform = Platform(list(surveys), self.store, PlatformConfig(api_key=api_key), clock=clock)
        if not quotas_fill:  # what only the target counts is left to it
            for limits in self.platform.api.quota_limits.values():
                for quota_id in limits:
                    limits[quota_id] = NEVER_FULL

    def send_sync(self, request: Request) -> Reply:
        parts = urlsplit(request.url)
        if parts.scheme and parts.hostname != HOST:
            raise TransportError(f"the in-process platform answers only its own host, not {request.url}")
        headers = {k.lower(): v for k, v in request.headers}
        headers.setdefault("host", HOST)
        status, out_headers, body = self.platform.handle(request.method, parts.path, parts.query, headers,
                                                         request.body)
        if not isinstance(body, bytes):  # a stream, from the data API only
            raise TransportError(f"{request.url}: a streamed reply; the in-process platform answers pages only")
        return Reply(status=status, headers={k.lower(): v for k, v in out_headers}, body=body)

    async def send(self, request: Request) -> Reply:
        return self.send_sync(request)

    def close(self) -> None:
        self.store.close()

    async def aclose(self) -> None:
        self.close()

    def __enter__(self) -> InProcessPlatform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
