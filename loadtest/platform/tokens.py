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
from dataclasses import dataclass

import orjson

__all__ = ["TokenPayload", "TokenCodec", "TokenInvalid"]


class TokenInvalid(ValueError):
    """The token is malformed or its signature does not match (tampered or from another key)."""


@dataclass(frozen=True, slots=True)
class TokenPayload:
    uuid: str
    rs: int
    ins: str
    sec: tuple[str, ...]


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(data: bytes) -> bytes:
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


class TokenCodec:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("token key must be at least 16 bytes")
        self._key = key

    def _sign(self, body: bytes) -> bytes:
        return _b64(hmac.new(self._key, body, hashlib.sha256).digest())

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
