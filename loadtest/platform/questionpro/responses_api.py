"""QuestionPro's `POST /a/api/v2/surveys/{id}/responses` (seed 002) on the reference platform.

Auth is the respondent flow's: the `api-key` header, or the `apiKey` query parameter the seed's
URL shows. The body is a response object; only `responseSet` is required:

    {"responseSet": [{"questionID": 10001, "answerValues": [{"answerID": 50001}]},
                     {"questionID": 10010, "answerValues": [{"answerID": 50081, "value": {"text": "..."}}]}],
     "externalReference": "txn-1", "language": "English", "timeTaken": 41, ...}

How an answer value becomes the form the respondent flow would have posted:

    single / multi     answerID of each choice; an "other" choice's text in value.other (or value.text)
    grid               questionID is the row's id, answerID the column's
    text / numeric     answerID is the question's field, value.text the text or number
    date               value.text as YYYY-MM-DD
    rank / sum         one answer value per item, value.text the rank or the amount

Then the pages are walked as the flow walks them: display logic decides which pages are shown,
each shown page is validated by validation.validate_page (its messages, as a 400 envelope naming
the questionID), and the flow's checks apply in the flow's order: a screener answer terminates,
a chain answer redirects, a straight-lined grid terminates, a full quota cell turns the response
away, a `timeTaken` under the speeder threshold terminates. Otherwise it completes and is counted
in its quota cells atomically, exactly as a completion through the flow; a cell that is full
makes it quota_full. The stored response is a platform response like any other (the data API and
/__admin/stats see it); `externalReference` is its transaction id, and one that already finished
is refused. The reply is seed 002's full response object; `responseStatus` is "Completed",
"Terminated", "Overquota" or "Redirected".
"""

from __future__ import annotations

import hmac
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

from loadtest.platform.envelopes import ApiReply, error_envelope
from loadtest.platform.questionpro.pages import API
from loadtest.platform.questionpro.respondent_api import RespondentApi
from loadtest.platform.questionpro.response_object import LANGUAGE_NAMES, response_object
from loadtest.platform.response_row import AlreadyFinished, QuotaFull, ResponseRow
from loadtest.platform.rules.quality import is_speeder, straightlined_question
from loadtest.platform.rules.quotas import cells_of, first_full
from loadtest.platform.rules.validation import chosen_answers, validate_page
from loadtest.survey.model import Question, Survey

__all__ = ["ResponsesApi"]

MAX_BODY = 1 << 20
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


class _Invalid(Exception):
    pass


