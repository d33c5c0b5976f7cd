"""The x-survey-token: base64url(JSON payload) + "." + base64url(HMAC-SHA256 of the payload part).

Payload fields follow seed 000: `uuid` (session), `rs` (response-set id, 0 until the first page
is submitted), `ins` (position: the page the respondent is on), `sec` (ids of the pages shown and
submitted so far). Any platform process holding the same key verifies any token, which is what
lets a restarted platform rebuild a session it no longer holds in memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import NamedTuple

import orjson

__all__ = ["TokenCodec", "TokenInvalid", "TokenPayload"]


class TokenInvalid(ValueError):
    """The token is malformed or its signature does not match (tampered or from another key)."""


class TokenPayload(NamedTuple):  # one per reply: half the cost of a frozen dataclass to build
    uuid: str
    rs: int
    ins: str
    sec: tuple[str, ...]


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> bytes:
    # base64.urlsafe_b64encode is this plus two layers of Python wrappers.
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def _unb64(data: bytes) -> bytes:
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


class TokenCodec:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("token key must be at least 16 bytes")
        # Keyed once and copied per token: with OpenSSL 3, hmac.new(key, ...) and even the
        # one-shot hmac.digest look the digest up and key it on every call (4 us); a copy of a
        # keyed HMAC is 1.5 us.
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def _sign(self, body: bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(body)
        return _b64(mac.digest())

    def encode(self, payload: TokenPayload) -> str:
        body = _b64(orjson.dumps({"uuid": payload.uuid, "rs": payload.rs, "ins": payload.ins, "sec": payload.sec}))
        return (body + b"." + self._sign(body)).decode("ascii")

    def decode(self, token: str) -> TokenPayload:
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError:
            raise TokenInvalid("token is not ASCII") from None
        body, dot, sig = raw.partition(b".")
        if not dot or not body or not hmac.compare_digest(sig, self._sign(body)):
            raise TokenInvalid("token signature does not match")
        try:
            data = orjson.loads(_unb64(body))
            payload = TokenPayload(
                uuid=data["uuid"], rs=data["rs"], ins=data["ins"], sec=tuple(data["sec"])
            )
        except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise TokenInvalid("token payload is malformed") from None
        if not isinstance(payload.uuid, str) or not isinstance(payload.rs, int) or not isinstance(payload.ins, str):
            raise TokenInvalid("token payload has wrong types")
        return payload
