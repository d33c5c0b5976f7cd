from __future__ import annotations

import base64

import orjson
import pytest

from loadtest.platform.questionpro.tokens import TokenCodec, TokenInvalid, TokenPayload

KEY = b"k" * 32


def test_a_token_is_base64url_json_with_the_seed_fields_and_round_trips() -> None:
    codec = TokenCodec(KEY)
    payload = TokenPayload(uuid="abc123", rs=7, ins="p2", sec=("p1",))
    token = codec.encode(payload)
    body = token.split(".")[0]
    assert orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) == {
        "uuid": "abc123", "rs": 7, "ins": "p2", "sec": ["p1"]
    }
    assert codec.decode(token) == payload


@pytest.mark.parametrize("mangle", [
    lambda t: t.replace(".", ".x", 1),                       # signature changed
    lambda t: "A" + t[1:] if t[0] != "A" else "B" + t[1:],   # payload changed
    lambda t: t.split(".")[0],                               # no signature
    lambda t: "",                                            # empty
    lambda t: "ü" + t,                                       # not ASCII
])
def test_a_tampered_token_is_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    codec = TokenCodec(KEY)
    token = codec.encode(TokenPayload(uuid="u", rs=0, ins="p1", sec=()))
    with pytest.raises(TokenInvalid):
        codec.decode(mangle(token))


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = TokenCodec(b"x" * 32).encode(TokenPayload(uuid="u", rs=1, ins="p1", sec=()))
    with pytest.raises(TokenInvalid):
        TokenCodec(KEY).decode(token)


def test_a_validly_signed_but_malformed_payload_is_refused() -> None:
    import hashlib
    import hmac

    body = base64.urlsafe_b64encode(b'{"uuid": 5}').rstrip(b"=")
    sig = base64.urlsafe_b64encode(hmac.new(KEY, body, hashlib.sha256).digest()).rstrip(b"=")
    with pytest.raises(TokenInvalid):
        TokenCodec(KEY).decode((body + b"." + sig).decode())
