"""OpenAPI 3.0 description of every endpoint the reference platform serves (GET /openapi.json)."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document", "PAGE_STATUSES"]

PAGE_STATUSES = [
    "success", "validation_errors", "authentication_required", "already_completed", "quota_full",
    "survey_complete", "terminated", "survey_closed", "survey_paused", "survey_suspended",
    "language_selection_required", "survey_opt_out", "redirect", "error",
]

_ERROR = {
    "type": "object",
    "required": ["response"],
    "properties": {
        "response": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["docs", "resourceUrl", "name", "id", "message", "httpStatusCode"],
                    "properties": {
                        "docs": {"type": "string"},
                        "resourceUrl": {"type": "string"},
                        "name": {"type": "string"},
                        "id": {"type": "string"},
                        "message": {"type": "string"},
                        "httpStatusCode": {"type": "integer"},
                    },
                }
            },
        }
    },
}

_QUESTION = {
    "type": "object",
    "required": ["html", "json"],
    "properties": {
        "html": {"type": "string", "nullable": True},
        # An object, or the same object JSON-encoded as a string (a per-survey switch).
        "json": {"oneOf": [{"type": "object"}, {"type": "string"}]},
    },
}

_PAGE = {
    "type": "object",
    "required": ["response", "requestID"],
    "properties": {
        "requestID": {"type": "string"},
        "response": {
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": {"type": "string", "enum": PAGE_STATUSES},
                "redirectUrl": {"type": "string", "nullable": True},
                "meta": {
                    "type": "object",
                    "properties": {
                        "isFinalPage": {"type": "boolean"},
                        "progressPercentage": {"type": "integer", "minimum": 0, "maximum": 100},
                    },
                },
                "navigation": {
                    "type": "object",
                    "properties": {
                        "previousPageUrl": {"type": "string", "nullable": True},
                        "nextPageSubmitUrl": {"type": "string"},
                    },
                },
                "themeConfig": {"type": "object"},
                "questions": {"type": "array", "items": _QUESTION},
                "validationErrors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["questionId", "message"],
                        "properties": {"questionId": {"type": "integer"}, "message": {"type": "string"}},
                    },
                },
                "languages": {"type": "array", "items": {"type": "string"}},
                "terminateReason": {"type": "object"},
                "quotaId": {"type": "string"},
                "message": {"type": "string"},
            },
        },
    },
}

_NO_PREVIOUS = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        },
        "requestID": {"type": "string"},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _json({"$ref": "#/components/schemas/ErrorEnvelope"}, "error envelope") for code in codes}


def _respondent_op(summary: str, extra: dict[str, Any] | None = None, body: bool = False) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": "surveyId", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "x-survey-token", "in": "header", "required": False, "schema": {"type": "string"}},
    ]
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"apiKey": []}],
        "parameters": params,
        "responses": {
            "200": {
                "description": "a page or a status",
                "headers": {"x-survey-token": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PageResponse"}}},
            },
            **_errors(400, 401, 403, 404, 405, 413, 500),
        },
    }
    if extra:
        op.update(extra)
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "formParam keys (u_, m_, t_, r_, s_, dt_day_/dt_month_/dt_year_) "
                        "to string values (m_: a list), or {\"password\"} / {\"language\"}",
                        "additionalProperties": True,
                    }
                }
            },
        }
    return op


def openapi_document(survey_ids: list[int]) -> dict[str, Any]:
    base = "/a/api/v2/surveys/{surveyId}"
    take = _respondent_op("Load the current page; the first call opens a session")
    take["parameters"] += [
        {"name": "transaction_id", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "lang", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "opt_out", "in": "query", "required": False, "schema": {"type": "string"}},
    ]
    previous = _respondent_op("Go back one page; earlier answers come back selected")
    previous["responses"]["400"] = _json(
        {"oneOf": [{"$ref": "#/components/schemas/ErrorEnvelope"}, {"$ref": "#/components/schemas/NoPrevious"}]},
        "no page submitted yet (code 1002), or a malformed request",
    )
    admin_json = {"200": _json({"type": "object"}, "ok")}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "loadtest reference survey platform",
            "version": "1",
            "description": f"QuestionPro v2 respondent API subset; surveys served: {survey_ids}",
        },
        "paths": {
            f"{base}/take": {"get": take},
            f"{base}/submit-page": {"post": _respondent_op("Submit the current page's answers", body=True)},
            f"{base}/previous-page": {"get": previous},
            "/__admin/health": {"get": {"summary": "liveness", "responses": admin_json}},
            "/__admin/stats": {"get": {"summary": "requests, sessions, outcomes, quota fill", "responses": admin_json}},
            "/__admin/reset": {"post": {"summary": "forget all responses and counts", "responses": admin_json}},
            "/__admin/static-page": {"get": {"summary": "a pre-rendered page (bench baseline)", "responses": admin_json}},
            "/__admin/surveys/{surveyId}/state": {
                "put": {
                    "summary": "set a survey's state",
                    "parameters": [{"name": "surveyId", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["state"],
                                    "properties": {
                                        "state": {"type": "string", "enum": ["active", "closed", "paused", "suspended"]}
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        **admin_json,
                        "400": _json({"type": "object"}, "bad state"),
                        "404": _json({"type": "object"}, "no such survey"),
                    },
                }
            },
            "/openapi.json": {"get": {"summary": "this document", "responses": admin_json}},
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "api-key"}},
            "schemas": {"ErrorEnvelope": _ERROR, "PageResponse": _PAGE, "NoPrevious": _NO_PREVIOUS},
        },
    }
