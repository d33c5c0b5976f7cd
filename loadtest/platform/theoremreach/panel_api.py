"""The reference platform's panel: a TheoremReach DIY API subset (seed 003), HTTP-agnostic.

    GET  /respondent_result/?result=&transaction_id=&enc=       redirect form (no api key: enc proves it)
    POST /respondent_result/callbacks/?enc=                     postback {transaction_id, result, reason} -> 204
    GET|POST        /api/external/v1/surveys                    list / create (201)
    GET|PUT|DELETE  /api/external/v1/surveys/{id}
    POST            /api/external/v1/surveys/{id}/start|pause|complete
    POST            /api/external/v1/surveys/{id}/transactions  list, with each transaction's state
    GET|POST        /api/external/v1/surveys/{id}/quotas        list / create (nested mode, one question each)
    PUT|DELETE      /api/external/v1/quotas/{id}

Every request but the redirect needs the API key (base64 in X-Api-Key, or plain in `api_key`);
every request needs `enc` over the URL as the client addressed it (scheme, Host, path, query
without enc) + raw body + secret: 403 with an `errors` envelope otherwise. Each key may make 10
requests a second; beyond that, 429 with Retry-After. A DIY survey is linked to the respondent
survey its `entry_url_prod` takes respondents to; its quotas' `target_completes` become quota
cells the respondent API enforces (quota_full), and start/pause/complete set that survey's state.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from loadtest.core.limits import TokenBucket
from loadtest.core.panel import RESULT_CODES, Signer
from loadtest.local_defaults import DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET
from loadtest.platform.theoremreach.store import DiyQuota, DiySurvey, PanelStore

__all__ = [
    "DEFAULT_PANEL_API_KEY",
    "DEFAULT_PANEL_SECRET",
    "STATE_FOR",
    "TRANSACTION_STATES",
    "Linker",
    "PanelApi",
    "PanelConfig",
]

# For local use only, when LOADTEST_PANEL_API_KEY / LOADTEST_PANEL_SECRET are not set.

V1 = "/api/external/v1"
STATE_FOR = {"start": "live", "pause": "paused", "complete": "completed"}
MESSAGES = {"start": "Successfully started the survey.", "pause": "Successfully stopped the survey.",
            "complete": "Successfully completed the survey."}
TRANSACTION_STATES = {10: "completed", 3: "overquota", 4: "disqualified", 5: "screenout"}
_ENTRY = re.compile(r"/a/api/v2/surveys/(\d+)/take")
Reply = tuple[int, list[tuple[str, str]], bytes]


class Linker:
    """What the panel needs from the respondent side (set by the app): which respondent surveys
    exist, setting a survey's state, replacing its panel quota cells, and its transactions."""

    def __init__(self, surveys: Callable[[], set[int]], set_state: Callable[[int, str], None],
                 set_quotas: Callable[[int, list[tuple[str, int, frozenset[int], int]]], None],
                 transactions: Callable[[int], list[dict[str, Any]]], quota_counts: Callable[[int], dict[str, int]]):
        self.surveys, self.set_state, self.set_quotas = surveys, set_state, set_quotas
        self.transactions, self.quota_counts = transactions, quota_counts


@dataclass
class PanelConfig:
    api_key: str
    secret: str
    algorithm: str = "sha3_256"
    rate: float = 10.0  # requests per second per API key (seed 003, "Rate Limiting")


