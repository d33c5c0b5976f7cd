"""The QuestionPro v2 respondent API as a pure engine: take, submit-page, previous-page.

Theory of operation. A respondent's state is its `ResponseRow` (see sessions.py): the page it is
on (`page`, the token's `ins`), the pages it submitted in order (`path`, the token's `sec`), its
answers per page, whether it passed the password gate and chose a language, and its status.
Every call resolves the session from the token, applies the gates in a fixed order, and writes
the row before replying, so a reply never reports state the database does not hold:

    survey exists? -> token valid? -> survey active? -> session finished? -> password -> language -> page

`submit-page` then validates the page, and in this order: screener terminate, chain redirect,
straight-lining, a full quota cell; otherwise it moves to the next page whose display logic
holds, or completes (speeder check, then the atomic quota count). No HTTP here: the app layer
turns requests into these calls and `ApiReply` values into responses.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import orjson

from loadtest.platform.envelopes import (
    ApiReply,
    cached_status_body,
    error_envelope,
    no_previous_page,
    status_body,
)
from loadtest.platform.questionpro.pages import API, PageReplies
from loadtest.platform.questionpro.sessions import IN_PROGRESS, Sessions
from loadtest.platform.questionpro.tokens import TokenCodec, TokenInvalid, TokenPayload
from loadtest.platform.response_row import AlreadyFinished, QuotaFull, ResponseRow
from loadtest.platform.rules.quality import is_speeder, straightlined_question
from loadtest.platform.rules.quotas import cells_of, first_full
from loadtest.platform.rules.validation import chosen_answers, validate_page
from loadtest.platform.storage import Store
from loadtest.survey.model import Page, Quota, Survey

__all__ = ["STATE_STATUS", "TERMINATE_KINDS", "RespondentApi"]

STATE_STATUS = {"closed": "survey_closed", "paused": "survey_paused", "suspended": "survey_suspended"}
# Why a respondent was terminated -> the kind a panel cares about (screenout vs quality fail).
TERMINATE_KINDS = {"screener": "screener", "speeder": "quality", "straightliner": "quality"}


class RespondentApi:
    def __init__(
        self,
        surveys: dict[int, Survey],
        store: Store,
        clock: Callable[[], float] = time.time,
        session_capacity: int = 100_000,
    ) -> None:
        self.surveys = surveys
        self.store = store
        self.clock = clock
        self.sessions = Sessions(store, capacity=session_capacity)
        self.tokens = TokenCodec(store.secret("token-key"))
        self.pages = PageReplies(surveys)
        self.renderers = self.pages.renderers
        self.quota_limits: dict[int, dict[str, int]] = {
            sid: {q.id: q.limit for q in s.quotas} for sid, s in surveys.items()
        }
        self.panel_quotas: dict[int, tuple[Quota, ...]] = {}  # cells a panel's DIY quotas add

    def set_panel_quotas(self, survey_id: int, cells: list[tuple[str, int, frozenset[int], int]]) -> None:
        """Replace the cells a panel set on this survey: (id, question id, answer ids, target completes).
        Cells over a question this survey has no single/multi question for are left out."""
        survey = self.surveys[survey_id]
        limits = self.quota_limits[survey_id]
        for old in self.panel_quotas.get(survey_id, ()):
            limits.pop(old.id, None)
        kept = []
        for quota_id, question_id, answers, target in cells:
            question = survey.question(question_id)
            if question is None or question.kind not in ("single", "multi"):
                continue
            kept.append(Quota(id=quota_id, question=question_id, answers=answers, limit=target))
            limits[quota_id] = target
        self.panel_quotas[survey_id] = tuple(kept)

    # --- public calls -------------------------------------------------------------------
    def take(self, survey_id: int, token: str | None, query: dict[str, str], base_url: str) -> ApiReply:
        found = self._session_for(survey_id, token, "take")
        if isinstance(found, ApiReply):
            return found
        survey, payload, row = found
        now = self.clock()
        # A token naming no stored session had nothing submitted under it (else _session_for
        # reports it lost), so nothing is lost: it is opened afresh below.
        if row is None:
            txn = query.get("transaction_id") or None
            if txn is not None and (final := self.store.finished_by_transaction(survey_id, txn)):
                # finalStatus (an extension, as on a resume) lets a client whose entry take was
                # answered but lost tell that its own take ended it, e.g. an opt-out link.
                return status_body("already_completed", self._anonymous_token(), finalStatus=final)
            if query.get("opt_out", "").lower() in ("1", "true", "yes"):
                row = self._open(survey, now, txn, query, payload)
                return self._finish(survey, row, "survey_opt_out", None, now, base_url)
            row = self._open(survey, now, txn, query, payload)
        return self._show(survey, row, base_url)

    def submit(self, survey_id: int, token: str | None, body: bytes, base_url: str) -> ApiReply:
        found = self._resolve(survey_id, token, "submit-page")
        if isinstance(found, ApiReply):
            return found
        survey, row = found
        try:
            form = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            return error_envelope(400, f"{API}/{survey_id}/submit-page", "The request body is not valid JSON")
        if not isinstance(form, dict):
            return error_envelope(400, f"{API}/{survey_id}/submit-page", "The request body must be a JSON object")
        now = self.clock()
        if survey.password is not None and not row.authenticated:
            if form.get("password") != survey.password:
                return self._gate(row, "authentication_required", message="Incorrect password.")
            row.authenticated = True
            self._touch(row, now)
            return self._show(survey, row, base_url)
        if row.language is None:
            lang = form.get("language")
            if lang not in survey.languages:
                return self._gate(row, "language_selection_required", languages=list(survey.languages))
            row.language = lang
            self._touch(row, now)
            return self._show(survey, row, base_url)
        return self._submit_page(survey, row, form, now, base_url)

    def previous(self, survey_id: int, token: str | None, base_url: str) -> ApiReply:
        found = self._resolve(survey_id, token, "previous-page")
        if isinstance(found, ApiReply):
            return found
        survey, row = found
        gated = self._pending_gate(survey, row)
        if gated is not None:
            return gated
        if not row.path:
            return no_previous_page(self._token(row))
        if survey.back_navigation:
            row.page = row.path.pop()
            self._touch(row, self.clock())
        # With back navigation off, seed 001 says the current page comes back, status success.
        return self._page_reply(survey, row, base_url, values=row.answers.get(row.page))

    # --- the page flow ------------------------------------------------------------------
    def _submit_page(
        self, survey: Survey, row: ResponseRow, form: dict[str, Any], now: float, base_url: str
    ) -> ApiReply:
        page = survey.pages[survey.page_index(row.page)]
        values, errors = validate_page(page, form)
        if errors:
            shown = {k: v for k, v in form.items() if isinstance(v, str) or isinstance(v, list)}
            return self._page_reply(survey, row, base_url, values=shown, errors=errors)
        row.answers[page.id] = values
        row.page_times[page.id] = round(now - row.updated_at, 3)
        row.path.append(page.id)
        row.submitted = True
        if page.exits:
            chosen = [a for q in page.questions for aid in chosen_answers(q, values) if (a := q.answer(aid))]
            if any(a.terminate for a in chosen):
                return self._finish(survey, row, "terminated", "screener", now, base_url)
            if any(a.chain for a in chosen):
                return self._finish(survey, row, "redirect", "chain", now, base_url)
        if straightlined_question(survey, page, values) is not None:
            return self._finish(survey, row, "terminated", "straightliner", now, base_url)
        limits = self.quota_limits[survey.id]
        extra = self.panel_quotas.get(survey.id, ())
        page_cells = cells_of(survey, {page.id: values}, extra)
        if page_cells:
            full = first_full(page_cells, self.store.quota_counts(survey.id), limits)
            if full is not None:
                return self._finish(survey, row, "quota_full", full.id, now, base_url)
        next_page = self._next_page(survey, row, page)
        if next_page is not None:
            row.page = next_page.id
            self._touch(row, now)
            return self._show(survey, row, base_url)
        # Completion: keep only answers of pages on the final path (going back can change it).
        row.answers = {pid: row.answers[pid] for pid in row.path if pid in row.answers}
        if is_speeder(survey, row.started_at, now):
            return self._finish(survey, row, "terminated", "speeder", now, base_url)
        row.status, row.reason, row.finished_at, row.updated_at = "survey_complete", None, now, now
        cells = [(q.id, limits.get(q.id, q.limit)) for q in cells_of(survey, row.answers, extra)]
        try:
            self.store.complete(row, cells)
        except QuotaFull as full:
            return self._finish(survey, row, "quota_full", full.quota_id, now, base_url)
        except AlreadyFinished:
            return self._finished_elsewhere(row)
        self.sessions.forget(row)
        return self._final_reply(survey, row, base_url)

    def _next_page(self, survey: Survey, row: ResponseRow, page: Page) -> Page | None:
        for candidate in survey.pages[survey.page_index(page.id) + 1 :]:
            cond = candidate.show_if
            if cond is None:
                return candidate
            question = survey.question(cond.question)
            assert question is not None
            picked: set[int] = set()
            for pid in row.path:
                picked |= chosen_answers(question, row.answers.get(pid, {}))
            if picked & cond.answers:
                return candidate
        return None

    def _finish(
        self, survey: Survey, row: ResponseRow, status: str, reason: str | None, now: float, base_url: str
    ) -> ApiReply:
        row.status, row.reason, row.finished_at, row.updated_at = status, reason, now, now
        try:
            self.sessions.save(row)
        except AlreadyFinished:
            return self._finished_elsewhere(row)
        return self._final_reply(survey, row, base_url)

    def _finished_elsewhere(self, row: ResponseRow) -> ApiReply:
        """Another session (or `POST /responses`) finished this transaction first. This one's
        move is not stored: its row stays as last saved (in progress), the copy in memory is
        dropped, and the reply is the re-entry answer, with no finalStatus: how the transaction
        finished is not how this session did."""
        self.sessions.forget(row)
        return status_body("already_completed", self._anonymous_token())

    def _final_reply(self, survey: Survey, row: ResponseRow, base_url: str) -> ApiReply:
        fields: dict[str, Any] = {}
        template = {
            "survey_complete": survey.redirects.complete,
            "terminated": survey.redirects.terminate,
            "quota_full": survey.redirects.quota_full,
            "redirect": survey.redirects.chain,
        }.get(row.status)
        if template:
            fields["redirectUrl"] = _fill(template, row.transaction_id, base_url)
        fields.update(_outcome_fields(row))
        return status_body(row.status, self._token(row), **fields)

    def _already_finished(self, row: ResponseRow) -> ApiReply:
        """A finished session asked again with its own token (a client resuming after a lost
        reply). Beyond seed 000's bare status, `finalStatus` (and its terminateReason / quotaId)
        says how it finished, so that client can still report the true outcome."""
        return status_body("already_completed", self._token(row), finalStatus=row.status, **_outcome_fields(row))

    # --- gates, sessions and replies ------------------------------------------------------
    def _session_for(
        self, survey_id: int, token: str | None, step: str, token_required: bool = False
    ) -> ApiReply | tuple[Survey, TokenPayload | None, ResponseRow | None]:
        """How every call starts: the survey, the token (verified unless it is the one we last
        gave a live session), the survey's state, then the session the token names."""
        resource = f"{API}/{survey_id}/{step}"
        survey = self.surveys.get(survey_id)
        if survey is None:
            return error_envelope(404, resource)
        if token_required and not token:
            return error_envelope(400, resource, "The x-survey-token header is required; call take first")
        payload, row = None, None
        if token:
            try:
                payload, row = self._known(token)
            except TokenInvalid:
                return error_envelope(403, resource, "The x-survey-token is invalid or has been tampered with")
        blocked = self._state_status(survey, token)
        if blocked is not None:
            return blocked
        if payload is not None:
            row = self.sessions.find(payload)
            if row is None and payload.rs:
                return self._lost(payload, token)
        if row is not None and row.survey_id != survey_id:
            return error_envelope(403, resource, "The x-survey-token belongs to another survey")
        return survey, payload, row

    def _resolve(self, survey_id: int, token: str | None, step: str) -> ApiReply | tuple[Survey, ResponseRow]:
        found = self._session_for(survey_id, token, step, token_required=True)
        if isinstance(found, ApiReply):
            return found
        survey, _, row = found
        if row is None:
            return error_envelope(400, f"{API}/{survey_id}/{step}", "No session for this token; call take first")
        if row.status != IN_PROGRESS:
            return self._already_finished(row)
        return survey, row

    def _known(self, token: str) -> tuple[TokenPayload, None] | tuple[None, ResponseRow]:
        """(payload, None) for a token to verify and look up; (None, row) when it is exactly the
        token we last gave a live session, which needs neither. Raises TokenInvalid."""
        row = self.sessions.by_token(token)
        if row is not None:
            return None, row
        return self.tokens.decode(token), None

    def _open(
        self, survey: Survey, now: float, txn: str | None, query: dict[str, str], payload: TokenPayload | None
    ) -> ResponseRow:
        lang = query.get("lang")
        if lang not in survey.languages:
            lang = None if survey.multilingual else survey.languages[0]
        first = survey.pages[0].id
        return self.sessions.open(survey.id, first, now, txn, lang, uuid=payload.uuid if payload else None)

    def _state_status(self, survey: Survey, token: str | None) -> ApiReply | None:
        state = self.store.survey_state(survey.id) or survey.state
        if state == "active":
            return None
        return status_body(STATE_STATUS[state], token or self._anonymous_token())

    def _pending_gate(self, survey: Survey, row: ResponseRow) -> ApiReply | None:
        if survey.password is not None and not row.authenticated:
            return self._gate(row, "authentication_required")
        if row.language is None:
            return self._gate(row, "language_selection_required", languages=list(survey.languages))
        return None

    def _gate(self, row: ResponseRow, status: str, **fields: Any) -> ApiReply:
        return status_body(status, self._token(row), **fields)

    def _show(self, survey: Survey, row: ResponseRow, base_url: str) -> ApiReply:
        if row.status != IN_PROGRESS:
            return self._already_finished(row)
        gated = self._pending_gate(survey, row)
        if gated is not None:
            return gated
        # A page answered before (the respondent went back, or resumes after a lost reply) is
        # shown with those answers marked, as previous-page shows them.
        return self._page_reply(survey, row, base_url, values=row.answers.get(row.page))

    def _page_reply(
        self,
        survey: Survey,
        row: ResponseRow,
        base_url: str,
        values: dict[str, Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> ApiReply:
        response = self.pages.response(survey, row, values, errors)
        return cached_status_body("validation_errors" if errors else "success", self._token(row), response)

    def _touch(self, row: ResponseRow, now: float) -> None:
        row.updated_at = now
        self.sessions.save(row)

    def _lost(self, payload: TokenPayload, token: str | None) -> ApiReply:
        # The token is genuine but its response set is gone (the database was reset or lost):
        # an internal failure, which the API reports as status "error".
        return status_body("error", token, message=f"Response set {payload.rs} could not be restored.")

    def _token(self, row: ResponseRow) -> str:
        token = self.tokens.encode(
            TokenPayload(uuid=row.uuid, rs=row.id if row.submitted else 0, ins=row.page, sec=tuple(row.path))
        )
        self.sessions.issued(row, token)
        return token

    def _anonymous_token(self) -> str:
        """Seed 000: every reply carries a token. For replies that opened no session (closed
        survey, re-entry) it names a session that was never stored, so it cannot resume anything."""
        return self.tokens.encode(TokenPayload(uuid=uuid.uuid4().hex, rs=0, ins="", sec=()))


def _fill(template: str, transaction_id: str | None, base_url: str) -> str:
    return template.replace("{transaction_id}", quote(transaction_id or "", safe="")).replace("{base_url}", base_url)


def _outcome_fields(row: ResponseRow) -> dict[str, Any]:
    if row.status == "terminated" and row.reason:
        return {"terminateReason": {"kind": TERMINATE_KINDS.get(row.reason, "other"), "rule": row.reason}}
    if row.status == "quota_full" and row.reason:
        return {"quotaId": row.reason}
    return {}
