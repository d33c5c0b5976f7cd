"""The survey, its sessions and its rules, written from the seed pages (000 take, 001 previous-page).

Three pages: (1) a screener and the quota question, both single choice "U"; (2) a multiple choice
"M" and an optional text "T"; (3) a single-choice rating, `meta.isFinalPage: true`. Then
`survey_complete` with a redirectUrl on the outside host.

Sessions and tokens: a take without a token opens a session; every reply that belongs to a session
carries a fresh opaque token (`secrets.token_urlsafe`) in `x-survey-token`. The current token and
the one issued just before it are accepted on every endpoint (a one-step grace: a client whose
reply was lost resumes with a take, which answers the session's current page, or its outcome again
if it has ended). Anything else is a 400 envelope. An ended session answers its outcome again.

Quota cells are counted at completion: a respondent whose page 1 answer falls in a full cell gets
`quota_full` on submitting page 1, and the completion itself checks and counts the cell in one
synchronous step on the server's single event loop, so completes can never pass the limit (a
respondent who reaches the last page while the cell fills gets `quota_full` there).

Where the seeds are silent (noted so a reader can tell spec from choice): the shape of a
`validationErrors` entry (here `{"questionId": int, "message": str}`), the 429 and 503 error ids,
and what previous-page answers on the first page after earlier submits (here the same 400 as
"nothing submitted yet": there is no previous page). Text answers are not echoed by previous-page.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .config import ServerConfig, Stats

__all__ = [
    "LIMITED_CELL",
    "MULTI_ANSWERS",
    "MULTI_Q",
    "NORTH",
    "PAGES",
    "QUOTA_Q",
    "RATING_ANSWERS",
    "RATING_Q",
    "SCREENER_Q",
    "SCREEN_IN",
    "SCREEN_OUT",
    "SOUTH",
    "TEXT_A",
    "TEXT_Q",
    "Choice",
    "QuestionDef",
    "Reply",
    "Survey",
    "envelope",
    "no_previous_page",
]

# Seed 000's error envelopes: name and id per HTTP status (429, 405 and 503 ids are ours).
_ERRORS = {
    400: ("BAD_REQUEST", "1000"), 401: ("UNAUTHORIZED", "1010"), 403: ("FORBIDDEN", "1013"),
    404: ("NOT_FOUND", "1040"), 405: ("METHOD_NOT_ALLOWED", "1005"), 413: ("BAD_REQUEST", "1000"),
    429: ("TOO_MANY_REQUESTS", "1029"), 431: ("BAD_REQUEST", "1000"),
    500: ("INTERNAL_SERVER_ERROR", "1026"), 503: ("SERVICE_UNAVAILABLE", "1503"),
}


def envelope(status: int, message: str, resource: str) -> dict[str, Any]:
    name, code = _ERRORS.get(status, ("INTERNAL_SERVER_ERROR", "1026"))
    return {"response": {"error": {
        "docs": "www.questionpro.com/api/error-codes.html", "name": name, "httpStatusCode": status,
        "id": code, "message": message, "resourceUrl": resource,
    }}}


def no_previous_page() -> dict[str, Any]:
    """Seed 001's second 400 shape: no previous submission exists."""
    return {"error": {"code": 1002, "message": "No previous page to navigate back to."},
            "requestID": str(uuid.uuid4())}


@dataclass(frozen=True)
class Choice:
    id: int
    text: str


_FORM = {"U": ("u_", "questionId"), "M": ("m_", "questionId"), "T": ("t_", "answerId")}


@dataclass(frozen=True)
class QuestionDef:
    id: int
    type: str  # the seed's codes: U single, M multiple, T text
    text: str
    answers: tuple[Choice, ...]
    required: bool = True
    html: str | None = None

    @property
    def key(self) -> str:
        prefix, id_type = _FORM[self.type]
        return f"{prefix}{self.answers[0].id if id_type == 'answerId' else self.id}"

    def section(self, selected: frozenset[str], min_length: int) -> str:
        prefix, id_type = _FORM[self.type]
        form: dict[str, Any] = {"paramPrefix": prefix, "paramIdType": id_type, "required": self.required}
        if self.type == "M":
            form["minSelections"] = 1 if self.required else 0
        if self.type == "T":
            form.update(minLength=min_length, maxLength=500)
        answers = [{"id": a.id, "text": a.text, **({"selected": True} if str(a.id) in selected else {})}
                   for a in self.answers]
        doc = {"id": self.id, "type": self.type, "text": self.text, "answers": answers, "formParam": form,
               "layout": {"columns": 1, "align": "left"}, "x-vendor": 1}
        return json.dumps(doc, separators=(",", ":"))


