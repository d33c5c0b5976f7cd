"""OpenAPI 3.0 description of every endpoint the reference platform serves (GET /openapi.json)."""

from __future__ import annotations

from typing import Any

from loadtest.platform.openapi_data import DATA_SECURITY, data_paths, data_schemas
from loadtest.platform.openapi_extra import ADMIN_SECURITY, extra_paths

__all__ = ["PAGE_STATUSES", "openapi_document"]

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
            "description": f"QuestionPro v2 respondent and responses API subset, TheoremReach DIY panel API, "
                           f"Forsta respondent data API; surveys served: {survey_ids}",
        },
        "paths": {
            f"{base}/take": {"get": take},
            f"{base}/submit-page": {"post": _respondent_op("Submit the current page's answers", body=True)},
            f"{base}/previous-page": {"get": previous},
            "/__admin/health": {"get": {"summary": "liveness", "responses": admin_json}},
            "/__admin/stats": {"get": {
                "summary": "requests, sessions, outcomes, quota fill",
                "description": "With `loadtest mock --workers N`: summed over the workers (each worker's figures "
                               "reach the sum within 0.25 s), plus `requests_by_worker` (by PID) and "
                               "`stale_retries` (requests handled again because another worker moved "
                               "their respondent first); open_sessions counts the rows in progress.",
                "responses": admin_json}},
            "/__admin/reset": {"post": {"summary": "forget all responses and counts", "responses": admin_json}},
            "/__admin/static-page": {"get": {"summary": "a pre-rendered page (bench baseline)",
                                             "responses": admin_json}},
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
            **_panel_paths(),
            **data_paths(),
            **extra_paths(base),  # the responses API, the fault plan, drop-answer and the home page
        },
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "api-key"},
                "panelKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key",
                             "description": "base64 of the panel API key (or the key itself in the api_key query)"},
                **DATA_SECURITY,
                **ADMIN_SECURITY,
                "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "apiKey"},  # the responses API's other way
            },
            "schemas": {"ErrorEnvelope": _ERROR, "PageResponse": _PAGE, "NoPrevious": _NO_PREVIOUS,
                        "PanelErrors": _PANEL_ERRORS, "PanelData": _PANEL_DATA, **data_schemas()},
        },
    }


_PANEL_ERRORS = {
    "type": "object",
    "required": ["errors"],
    "properties": {"errors": {"type": "array", "items": {"type": "string"}},
                   "meta": {"type": "object",
                            "properties": {"hints": {"type": "array", "items": {"type": "string"}},
                                           "warnings": {"type": "array", "items": {"type": "string"}}}}},
}
_PANEL_DATA = {"type": "object", "required": ["data"], "properties": {"data": {}, "meta": {"type": "object"}}}
_ENC = {"name": "enc", "in": "query", "required": True, "schema": {"type": "string"},
        "description": "digest of the URL as sent (without enc) + raw body + secret (sha3-256 hex by default)"}


def _panel_op(summary: str, ok: str = "200", body: bool = False, path_id: str | None = None) -> dict[str, Any]:
    params = [_ENC]
    if path_id:
        params = [{"name": path_id, "in": "path", "required": True, "schema": {"type": "string"}}, _ENC]
    responses: dict[str, Any] = {ok: _json({"$ref": "#/components/schemas/PanelData"}, "ok") if ok != "204"
                                 else {"description": "recorded"}}
    for code in ("400", "401", "403", "404", "422", "429"):
        responses[code] = _json({"$ref": "#/components/schemas/PanelErrors"}, "errors envelope")
    op: dict[str, Any] = {"summary": summary, "security": [{"panelKey": []}], "parameters": params,
                          "responses": responses}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    return op


def _panel_paths() -> dict[str, Any]:
    v1 = "/api/external/v1"
    redirect = _panel_op("record a respondent result (redirect form; enc only, no key)")
    redirect["security"] = []
    redirect["parameters"] = [
        {"name": "result", "in": "query", "required": True, "schema": {"type": "integer", "enum": [3, 4, 5, 10]}},
        {"name": "transaction_id", "in": "query", "required": True, "schema": {"type": "string"}},
        {"name": "reason", "in": "query", "required": False, "schema": {"type": "string"}},
        _ENC,
    ]
    return {
        "/respondent_result/": {"get": redirect},
        "/respondent_result/callbacks/": {"post": _panel_op("record a respondent result (postback)", "204", True)},
        f"{v1}/surveys": {"get": _panel_op("list DIY surveys"), "post": _panel_op("create a survey", "201", True)},
        f"{v1}/surveys/{{surveyId}}": {
            "get": _panel_op("get a survey", path_id="surveyId"),
            "put": _panel_op("update a survey", body=True, path_id="surveyId"),
            "delete": _panel_op("delete a survey", path_id="surveyId"),
        },
        **{f"{v1}/surveys/{{surveyId}}/{action}": {"post": _panel_op(f"{action} a survey", path_id="surveyId")}
           for action in ("start", "pause", "complete")},
        f"{v1}/surveys/{{surveyId}}/transactions": {
            "post": _panel_op("list a survey's transactions", path_id="surveyId"),
        },
        f"{v1}/surveys/{{surveyId}}/quotas": {
            "get": _panel_op("list a survey's quotas", path_id="surveyId"),
            "post": _panel_op("create a quota (nested mode, one question)", "201", True, path_id="surveyId"),
        },
        f"{v1}/quotas/{{quotaId}}": {
            "put": _panel_op("update a quota", body=True, path_id="quotaId"),
            "delete": _panel_op("delete a quota", path_id="quotaId"),
        },
    }
