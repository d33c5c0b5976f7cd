"""The rest of /openapi.json: what openapi.py's respondent, admin and panel paths leave out. The
responses API (seed 002), the fault plan, the drop-answer helper of the data-check tests and the
home page; each admin operation may need the admin bearer token (--admin-token-env)."""

from __future__ import annotations

from typing import Any

__all__ = ["ADMIN_SECURITY", "extra_paths"]

# Open unless the platform was started with an admin token: then `Authorization: Bearer <token>`.
ADMIN_SECURITY = {"adminToken": {"type": "http", "scheme": "bearer",
                                 "description": "only when the platform has an admin token (--admin-token-env)"}}
_OPEN_OR_ADMIN: list[dict[str, list[str]]] = [{}, {"adminToken": []}]
_ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _admin(summary: str, *, body: dict[str, Any] | None = None, errors: tuple[int, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "security": _OPEN_OR_ADMIN,
                          "responses": {"200": _json({"type": "object"}, "ok"),
                                        "401": _json({"type": "object"}, "admin token required"),
                                        **{str(c): _json({"type": "object"}, "refused") for c in errors}}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def extra_paths(base: str) -> dict[str, Any]:
    """`base` is the respondent API's "/a/api/v2/surveys/{surveyId}"."""
    responses = {
        "summary": "Create a whole response in one call (seed 002): walked, validated and counted as the flow "
                   "would; responseStatus Completed, Terminated, Overquota or Redirected",
        "security": [{"apiKey": []}, {"apiKeyQuery": []}],
        "parameters": [{"name": "surveyId", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["responseSet"],
            "properties": {"responseSet": {"type": "array", "items": {"type": "object"}},
                           "externalReference": {"type": "string"}, "language": {"type": "string"},
                           "timeTaken": {"type": "integer"}},
            "additionalProperties": True}}}},
        "responses": {"200": _json({"type": "object"}, "the stored response object"),
                      **{str(c): _json(_ERROR_REF, "error envelope") for c in (400, 401, 403, 404, 405, 413, 500)}},
    }
    return {
        "/": {"get": {"summary": "this platform for a client developer: surveys, endpoints, a curl walk",
                      "responses": {"200": {"description": "an HTML page",
                                            "content": {"text/html": {"schema": {"type": "string"}}}}}}},
        f"{base}/responses": {"post": responses},
        "/__admin/faults": {
            "get": _admin("the fault plan and what it injected so far, by endpoint and kind"),
            "put": _admin("replace the fault plan ({} switches faults off; the journal carries on)",
                          body={"type": "object", "additionalProperties": True}, errors=(400,)),
        },
        "/__admin/drop-answer": {"post": _admin(
            "delete one stored answer (so a test can watch the data check catch it)",
            body={"type": "object", "required": ["respid", "variable"],
                  "properties": {"respid": {"type": "integer"}, "variable": {"type": "string"}}},
            errors=(400, 404))},
    }
