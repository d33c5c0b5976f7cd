"""HTTP/1.1 on asyncio streams: just enough of RFC 9112 for a test server.

Requests: a head of at most 64 KiB, an optional Content-Length body (at most 1 MiB); a request
with Transfer-Encoding is refused (400, then the connection closes) - this server reads only
Content-Length bodies. Replies: Content-Length, or Transfer-Encoding: chunked when the caller
asks for it (the body then goes out in up to three chunks, flushed one by one).
Named `wire`, not `http`, so that it can never shadow the standard library's `http` package.
"""

from __future__ import annotations

import asyncio
import email.utils
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

__all__ = ["MAX_HEAD", "BadRequest", "Request", "Response", "read_request", "write_response"]

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 413: "Content Too Large", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 503: "Service Unavailable",
}


class BadRequest(Exception):
    """The bytes on the connection are not a request we can read; the connection closes after the reply."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]  # lower-case names; a repeated header's values joined with ", "
    body: bytes = b""
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)  # the first value of each parameter

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection, or None at a clean end of stream between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise BadRequest(400, "the request head ended early") from None
    except asyncio.LimitOverrunError:
        raise BadRequest(431, "request head too large") from None
    lines = head.lstrip(b"\r\n").decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400, f"bad request line {lines[0][:80]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(400, f"bad header line {line[:80]!r}")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if "transfer-encoding" in headers:
        raise BadRequest(400, "request bodies must carry Content-Length")
    body = b""
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise BadRequest(400, "bad Content-Length")
        if int(length) > MAX_BODY:
            raise BadRequest(413, "request body too large")
        try:
            body = await reader.readexactly(int(length))
        except asyncio.IncompleteReadError:
            raise BadRequest(400, "the request body ended early") from None
    split = urlsplit(target)
    query: dict[str, str] = {}
    for k, v in parse_qsl(split.query, keep_blank_values=True):
        query.setdefault(k, v)
    return Request(method, target, version, headers, body, split.path, query)


def _chunks(body: bytes, pieces: int = 3) -> list[bytes]:
    size = max(1, -(-len(body) // pieces))
    pieces_ = (body[i:i + size] for i in range(0, len(body), size))
    out = [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces_]
    out.append(b"0\r\n\r\n")
    return out


async def write_response(writer: asyncio.StreamWriter, response: Response, *, chunked: bool,
                         close: bool) -> None:
    lines = [
        f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Unknown')}",
        f"date: {email.utils.formatdate(usegmt=True)}",
        "server: independent-survey-server",
        f"content-type: {response.content_type}",
    ]
    lines.extend(f"{name}: {value}" for name, value in response.headers)
    lines.append("transfer-encoding: chunked" if chunked else f"content-length: {len(response.body)}")
    if close:
        lines.append("connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if not chunked:
        writer.write(head + response.body)
        await writer.drain()
        return
    chunks = _chunks(response.body)
    writer.write(head + chunks[0])
    for chunk in chunks[1:]:
        await writer.drain()
        writer.write(chunk)
    await writer.drain()