SCREENER_Q, SCREEN_OUT, SCREEN_IN = 9_100_000_001, 9_100_000_011, 9_100_000_012
QUOTA_Q, NORTH, SOUTH = 9_100_000_002, 9_100_000_021, 9_100_000_022
MULTI_Q, MULTI_ANSWERS = 9_100_000_003, (9_100_000_031, 9_100_000_032, 9_100_000_033, 9_100_000_034)
TEXT_Q, TEXT_A = 9_100_000_004, 9_100_000_041
RATING_Q, RATING_ANSWERS = 9_100_000_005, tuple(9_100_000_051 + i for i in range(5))
CELLS = {str(NORTH): "north", str(SOUTH): "south"}
LIMITED_CELL = "north"

PAGES: tuple[tuple[QuestionDef, ...], ...] = (
    (
        QuestionDef(SCREENER_Q, "U", "Do you work in market research?",
                    (Choice(SCREEN_OUT, "Yes"), Choice(SCREEN_IN, "No")),
                    html="<div class='q'>screener</div>"),
        QuestionDef(QUOTA_Q, "U", "Where do you live?", (Choice(NORTH, "North"), Choice(SOUTH, "South")),
                    html="<div class='q'>region</div>"),
    ),
    (
        QuestionDef(MULTI_Q, "M", "Which of these do you use?", tuple(
            Choice(a, t) for a, t in zip(MULTI_ANSWERS, ("Email", "Chat", "Phone", "Post"), strict=True))),
        QuestionDef(TEXT_Q, "T", "Anything else?", (Choice(TEXT_A, ""),), required=False),
    ),
    (
        QuestionDef(RATING_Q, "U", "How would you rate us?",
                    tuple(Choice(a, str(i + 1)) for i, a in enumerate(RATING_ANSWERS))),
    ),
)


@dataclass
class Reply:
    status: int
    doc: dict[str, Any]
    token: str | None = None


@dataclass(eq=False)
class Session:
    sid: str
    transaction_id: str | None
    current: str = ""
    previous: str | None = None
    page: int = 0
    forms: dict[int, dict[str, Any]] = field(default_factory=dict)  # page index -> accepted answers
    ended: dict[str, Any] | None = None  # the outcome's `response` object, once there is one


