"""`loadtest mock --log`: one line per request, for whoever develops a client against the platform.

    09:41:07.512 GET /a/api/v2/surveys/100001/take?transaction_id=T1 200 1.8 ms token 3f9c2a1b… (new)
    09:41:09.020 POST /a/api/v2/surveys/100001/submit-page 200 2.4 ms token 3f9c2a1b…

Method, path (with its query), status, the milliseconds the platform took (an injected delay
included), and the survey token abbreviated: the one the request carried, or the one the reply
handed out ("new" when it differs). Keys and bearer tokens are never written. The log wraps
Platform.serve, the one call both server interfaces (RSGI and ASGI) make per request.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loadtest.platform.app import Platform

__all__ = ["abbreviate", "log_requests", "request_line"]

TOKEN_SHOWN = 8


def abbreviate(token: str | None) -> str:
    if not token:
        return "-"
    return token[:TOKEN_SHOWN] + ("…" if len(token) > TOKEN_SHOWN else "")


def request_line(method: str, path: str, query: str, status: int, ms: float, sent: str | None,
                 received: str | None, at: float) -> str:
    clock = time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 1000) % 1000:03d}"
    target = path + (f"?{query}" if query else "")
    token = abbreviate(received or sent)
    fresh = " (new)" if received and received != sent else ""
    return f"{clock} {method} {target} {status} {ms:.1f} ms token {token}{fresh}"


def log_requests(platform: Platform, out: IO[str]) -> None:
    """From now on, every request `platform` serves is one line on `out`."""
    serve = platform.serve

    def logged(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Any:
        start = time.perf_counter()
        response, delay = serve(method, path, query, headers, body)
        status, reply_headers, _ = response
        received = next((v for k, v in reply_headers if k == "x-survey-token"), None)
        ms = (time.perf_counter() - start + delay) * 1000
        out.write(request_line(method, path, query, status, ms, headers.get("x-survey-token"), received,
                               time.time()) + "\n")
        out.flush()
        return response, delay

    platform.serve = logged  # type: ignore[method-assign]
