"""Response bodies of the QuestionPro v2 respondent API (seeds 000 and 001).

Error envelopes follow the seeds' JSON schema (docs, resourceUrl, name, id, message,
httpStatusCode; every field required). The seeds print `"docs"` unquoted, which is not JSON;
we serve it as a string, which is what the schema says.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import orjson

__all__ = [
    "ERRORS",
    "ApiReply",
    "cached_status_body",
    "error_envelope",
    "no_previous_page",
    "status_body",
    "status_response"
]

DOCS = "www.questionpro.com/api/error-codes.html"

# HTTP status -> (name, id, default message), as the seeds show them.
ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("BAD_REQUEST", "1000", "Invalid URL parameters"),
    401: ("UNAUTHORIZED", "1010", "Incorrect API Key"),
    403: ("FORBIDDEN", "1013", "The user does not have permission to access the resource"),
    404: ("NOT_FOUND", "1040", "The resource that you're trying to access doesn't exist"),
    405: ("METHOD_NOT_ALLOWED", "1005", "The method is not allowed for this resource"),
    408: ("REQUEST_TIMEOUT", "1008", "The request body did not arrive in time"),  # not in the seeds
    413: ("PAYLOAD_TOO_LARGE", "1013", "The request body is too large"),
    500: ("INTERNAL_SERVER_ERROR", "1026", "We are not able to process your request"),
}


class ApiReply:
    """An HTTP status, a JSON body (bytes) and the session token to send back (if any)."""

    __slots__ = ("body", "outcome", "status", "token")

    def __init__(self, status: int, body: bytes, token: str | None = None, outcome: str = "") -> None:
        self.status = status
        self.body = body
        self.token = token
        self.outcome = outcome  # the `status` field of a 200 reply, for the platform's stats


# requestID only has to be unique; uuid4 asks the OS for 16 random bytes per reply (3.8 us). A
# random per-process prefix shaped like a UUID's first four groups plus a counter as the fifth
# is unique within the process, and across processes with overwhelming odds, for 0.7 us.
_REQUEST_ID_PREFIX = str(uuid.uuid4())[:24]
_request_counter = itertools.count(1)


def _request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_counter):012x}"


def error_envelope(http_status: int, resource: str, message: str | None = None) -> ApiReply:
    name, code, default = ERRORS.get(http_status, ERRORS[500])
    body = {
        "response": {
            "error": {
                "docs": DOCS,
                "name": name,
                "httpStatusCode": http_status,
                "id": code,
                "message": message or default,
                "resourceUrl": resource,
            }
        }
    }
    return ApiReply(http_status, orjson.dumps(body), outcome=name)


def no_previous_page(token: str | None) -> ApiReply:
    """Seed 001 documents two 400 bodies for previous-page; this one is for 'nothing submitted
    yet' (code 1002), the envelope for malformed requests."""
    body = {"error": {"code": 1002, "message": "No previous page to navigate back to."}, "requestID": _request_id()}
    return ApiReply(400, orjson.dumps(body), token, outcome="BAD_REQUEST")


def status_body(status: str, token: str | None, **fields: Any) -> ApiReply:
    return cached_status_body(status, token, status_response(status, **fields))


def status_response(status: str, **fields: Any) -> bytes:
    """The serialized `response` object of a status body: {"status": ..., **fields}."""
    response: dict[str, Any] = {"status": status}
    response.update(fields)
    return orjson.dumps(response)


def cached_status_body(status: str, token: str | None, response: bytes) -> ApiReply:
    """A status body around a `response` made by status_response, possibly long ago (a cached
    page): the same bytes orjson would give for {"response": ..., "requestID": ...}."""
    body = b'{"response":%b,"requestID":"%b"}' % (response, _request_id().encode())
    return ApiReply(200, body, token, outcome=status)