class Survey:
    """All state lives on the server's event loop thread; the only cross-thread state is Stats."""

    def __init__(self, config: ServerConfig, stats: Stats, outside_base: str) -> None:
        self.config = config
        self.stats = stats
        self.outside_base = outside_base
        self.tokens: dict[str, Session] = {}  # only the current and previous token of each session
        self.completed_tids: set[str] = set()
        self.cell_completes: dict[str, int] = {}
        self._plain = {q.id: q.section(frozenset(), config.text_min_length) for page in PAGES for q in page}

    # --- endpoints ------------------------------------------------------------------------------
    def take(self, query: dict[str, str], token: str | None, resource: str) -> Reply:
        if token is not None:
            session = self.tokens.get(token)
            if session is None:
                return self._bad_token(resource)
            return self._reply(session, session.ended or self._page(session))
        tid = query.get("transaction_id") or None
        session = Session(sid=str(uuid.uuid4()), transaction_id=tid)
        if tid is not None and tid in self.completed_tids:
            self.stats.add("already_completed")
            session.ended = {"status": "already_completed"}
        return self._reply(session, session.ended or self._page(session))

    def submit(self, token: str | None, body: bytes, resource: str) -> Reply:
        session = self.tokens.get(token) if token is not None else None
        if session is None:
            return self._bad_token(resource)
        if session.ended is not None:
            return self._reply(session, session.ended)
        try:
            form = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            form = None
        if not isinstance(form, dict):
            problem = envelope(400, "The body must be a JSON object of answers", resource)
            return self._reply(session, problem, 400)
        page = PAGES[session.page]
        errors, accepted = self._validate(page, form)
        if errors:
            self.stats.add("validation_errors")
            return self._reply(session, self._page(session, errors=errors))
        session.forms[session.page] = accepted
        for later in [i for i in session.forms if i > session.page]:
            del session.forms[later]
        if session.page == 0:
            if accepted.get(f"u_{SCREENER_Q}") == str(SCREEN_OUT):
                self.stats.add("terminates")
                return self._end(session, {"status": "terminated",
                                           "redirectUrl": self._outside("screened", session)})
            if self._full(self._cell(session)):
                self.stats.add("quota_full")
                return self._end(session, {"status": "quota_full"})
        if session.page == len(PAGES) - 1:
            return self._complete(session)
        session.page += 1
        return self._reply(session, self._page(session))

    def previous(self, token: str | None, resource: str) -> Reply:
        session = self.tokens.get(token) if token is not None else None
        if session is None:
            return self._bad_token(resource)
        if session.ended is not None:
            return self._reply(session, session.ended)
        if session.page == 0:
            return self._reply(session, no_previous_page(), 400)
        session.page -= 1
        return self._reply(session, self._page(session, echo=True))

    # --- rules ----------------------------------------------------------------------------------
    def _validate(self, page: tuple[QuestionDef, ...], form: dict[str, Any]
                  ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        errors: list[dict[str, Any]] = []
        accepted: dict[str, Any] = {}
        for q in page:
            value = form.get(q.key)
            ids = {str(a.id) for a in q.answers}
            problem = None
            if value is None or value == "" or value == []:
                problem = "This question requires an answer." if q.required else None
            elif q.type == "U":
                if not isinstance(value, str) or value not in ids:
                    problem = "Choose one of the listed answers (an answer id, as a string)."
            elif q.type == "M":
                if not isinstance(value, list) or not all(isinstance(v, str) and v in ids for v in value) \
                        or len(set(value)) != len(value):
                    problem = "Choose from the listed answers (a list of distinct answer ids, as strings)."
            elif not isinstance(value, str):
                problem = "The answer must be text."
            elif len(value.strip()) < self.config.text_min_length:
                problem = f"Please write at least {self.config.text_min_length} characters."
            if problem is not None:
                errors.append({"questionId": q.id, "message": problem})
            elif value is not None and value != "" and value != []:
                accepted[q.key] = value
        return errors, accepted

    def _cell(self, session: Session) -> str | None:
        return CELLS.get(str(session.forms.get(0, {}).get(f"u_{QUOTA_Q}")))

    def _full(self, cell: str | None) -> bool:
        return cell == LIMITED_CELL and self.cell_completes.get(cell, 0) >= self.config.quota_limit

    def _complete(self, session: Session) -> Reply:
        # One synchronous step: check and count together, nothing can run in between.
        tid, cell = session.transaction_id, self._cell(session) or "none"
        if tid is not None and tid in self.completed_tids:
            self.stats.add("already_completed")
            return self._end(session, {"status": "already_completed"})
        if self._full(cell):
            self.stats.add("quota_full")
            return self._end(session, {"status": "quota_full"})
        self.cell_completes[cell] = self.cell_completes.get(cell, 0) + 1
        if tid is not None:
            self.completed_tids.add(tid)
        self.stats.complete(cell, tid)
        return self._end(session, {"status": "survey_complete",
                                   "redirectUrl": self._outside("complete", session)})

    def _outside(self, what: str, session: Session) -> str:
        query = urlencode({"tid": session.transaction_id or "", "sid": session.sid})
        return f"{self.outside_base}/{what}?{query}"

    # --- replies --------------------------------------------------------------------------------
    def _end(self, session: Session, outcome: dict[str, Any]) -> Reply:
        session.ended = outcome
        return self._reply(session, outcome)

    def _page(self, session: Session, errors: list[dict[str, Any]] | None = None, echo: bool = False
              ) -> dict[str, Any]:
        index = session.page
        page = PAGES[index]
        chosen: set[str] = set()
        if echo:  # choices only: the seed promises `selected: true`, nothing about text
            for q in page:
                value = session.forms.get(index, {}).get(q.key)
                if q.type in ("U", "M") and value is not None:
                    chosen.update([value] if isinstance(value, str) else value)
        questions = [{"html": q.html, "json": q.section(frozenset(chosen), self.config.text_min_length)
                      if chosen else self._plain[q.id]} for q in page]
        response: dict[str, Any] = {
            "status": "validation_errors" if errors else "success",
            "meta": {"isFinalPage": index == len(PAGES) - 1, "progressPercentage": 100 * index // len(PAGES)},
            "navigation": {"previousPageUrl": "previous-page" if index > 0 else None,
                           "nextPageSubmitUrl": "submit-page"},
            "themeConfig": {"cssUrls": [], "jsUrls": []},
            "questions": questions,
        }
        if errors:
            response["validationErrors"] = errors
        return response

    def _reply(self, session: Session, doc: dict[str, Any], status: int = 200) -> Reply:
        if "response" not in doc and "error" not in doc:
            doc = {"response": doc, "requestID": str(uuid.uuid4())}
        return Reply(status, doc, self._rotate(session))

    def _rotate(self, session: Session) -> str:
        token = secrets.token_urlsafe(24)
        if session.previous is not None:
            self.tokens.pop(session.previous, None)
        if session.current:
            session.previous = session.current
        session.current = token
        self.tokens[token] = session
        return token

    @staticmethod
    def _bad_token(resource: str) -> Reply:
        return Reply(400, envelope(400, "Invalid or expired x-survey-token", resource))
