"""OpenAPI paths and schemas of the respondent data API (seed 004) and the responses API (seed 002)."""

from __future__ import annotations

from typing import Any

__all__ = ["DATA_SECURITY", "data_paths", "data_schemas"]

DATA_SECURITY = {"bearer": {"type": "http", "scheme": "bearer",
                            "description": "loadtest mock --data-token-env NAME (default local token)"},
                 "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "apiKey"}}

_MESSAGE = {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}
_ROW_MESSAGE = {
    "type": "object",
    "required": ["fields", "message", "value", "severity"],
    "properties": {"fields": {"type": "array", "items": {"type": "string"}}, "message": {"type": "string"},
                   "value": {}, "severity": {"type": "string", "enum": ["Error"]}},
}
_VALIDATION = {
    "type": "object",
    "required": ["level", "rowResults"],
    "properties": {
        "level": {"type": "string"},
        "rowResults": {"type": "array", "items": {
            "type": "object", "required": ["rowNumber", "messages"],
            "properties": {"rowNumber": {"type": "integer"},
                           "messages": {"type": "array", "items": {"$ref": "#/components/schemas/DataRowMessage"}}},
        }},
    },
}
_RECORD = {"type": "object", "required": ["respid"], "additionalProperties": True,
           "description": "variable -> value; blank datapoints are left out (see records.py)",
           "properties": {"respid": {"type": "integer"}}}
_PAGE = {
    "type": "object",
    "required": ["itemCount", "totalCount", "items", "links"],
    "properties": {
        "itemCount": {"type": "integer"}, "totalCount": {"type": "integer"},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/DataRecord"}},
        "links": {"type": "object", "required": ["item"],
                  "properties": {"next": {"type": "string"}, "item": {"type": "string"}}},
    },
}
_WRITE_BODY = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "dataSchema": {"type": "object", "properties": {"keys": {"type": "array", "items": {"type": "string"}},
                                                        "variables": {"type": "array", "items": {"type": "string"}}}},
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/DataRecord"}},
    },
}
_WRITE_RESULT = {
    "type": "object",
    "properties": {"insertedRecords": {"type": "integer"},
                   "insertedIds": {"type": "array", "items": {"type": "integer"}},
                   "updatedRecords": {"type": "integer"}, "deletedRecords": {"type": "integer"},
                   "message": {"type": "string"},
                   "validationMessages": {"$ref": "#/components/schemas/DataValidation"}},
}
_RESPONSE = {
    "type": "object",
    "required": ["response"],
    "properties": {"response": {"type": "object", "required": [
        "responseID", "surveyID", "surveyName", "ipAddress", "timestamp", "location", "duplicate", "timeTaken",
        "responseStatus", "externalReference", "customVariables", "language", "currentInset", "operatingSystem",
        "osDeviceType", "browser", "responseSet"]}},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_SURVEY = {"name": "surveyId", "in": "path", "required": True, "schema": {"type": "string"},
           "description": "the survey id, with or without Forsta's p prefix (p100001 = 100001)"}
_ERRORS = {"401": _json(_ref("DataMessage"), "no or wrong bearer token"),
           "404": _json(_ref("DataMessage"), "no such survey or respondent")}


def _query(name: str, kind: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": description}


def _write(summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": [_SURVEY],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("DataWrite")}}},
        "responses": {"200": _json(_ref("DataWriteResult"), "done (skipped records in validationMessages)"),
                      "400": _json(_ref("DataWriteResult"), "nothing written: an invalid record or key"),
                      **_ERRORS},
    }


def data_paths() -> dict[str, Any]:
    data = "/v1/surveys/{surveyId}/respondents/data"
    read_params = [
        _SURVEY,
        _query("variables", "string", "comma-separated variable names (respid always comes back)"),
        _query("variableTemplateId", "string", "not supported here (400)"),
        _query("filterExpression", "string", "filter_expr.py's subset, e.g. respondent:status='complete'"),
        _query("pageSize", "integer", "1..10000 (default 100); JSON only"),
        _query("page", "integer", "from 1; JSON only"),
        {"name": "Accept", "in": "header", "required": False,
         "schema": {"type": "string", "enum": ["application/json", "application/x-ndjson"]}},
    ]
    return {
        data: {
            "get": {
                "summary": "read respondent records: one page (JSON) or all of them (NDJSON stream)",
                "security": [{"bearer": []}],
                "parameters": read_params,
                "responses": {
                    "200": {"description": "a page, or one record a line",
                            "content": {"application/json": {"schema": _ref("DataPage")},
                                        "application/x-ndjson": {"schema": _ref("DataRecord")}}},
                    "400": _json(_ref("DataMessage"), "bad pageSize, page, variables or filterExpression"),
                    **_ERRORS,
                },
            },
            "post": _write("add records (dataSchema optional)"),
            "put": _write("update records matched by dataSchema.keys"),
            "patch": _write("update matched records, add the rest"),
            "delete": _write("delete records matched by dataSchema.keys"),
        },
        data + "/{respId}": {
            "get": {
                "summary": "one respondent record",
                "security": [{"bearer": []}],
                "parameters": [_SURVEY,
                               {"name": "respId", "in": "path", "required": True, "schema": {"type": "integer"}},
                               read_params[1], read_params[2]],
                "responses": {"200": _json(_ref("DataRecord"), "the record"),
                              "400": _json(_ref("DataMessage"), "bad variables"), **_ERRORS},
            }
        },
        "/v1/surveys/{surveyId}/respondents/uservariables": {
            "post": {
                "summary": "declare a user variable (numeric, text, date, boolean)",
                "security": [{"bearer": []}],
                "parameters": [_SURVEY],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name", "dataType"],
                    "properties": {"name": {"type": "string"},
                                   "dataType": {"type": "string", "enum": ["numeric", "text", "date", "boolean"]},
                                   "length": {"type": "integer"}, "precision": {"type": "integer"},
                                   "scale": {"type": "integer"}}}}}},
                "responses": {"200": _json({"type": "object"}, "the variable's schema entry"),
                              "400": _json(_ref("DataMessage"), "bad declaration"),
                              "409": _json(_ref("DataMessage"), "name taken, or 1000 columns reached"), **_ERRORS},
            }
        },
        "/a/api/v2/surveys/{surveyId}/responses": {
            "post": {
                "summary": "create a response from a responseSet, validated and counted like a flow completion",
                "security": [{"apiKey": []}, {"apiKeyQuery": []}],
                "parameters": [{"name": "surveyId", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["responseSet"],
                    "properties": {"responseSet": {"type": "array", "items": {"type": "object"}},
                                   "externalReference": {"type": "string"}, "language": {"type": "string"},
                                   "timeTaken": {"type": "integer"}}}}}},
                "responses": {
                    "200": _json(_ref("ResponseObject"), "the stored response (responseStatus Completed, "
                                                          "Terminated, Overquota or Redirected)"),
                    **{str(code): _json(_ref("ErrorEnvelope"), "error envelope")
                       for code in (400, 401, 403, 404, 405, 413)},
                },
            }
        },
    }


def data_schemas() -> dict[str, Any]:
    return {"DataMessage": _MESSAGE, "DataRowMessage": _ROW_MESSAGE, "DataValidation": _VALIDATION,
            "DataRecord": _RECORD, "DataPage": _PAGE, "DataWrite": _WRITE_BODY, "DataWriteResult": _WRITE_RESULT,
            "ResponseObject": _RESPONSE}