class ResponsesApi:
    def __init__(self, api: RespondentApi, api_key: str) -> None:
        self.api = api
        self._key = api_key.encode()

    def handle(self, method: str, raw_id: str, query: str, headers: Mapping[str, str], body: bytes) -> ApiReply:
        resource = f"{API}/{raw_id}/responses"
        if method != "POST":
            return error_envelope(405, resource)
        key = headers.get("api-key") or dict(parse_qsl(query)).get("apiKey", "")
        if not hmac.compare_digest(key.encode(), self._key):
            return error_envelope(401, resource)
        if not raw_id.isdecimal():
            return error_envelope(400, resource)
        if len(body) > MAX_BODY:
            return error_envelope(413, resource)
        survey = self.api.surveys.get(int(raw_id))
        if survey is None:
            return error_envelope(404, resource)
        state = self.api.store.survey_state(survey.id) or survey.state
        if state != "active":
            return error_envelope(403, resource, f"The survey is {state}; it takes no responses")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return error_envelope(400, resource, "The request body is not valid JSON")
        try:
            return self._create(survey, payload)
        except _Invalid as exc:
            return error_envelope(400, resource, str(exc))

    # --- the flow, without the round trips ---------------------------------------------------
    def _create(self, survey: Survey, payload: Any) -> ApiReply:
        if not isinstance(payload, dict) or not isinstance(payload.get("responseSet"), list):
            raise _Invalid("Expected a JSON object with a responseSet array")
        language = _language(survey, payload.get("language"))
        forms = _forms(survey, payload["responseSet"])
        ref = payload.get("externalReference") or None
        if ref is not None and not isinstance(ref, str):
            raise _Invalid("externalReference must be a string")
        taken = payload.get("timeTaken")
        if taken is not None and (not isinstance(taken, int) or isinstance(taken, bool) or taken < 0):
            raise _Invalid("timeTaken must be a whole number of seconds")
        if ref is not None and self.api.store.finished_by_transaction(survey.id, ref):
            raise _Invalid(f"externalReference {ref!r} already has a finished response (already_completed)")
        now = self.api.clock()
        path, answers, outcome = self._walk(survey, forms)
        row = ResponseRow(
            id=0, uuid=uuid.uuid4().hex, survey_id=survey.id, transaction_id=ref, language=language,
            authenticated=True, status="in_progress", reason=None, started_at=now - (taken or 0), updated_at=now,
            finished_at=None, page=path[-1], path=path, answers=answers, page_times={}, submitted=True,
        )
        # The row is stored once, finished: a rival finishing the same transaction meanwhile
        # (a respondent's session) makes the insert fail whole, never a second finished row.
        if outcome is None and taken is not None and is_speeder(survey, row.started_at, now):
            outcome = ("terminated", "speeder")
        try:
            if outcome is None:
                row.status, row.finished_at = "survey_complete", now
                limits = self.api.quota_limits[survey.id]
                extra = self.api.panel_quotas.get(survey.id, ())
                cells = [(q.id, limits.get(q.id, q.limit)) for q in cells_of(survey, row.answers, extra)]
                try:
                    self.api.store.complete(row, cells)
                except QuotaFull as full:
                    outcome = ("quota_full", full.quota_id)
            if outcome is not None:
                row.status, row.reason, row.finished_at = outcome[0], outcome[1], now
                self.api.store.create(row)
        except AlreadyFinished:
            raise _Invalid(f"externalReference {ref!r} already has a finished response (already_completed)") from None
        body = {"response": response_object(survey, row, payload, now, taken or 0)}
        return ApiReply(200, orjson.dumps(body), outcome=row.status)

    def _walk(self, survey: Survey, forms: dict[str, dict[str, Any]]
              ) -> tuple[list[str], dict[str, dict[str, Any]], tuple[str, str] | None]:
        """The pages shown, their accepted values, and an early outcome (status, reason) if any."""
        path: list[str] = []
        answers: dict[str, dict[str, Any]] = {}
        limits = self.api.quota_limits[survey.id]
        extra = self.api.panel_quotas.get(survey.id, ())
        for page in survey.pages:
            cond = page.show_if
            if cond is not None:
                question = survey.question(cond.question)
                assert question is not None
                picked: set[int] = set()
                for pid in path:
                    picked |= chosen_answers(question, answers[pid])
                if not picked & cond.answers:
                    if forms.get(page.id):
                        raise _Invalid(f"page {page.id!r} is not shown for these answers, so its questions "
                                       "take no answer")
                    continue
            values, errors = validate_page(page, forms.get(page.id, {}))
            if errors:
                raise _Invalid("; ".join(f"questionID {e['questionId']}: {e['message']}" for e in errors))
            answers[page.id] = values
            path.append(page.id)
            chosen = [a for q in page.questions for aid in chosen_answers(q, values) if (a := q.answer(aid))]
            if any(a.terminate for a in chosen):
                return path, answers, ("terminated", "screener")
            if any(a.chain for a in chosen):
                return path, answers, ("redirect", "chain")
            if straightlined_question(survey, page, values) is not None:
                return path, answers, ("terminated", "straightliner")
            page_cells = cells_of(survey, {page.id: values}, extra)
            full = first_full(page_cells, self.api.store.quota_counts(survey.id), limits) if page_cells else None
            if full is not None:
                return path, answers, ("quota_full", full.id)
        return path, answers, None


def _language(survey: Survey, raw: Any) -> str:
    if raw is None or raw == "":
        return survey.languages[0]
    for code in survey.languages:
        if raw in (code, LANGUAGE_NAMES.get(code)):
            return code
    raise _Invalid(f"language {raw!r} is not one of this survey's languages ({', '.join(survey.languages)})")


