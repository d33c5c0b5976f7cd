"""Response bodies of the QuestionPro v2 respondent API (seeds 000 and 001).

Error envelopes follow the seeds' JSON schema (docs, resourceUrl, name, id, message,
httpStatusCode; every field required). The seeds print `"docs"` unquoted, which is not JSON;
we serve it as a string, which is what the schema says.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

__all__ = ["ApiReply", "error_envelope", "no_previous_page", "status_body", "ERRORS"]

DOCS = "www.questionpro.com/api/error-codes.html"

# HTTP status -> (name, id, default message), as the seeds show them.
ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("BAD_REQUEST", "1000", "Invalid URL parameters"),
    401: ("UNAUTHORIZED", "1010", "Incorrect API Key"),
    403: ("FORBIDDEN", "1013", "The user does not have permission to access the resource"),
    404: ("NOT_FOUND", "1040", "The resource that you're trying to access doesn't exist"),
    405: ("METHOD_NOT_ALLOWED", "1005", "The method is not allowed for this resource"),
    413: ("PAYLOAD_TOO_LARGE", "1013", "The request body is too large"),
    500: ("INTERNAL_SERVER_ERROR", "1026", "We are not able to process your request"),
}


class ApiReply:
    """An HTTP status, a JSON body (bytes) and the session token to send back (if any)."""

    __slots__ = ("status", "body", "token", "outcome")

    def __init__(self, status: int, body: bytes, token: str | None = None, outcome: str = "") -> None:
        self.status = status
        self.body = body
        self.token = token
        self.outcome = outcome  # the `status` field of a 200 reply, for the platform's stats


def _request_id() -> str:
    return str(uuid.uuid4())


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
    response: dict[str, Any] = {"status": status}
    response.update(fields)
    return ApiReply(200, orjson.dumps({"response": response, "requestID": _request_id()}), token, outcome=status)
