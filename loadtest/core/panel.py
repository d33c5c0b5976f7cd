"""Panel completion callbacks: result codes and request signing (TheoremReach style, seed 003).

Signing: `enc` = digest of the request URL as sent (with its query, without `enc`) + the raw JSON
body (POST/PUT) + the company secret; SHA3-256 by default, SHA-256 and SHA-1 selectable, hex by
default, appended as the `enc` query parameter. Panels differ (Cint, PureSpectrum, Dynata hash
other things, other ways), so every part is a setting: algorithm, encoding, what is hashed and in
which order, the parameter's name, and whether it goes in the query or a header.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

__all__ = ["RESULT_CODES", "Callback", "Signer", "build_callback", "panel_result", "result_code", "strip_param"]

ALGORITHMS = {"sha3_256": hashlib.sha3_256, "sha256": hashlib.sha256, "sha1": hashlib.sha1}
PARTS = ("url", "body", "secret")

# TheoremReach result ids (seed 003, "Verifying External Completes").
RESULT_CODES = {"success": 10, "overquota": 3, "disqualified": 4, "screenout": 5}


def result_code(outcome: str, details: Mapping[str, Any] | None = None) -> int | None:
    """The panel result for a survey outcome, or None when the panel is not told (abandoned, ...).

    survey_complete -> 10; quota_full -> 3; terminated -> 5 when the platform says the screener
    did it, 4 (disqualified) for quality/data terminations and when it does not say.
    """
    if outcome == "survey_complete":
        return RESULT_CODES["success"]
    if outcome == "quota_full":
        return RESULT_CODES["overquota"]
    if outcome == "terminated":
        reason = (details or {}).get("terminateReason")
        kind = reason.get("kind") if isinstance(reason, dict) else None
        return RESULT_CODES["screenout"] if kind == "screener" else RESULT_CODES["disqualified"]
    return None


_TOLD = ("survey_complete", "quota_full", "terminated")


def panel_result(outcome: str | None, statuses: list[str], details: Mapping[str, Any] | None = None) -> int | None:
    """What the panel must be told about a respondent: its first status the panel cares about.

    A returner completes and then re-enters (`already_completed`): the panel still gets the
    completion. `details` (terminateReason) belong to the final reply, so they count only when
    that first status is also the outcome.
    """
    first = next((s for s in statuses if s in _TOLD), None)
    if first is None:
        return None
    return result_code(first, details if first == outcome else None)


def strip_param(url: str, name: str) -> str:
    """The URL without query parameter `name` (what a verifier hashes)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Signer:
    secret: str
    algorithm: Literal["sha3_256", "sha256", "sha1"] = "sha3_256"
    encoding: Literal["hex", "base64url"] = "hex"
    parts: tuple[str, ...] = PARTS  # what is hashed, in order
    param: str = "enc"
    placement: Literal["query", "header"] = "query"

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm: expected one of {', '.join(ALGORITHMS)} (got {self.algorithm!r})")
        if self.encoding not in ("hex", "base64url"):
            raise ValueError(f"encoding: expected hex or base64url (got {self.encoding!r})")
        if not self.parts or any(p not in PARTS for p in self.parts):
            raise ValueError(f"parts: expected some of {', '.join(PARTS)} (got {self.parts!r})")

    def digest(self, url: str, body: bytes = b"") -> str:
        pieces = {"url": url.encode(), "body": body, "secret": self.secret.encode()}
        h = ALGORITHMS[self.algorithm](b"".join(pieces[p] for p in self.parts))
        if self.encoding == "hex":
            return h.hexdigest()
        return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()

    def sign(self, url: str, body: bytes = b"") -> tuple[str, dict[str, str]]:
        """The URL to send and any header to add."""
        enc = self.digest(url, body)
        if self.placement == "header":
            return url, {self.param: enc}
        sep = "&" if urlsplit(url).query else "?"
        return f"{url}{sep}{urlencode({self.param: enc})}", {}

    def verify(self, url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bool:
        """Check a received request: `url` as the client addressed it, `enc` included."""
        import hmac

        if self.placement == "header":
            given = (headers or {}).get(self.param.lower(), "")
            return hmac.compare_digest(given.encode(), self.digest(url, body).encode())
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        given = query.get(self.param, "")
        # As bytes: compare_digest refuses str with non-ASCII characters, and `enc` is the sender's.
        return hmac.compare_digest(given.encode(), self.digest(strip_param(url, self.param), body).encode())


@dataclass(frozen=True)
class Callback:
    transaction_id: str
    result: int
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def build_callback(
    base_url: str,
    transaction_id: str,
    result: int,
    signer: Signer,
    api_key: str,
    mode: Literal["postback", "redirect"] = "postback",
    reason: str | None = None,
) -> Callback:
    """A signed callback: the server-to-server postback (POST /respondent_result/callbacks/ with a
    JSON body) or the redirect form (GET /respondent_result/?result=&transaction_id=)."""
    base = base_url.rstrip("/")
    if mode == "postback":
        body = orjson.dumps({"transaction_id": transaction_id, "result": result, "reason": reason})
        url, extra = signer.sign(f"{base}/respondent_result/callbacks/", body)
        headers = {"content-type": "application/json", "x-api-key": base64.b64encode(api_key.encode()).decode(),
                   **extra}
        return Callback(transaction_id, result, "POST", url, headers, body)
    query = {"result": str(result), "transaction_id": transaction_id}
    if reason:
        query["reason"] = reason
    url, extra = signer.sign(f"{base}/respondent_result/?{urlencode(query)}")
    return Callback(transaction_id, result, "GET", url, extra, b"")