def _owners(survey: Survey) -> tuple[dict[int, tuple[str, Question]], dict[int, tuple[str, Question]]]:
    """questionID -> (page id, question), and grid row id -> (page id, its grid)."""
    questions, rows = {}, {}
    for page in survey.pages:
        for q in page.questions:
            questions[q.id] = (page.id, q)
            for row in q.rows:
                rows[row.id] = (page.id, q)
    return questions, rows


def _text_of(value: Any, *keys: str) -> Any:
    if not isinstance(value, dict):
        return None
    for key in keys:
        if value.get(key) not in (None, ""):
            return value[key]
    return None


def _forms(survey: Survey, response_set: list[Any]) -> dict[str, dict[str, Any]]:
    """The submit-page form each page would have been posted with (page id -> form)."""
    questions, rows = _owners(survey)
    forms: dict[str, dict[str, Any]] = {}
    seen: set[int] = set()
    for item in response_set:
        qid = item.get("questionID") if isinstance(item, dict) else None
        values = item.get("answerValues") if isinstance(item, dict) else None
        if not isinstance(qid, int) or not isinstance(values, list) or not all(
            isinstance(v, dict) and isinstance(v.get("answerID"), int) for v in values
        ):
            raise _Invalid("Every responseSet entry needs an integer questionID and answerValues "
                           "with an integer answerID each")
        if qid in seen:
            raise _Invalid(f"questionID {qid} appears twice")
        seen.add(qid)
        if qid in rows:
            page_id, _ = rows[qid]
            if len(values) != 1:
                raise _Invalid(f"questionID {qid}: a grid row takes one answerValue (its column)")
            forms.setdefault(page_id, {})[f"u_{qid}"] = str(values[0]["answerID"])
            continue
        if qid not in questions:
            raise _Invalid(f"questionID {qid} is not a question of this survey")
        page_id, q = questions[qid]
        forms.setdefault(page_id, {}).update(_question_form(q, values))
    return forms


def _question_form(q: Question, values: list[dict[str, Any]]) -> dict[str, Any]:
    form: dict[str, Any] = {}
    if q.kind in ("single", "multi"):
        ids = [str(v["answerID"]) for v in values]
        if q.kind == "single" and len(ids) > 1:
            raise _Invalid(f"questionID {q.id}: a single-choice question takes one answerValue")
        form[f"u_{q.id}" if q.kind == "single" else f"m_{q.id}"] = ids[0] if q.kind == "single" and ids else ids
        for v in values:
            answer = q.answer(v["answerID"])
            if answer is not None and answer.other:
                text = _text_of(v.get("value"), "other", "text")
                if text is not None:
                    form[f"t_{answer.id}"] = text
        return form
    if q.kind == "grid":
        raise _Invalid(f"questionID {q.id} is a grid: answer each row under the row's id as questionID")
    if q.kind in ("text", "numeric", "date"):
        if len(values) != 1:
            raise _Invalid(f"questionID {q.id}: this question takes one answerValue")
        text = _text_of(values[0].get("value"), "text")
        if q.kind == "date":
            m = _DATE.fullmatch(text) if isinstance(text, str) else None
            parts = [str(int(g)) for g in m.groups()] if m else [text, text, text]
            return {f"dt_year_{q.id}": parts[0], f"dt_month_{q.id}": parts[1], f"dt_day_{q.id}": parts[2]}
        if values[0]["answerID"] != q.answers[0].id:
            raise _Invalid(f"questionID {q.id}: answerID {values[0]['answerID']} is not this question's field "
                           f"({q.answers[0].id})")
        return {f"t_{q.answers[0].id}": text}
    prefix = "r_" if q.kind == "rank" else "s_"
    for v in values:
        if q.answer(v["answerID"]) is None:
            raise _Invalid(f"questionID {q.id}: answerID {v['answerID']} is not one of this question's answers")
        form[f"{prefix}{v['answerID']}"] = _text_of(v.get("value"), "text", "scale")
    return form