def _json(status: int, payload: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> Reply:
    return status, [("content-type", "application/json"), *(headers or [])], orjson.dumps(payload)


def _error(status: int, *errors: str, hints: list[str] | None = None,
           headers: list[tuple[str, str]] | None = None) -> Reply:
    return _json(status, {"errors": list(errors), "meta": {"hints": hints or [], "warnings": []}}, headers)


def _data(data: Any, status: int = 200, warnings: list[str] | None = None) -> Reply:
    return _json(status, {"data": data, "meta": {"warnings": warnings or []}})


@dataclass
class PanelApi:
    config: PanelConfig
    store: PanelStore
    linker: Linker
    clock: Callable[[], float]
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    refused: int = 0  # 429s sent
    # (key, rate, burst, now) -> seconds to wait: a bucket other processes share (sharing.py);
    # None: this process's own `buckets`.
    shared_take: Callable[[str, float, int, float], float] | None = None

    def __post_init__(self) -> None:
        self.signer = Signer(self.config.secret, algorithm=self.config.algorithm)  # type: ignore[arg-type]

    # --- entry -----------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Reply:
        url = f"http://{headers.get('host', '')}{path}" + (f"?{query}" if query else "")
        params = dict(parse_qsl(query, keep_blank_values=True))
        redirect = path == "/respondent_result/" and method == "GET"
        if not redirect:
            key = self._key(headers, params)
            if key is None:
                return _error(401, "Your API key is invalid.",
                              hints=["Send the base64-encoded key in X-Api-Key, or the key in api_key."])
            burst = max(1, int(self.config.rate))
            if self.shared_take is not None:
                wait = self.shared_take(key, self.config.rate, burst, self.clock())
            else:
                wait = self.buckets.setdefault(key, TokenBucket(self.config.rate, burst=burst)).try_take(self.clock())
            if wait > 0:
                self.refused += 1
                return _error(429, f"Rate limit exceeded: {self.config.rate:g} requests per second.",
                              headers=[("retry-after", str(max(1, math.ceil(wait))))])
        if not self.signer.verify(url, body if method in ("POST", "PUT", "PATCH") else b""):
            return _error(403, "The security request hash provided is invalid.", hints=[
                f"enc must be the {self.config.algorithm} hex digest of the request URL as sent (without enc), "
                "then the raw JSON body (POST/PUT), then your secret key."])
        try:
            doc = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            return _error(400, "The request body is not valid JSON.")
        if not isinstance(doc, dict):
            return _error(400, "The request body must be a JSON object.")
        if redirect:
            return self._result(params, "redirect")
        if path == "/respondent_result/callbacks/" and method == "POST":
            return self._result(doc, "callback")
        if path.startswith(V1 + "/"):
            return self._diy(method, path[len(V1) + 1:].rstrip("/").split("/"), doc)
        return _error(404, "The specified resource could not be found.")

    def _key(self, headers: dict[str, str], params: dict[str, str]) -> str | None:
        candidate = params.get("api_key")
        header = headers.get("x-api-key")
        if header:
            try:
                candidate = base64.b64decode(header.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
        if candidate is not None and hmac.compare_digest(candidate.strip().encode(), self.config.api_key.encode()):
            return candidate.strip()
        return None

    # --- respondent results ------------------------------------------------------------------------
    def _result(self, fields: dict[str, Any], via: str) -> Reply:
        txn = fields.get("transaction_id")
        try:
            result = int(fields.get("result"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            result = -1
        if not isinstance(txn, str) or not txn or result not in RESULT_CODES.values():
            return _error(400, "transaction_id and result (3, 4, 5 or 10) are required.")
        reason = fields.get("reason")
        first = self.store.record_result(txn, result, str(reason) if reason else None, via, self.clock())
        warnings = [] if first else ["A result was already recorded for this transaction; it was kept once."]
        if via == "callback":
            return 204, [("x-result-repeat", "0" if first else "1")], b""
        return _data({"message": "Result recorded." if first else "Result already recorded."}, warnings=warnings)

    # --- DIY ---------------------------------------------------------------------------------------
    def _diy(self, method: str, parts: list[str], doc: dict[str, Any]) -> Reply:
        if parts == ["surveys"]:
            if method == "GET":
                return _data([self._survey_json(s, full=False) for s in self.store.surveys()])
            if method == "POST":
                return self._create_survey(doc)
        elif len(parts) >= 2 and parts[0] == "surveys":
            survey = self.store.survey(parts[1])
            if survey is None:
                return _error(404, "The specified resource could not be found.")
            rest = parts[2:]
            if not rest:
                if method == "GET":
                    return _data(self._survey_json(survey, full=True))
                if method == "PUT":
                    return self._update_survey(survey, doc)
                if method == "DELETE":
                    self.store.delete_survey(survey.id)
                    self._sync_quotas(survey)
                    return _data({"message": "Survey successfully deleted."})
            elif rest[0] in STATE_FOR and len(rest) == 1 and method == "POST":
                survey.fields["state"] = STATE_FOR[rest[0]]
                self.store.save_survey(survey)
                linked = self._linked(survey)
                if linked is not None:
                    self.linker.set_state(linked, {"start": "active", "pause": "paused", "complete": "closed"}[rest[0]])
                return _data({"message": MESSAGES[rest[0]]})
            elif rest == ["transactions"] and method == "POST":
                return _data(self._transactions(survey))
            elif rest == ["quotas"]:
                if method == "GET":
                    return _data([self._quota_json(q, survey) for q in self.store.quotas(survey.id)])
                if method == "POST":
                    return self._write_quota(survey, None, doc)
        elif len(parts) == 2 and parts[0] == "quotas":
            quota = self.store.quota(parts[1])
            if quota is None:
                return _error(404, "The specified resource could not be found.")
            survey = self.store.survey(quota.survey_id)
            assert survey is not None
            if method == "PUT":
                return self._write_quota(survey, quota, doc)
            if method == "DELETE":
                self.store.delete_quota(quota.id)
                self._sync_quotas(survey)
                return _data({"message": "Quota successfully deleted."})
        else:
            return _error(404, "The specified resource could not be found.")
        return _error(405, "You tried to access a resource with an invalid HTTP method.")

    def _create_survey(self, doc: dict[str, Any]) -> Reply:
        problems = _survey_problems(doc, creating=True)
        if problems:
            return _error(400, *problems)
        fields = {"name": doc["name"], "state": "draft", "quota_mode": doc.get("quota_mode", "nested"),
                  "entry_url_prod": doc["entry_url_prod"], "entry_url_test": doc.get("entry_url_test"),
                  "start_at": doc.get("start_at"), "end_at": doc.get("end_at"), "cpi": doc.get("cpi"),
                  "estimated_length_of_interview": doc.get("estimated_length_of_interview"),
                  "estimated_conversion_rate": doc.get("estimated_conversion_rate")}
        survey = self.store.create_survey(fields, self.clock())
        return _data(self._survey_json(survey, full=True), 201, warnings=self._link_warnings(survey))

    def _update_survey(self, survey: DiySurvey, doc: dict[str, Any]) -> Reply:
        problems = _survey_problems(doc, creating=False)
        if problems:
            return _error(400, *problems)
        allowed = {"name", "entry_url_prod", "entry_url_test", "start_at", "end_at", "cpi",
                   "estimated_length_of_interview", "estimated_conversion_rate", "quota_mode"}
        survey.fields.update({k: v for k, v in doc.items() if k in allowed})
        self.store.save_survey(survey)
        self._sync_quotas(survey)
        return _data(self._survey_json(survey, full=True), warnings=self._link_warnings(survey))

    def _write_quota(self, survey: DiySurvey, quota: DiyQuota | None, doc: dict[str, Any]) -> Reply:
        fields = (dict(quota.fields) if quota
                  else {"name": None, "target_completes": 25, "state": "active", "questions": []})
        fields.update({k: doc[k] for k in ("name", "target_completes", "state", "questions") if k in doc})
        problems = _quota_problems(fields)
        if problems:
            return _error(422, *problems)
        if quota is None:
            quota = self.store.create_quota(survey.id, fields, self.clock())
            status = 201
        else:
            quota.fields = fields
            self.store.save_quota(quota)
            status = 200
        self._sync_quotas(survey)
        return _data(self._quota_json(quota, survey), status, warnings=self._link_warnings(survey))

    # --- linking to the respondent side ------------------------------------------------------------
    def _linked(self, survey: DiySurvey) -> int | None:
        match = _ENTRY.search(str(survey.fields.get("entry_url_prod") or ""))
        if match is None or int(match.group(1)) not in self.linker.surveys():
            return None
        return int(match.group(1))

    def _link_warnings(self, survey: DiySurvey) -> list[str]:
        if self._linked(survey) is None:
            return ["entry_url_prod does not take respondents to a survey this platform serves; "
                    "its quotas are not enforced."]
        return []

    def _sync_quotas(self, survey: DiySurvey) -> None:
        found = self.quota_cells(survey)
        if found is not None:
            self.linker.set_quotas(*found)

    def quota_cells(self, survey: DiySurvey) -> tuple[int, list[tuple[str, int, frozenset[int], int]]] | None:
        """(the respondent survey it is linked to, the cells its active quotas make), if linked."""
        linked = self._linked(survey)
        if linked is None:
            return None
        cells = []
        for q in self.store.quotas(survey.id):
            if q.fields.get("state", "active") != "active":
                continue
            (cond,) = q.fields["questions"]
            cells.append((q.id, int(cond["question_id"]), frozenset(int(a) for a in cond["answer_ids"]),
                          int(q.fields["target_completes"])))
        return linked, cells

    def _transactions(self, survey: DiySurvey) -> list[dict[str, Any]]:
        linked = self._linked(survey)
        if linked is None:
            return []
        results = self.store.results()
        out = []
        for t in self.linker.transactions(linked):
            rec = results.get(t["transaction_id"])
            out.append({
                "id": t["transaction_id"], "respondent_id": t["respondent_id"], "survey_id": survey.id,
                "start_time": t["start_time"], "end_time": t["end_time"],
                "state": TRANSACTION_STATES.get(rec.result, "attempted") if rec else "attempted",
                "result": rec.result if rec else None, "reported_via": rec.via if rec else None,
                "repeat_results": rec.repeats if rec else 0, "conflicting_results": rec.conflicting if rec else 0,
                "duration_in_seconds": t["duration_in_seconds"], "mode": "live",
            })
        return out

    def _survey_json(self, survey: DiySurvey, full: bool) -> dict[str, Any]:
        quotas = self.store.quotas(survey.id)
        linked = self._linked(survey)
        counts = self.linker.quota_counts(linked) if linked is not None else {}
        target = sum(int(q.fields.get("target_completes", 0)) for q in quotas)
        done = sum(counts.get(q.id, 0) for q in quotas)
        out = {"id": survey.id, **survey.fields, "metrics": {
            "target_completes": target, "remaining_completes": max(0, target - done), "completes_count": done,
            "effective_cpi": 0.0}, "country": None, "sub_buyer": None}
        if full:
            out["quotas"] = [self._quota_json(q, survey, counts) for q in quotas]
            out["survey_groups"] = []
        return out

    def _quota_json(self, quota: DiyQuota, survey: DiySurvey, counts: dict[str, int] | None = None) -> dict[str, Any]:
        if counts is None:
            linked = self._linked(survey)
            counts = self.linker.quota_counts(linked) if linked is not None else {}
        target = int(quota.fields.get("target_completes", 0))
        done = counts.get(quota.id, 0)
        return {"id": quota.id, **quota.fields, "metrics": {"target_completes": target,
                "remaining_completes": max(0, target - done), "completes_count": done}}


def _survey_problems(doc: dict[str, Any], creating: bool) -> list[str]:
    problems = []
    if creating and not isinstance(doc.get("name"), str):
        problems.append("name is required.")
    for key in ("entry_url_prod", "entry_url_test"):
        value = doc.get(key)
        if (creating and key == "entry_url_prod" and value is None) or (
                value is not None and (not isinstance(value, str) or "={transaction_id}" not in value)):
            problems.append(f"{key} must be a URL that contains ={{transaction_id}}.")
    if doc.get("quota_mode", "nested") != "nested":
        problems.append("quota_mode: the reference platform supports nested quotas only.")
    return problems


def _quota_problems(fields: dict[str, Any]) -> list[str]:
    problems = []
    target = fields.get("target_completes")
    if not isinstance(target, int) or isinstance(target, bool) or target < 0:
        problems.append("target_completes must be a whole number of 0 or more.")
    if fields.get("state") not in ("active", "inactive"):
        problems.append("state must be active or inactive.")
    questions = fields.get("questions")
    if not (isinstance(questions, list) and len(questions) == 1 and isinstance(questions[0], dict)
            and isinstance(questions[0].get("question_id"), (int, str))
            and str(questions[0]["question_id"]).isdecimal()
            and isinstance(questions[0].get("answer_ids"), list) and questions[0]["answer_ids"]
            and all(str(a).isdecimal() for a in questions[0]["answer_ids"])):
        problems.append("questions: the reference platform needs exactly one {question_id, answer_ids} per quota "
                        "(ids of the respondent survey's question and answers).")
    return problems
