"""httpx clients for the suite's plain-HTTP servers on 127.0.0.1.

httpx builds a new SSL context for every client it is not given one (~70 ms: it loads the whole
CA bundle), even for http:// URLs that never use it; a suite that opens a client per test paid
seconds for it. These share one context, so TLS would still be verified as httpx's default does.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import certifi
import httpx

__all__ = ["local_async_client", "local_client"]


@functools.cache
def _context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


def local_client(**kwargs: Any) -> httpx.Client:
    return httpx.Client(verify=_context(), **kwargs)


def local_async_client(**kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=_context(), **kwargs)
