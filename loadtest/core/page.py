"""Parse respondent-API replies into values, tolerantly (seeds 000 and 001).

Tolerant where the seeds are loose: `questions[].json` may be an object or a JSON-encoded string;
unknown fields are ignored; error bodies may not be JSON at all (the seeds' own examples print
`"docs": www.questionpro.com/...` unquoted), so their name and message are picked out by pattern.
Strict where it matters: a 200 reply must be JSON with a known `status`, and a question must
carry a `formParam` — otherwise a ServerContractError with the HTTP status and a body excerpt.
A reply of the documented shape is read by a typed decoder (msgspec); any other goes to the
tolerant reading, which alone decides what such a reply means or which error it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from loadtest.core.errors import ServerContractError

__all__ = ["STATUSES", "TERMINAL", "ApiError", "Choice", "FormParam", "PageReply", "Question", "excerpt", "parse_reply"]

STATUSES = frozenset({
    "success", "validation_errors", "authentication_required", "already_completed", "quota_full",
    "survey_complete", "terminated", "survey_closed", "survey_paused", "survey_suspended",
    "language_selection_required", "survey_opt_out", "redirect", "error",
})
# Statuses after which the respondent's journey is over.
TERMINAL = frozenset({
    "already_completed", "quota_full", "survey_complete", "terminated", "survey_closed", "survey_paused",
    "survey_suspended", "survey_opt_out", "redirect", "error",
})
HTTP_ERROR = "http_error"  # the status we give a non-2xx reply


def excerpt(body: bytes, limit: int = 160) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return " ".join(text.split()) + ("…" if len(body) > limit else "")


# Question, FormParam and Choice are shared between respondents (see _question's cache), so they
# are frozen; `rules` is the reply's own formParam object and is only ever read.
@dataclass(frozen=True, slots=True)
class FormParam:
    prefix: str
    id_type: str
    required: bool
    other_prefix: str | None
    rules: dict[str, Any]  # the whole formParam object: lengths, ranges, counts, date parts, total


@dataclass(frozen=True, slots=True)
class Choice:
    id: int
    text: str
    is_other: bool = False
    selected: bool = False
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Question:
    id: int
    type: str
    text: str
    form: FormParam
    answers: tuple[Choice, ...] = ()
    rows: tuple[Choice, ...] = ()
    value: Any = None  # a question-level earlier value (dates)


@dataclass(frozen=True, slots=True)
class ApiError:
    http_status: int
    name: str
    message: str
    code: str = ""


@dataclass(slots=True)
class PageReply:
    http_status: int
    status: str
    questions: tuple[Question, ...] = ()
    validation_errors: tuple[tuple[int | None, str], ...] = ()
    redirect_url: str | None = None
    previous_url: str | None = None
    is_final: bool = False
    progress: int = 0
    languages: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)  # terminateReason, quotaId, message
    error: ApiError | None = None
    # The step whose reply this is ("take", "submit-page", "previous-page", or "resume": a take
    # after a lost reply), set by the flow: what a page promises depends on how it was asked for.
    via: str = ""

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


_CANONICAL = {s: s for s in STATUSES}


def parse_reply(http_status: int, body: bytes) -> PageReply:
    if not 200 <= http_status < 300:
        return PageReply(http_status=http_status, status=HTTP_ERROR, error=_parse_error(http_status, body))
    try:
        return _parse_typed(http_status, body)
    except (msgspec.DecodeError, _Irregular):
        # Not the documented shape (or not JSON): the tolerant reading below decides, and its
        # result or its ServerContractError is the reply's, exactly as if there were no fast path.
        return _parse_tolerant(http_status, body)


def _parse_tolerant(http_status: int, body: bytes) -> PageReply:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ServerContractError("reply is not JSON", http_status, excerpt(body)) from None
    response = doc.get("response") if isinstance(doc, dict) else None
    raw_status = response.get("status") if isinstance(response, dict) else None
    # The module's own string, not the reply's copy: a respondent keeps its last page's status
    # while it thinks, and 100,000 of them at once kept 100,000 copies of "success".
    status = _CANONICAL.get(raw_status) if isinstance(raw_status, str) else None
    if status is None:
        raise ServerContractError(f"unknown or missing status {raw_status!r}", http_status, excerpt(body))
    assert isinstance(response, dict)
    get = response.get
    # Each part only when the reply has it: a terminal reply has none of them (every respondent's
    # last), and an empty generator costs as much as a short one.
    try:
        raw = get("questions")
        questions = tuple(map(_question, raw)) if raw else ()
        raw = get("validationErrors")
        errors = tuple((_int_or_none(e.get("questionId")), str(e.get("message", ""))) for e in raw) if raw else ()
        nav = get("navigation") or {}
        meta = get("meta") or {}
        meta_ok = isinstance(meta, dict)
        progress = int(meta.get("progressPercentage") or 0) if meta_ok else 0
        raw = get("languages")
        languages = tuple(str(x) for x in raw) if raw else ()
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise ServerContractError(f"malformed page ({exc.__class__.__name__}: {exc})", http_status,
                                  excerpt(body)) from None
    if not questions and status in ("success", "validation_errors"):
        raise ServerContractError(f"status {status!r} with no questions", http_status, excerpt(body))
    details = {k: response[k] for k in _DETAILS_ORDER if k in response} if not _DETAILS.isdisjoint(response) else {}
    redirect = get("redirectUrl")
    return PageReply(
        http_status,
        status,
        questions,
        errors,
        redirect if isinstance(redirect, str) and redirect else None,
        nav.get("previousPageUrl") if isinstance(nav, dict) else None,
        bool(meta.get("isFinalPage")) if meta_ok else False,
        progress,
        languages,
        details,
    )


_DETAILS_ORDER = ("terminateReason", "quotaId", "message", "finalStatus")  # the order details keeps them in
_DETAILS = frozenset(_DETAILS_ORDER)


# The documented reply decoded straight into typed values: fields we do not read (each question's
# html, themeConfig, requestID) are skipped rather than built, and each question's `json` stays raw
# bytes, which are the question cache's key, so a question seen before is not parsed at all:
# parse_reply takes 7 µs for the bench page instead of 11 (bench/RESULTS.md). Anything typed Any is
# judged as the tolerant path judges it; a shape these types do not admit falls back to that path.
class _Navigation(msgspec.Struct, gc=False):
    previousPageUrl: Any = None


class _Meta(msgspec.Struct, gc=False):
    isFinalPage: Any = None
    progressPercentage: Any = None


class _Entry(msgspec.Struct, gc=False):
    json: msgspec.Raw = msgspec.Raw(b"null")  # (a Raw cannot be part of a union)


class _Response(msgspec.Struct, gc=False):
    status: Any = None
    questions: list[_Entry] | None = None
    validationErrors: Any = None
    navigation: _Navigation | None = None
    meta: _Meta | None = None
    languages: Any = None
    redirectUrl: Any = None
    terminateReason: Any = msgspec.UNSET
    quotaId: Any = msgspec.UNSET
    message: Any = msgspec.UNSET
    finalStatus: Any = msgspec.UNSET


class _Document(msgspec.Struct, gc=False):
    response: _Response | None = None


class _Irregular(Exception):
    """The reply decoded, but not into something the typed path reads the tolerant way."""


_DOCUMENT = msgspec.json.Decoder(_Document)


def _parse_typed(http_status: int, body: bytes) -> PageReply:
    try:
        response = _DOCUMENT.decode(body).response
    except msgspec.ValidationError:
        raise _Irregular from None
    if response is None:
        raise _Irregular
    raw_status = response.status
    status = _CANONICAL.get(raw_status) if isinstance(raw_status, str) else None
    if status is None:
        raise _Irregular  # the tolerant path words the error
    try:
        raw = response.questions
        questions = tuple(_question_from_raw(e.json) for e in raw) if raw else ()
        raw = response.validationErrors
        errors = tuple((_int_or_none(e.get("questionId")), str(e.get("message", ""))) for e in raw) if raw else ()
        raw = response.languages
        languages = tuple(str(x) for x in raw) if raw else ()
        meta = response.meta
        progress = int(meta.progressPercentage or 0) if meta is not None else 0
    except (AttributeError, TypeError, ValueError, KeyError):
        raise _Irregular from None
    if not questions and status in ("success", "validation_errors"):
        raise _Irregular
    details = {}
    for name in _DETAILS_ORDER:
        value = getattr(response, name)
        if value is not msgspec.UNSET:
            details[name] = value
    redirect = response.redirectUrl
    nav = response.navigation
    return PageReply(
        http_status,
        status,
        questions,
        errors,
        redirect if isinstance(redirect, str) and redirect else None,
        nav.previousPageUrl if nav is not None else None,
        bool(meta.isFinalPage) if meta is not None else False,
        progress,
        languages,
        details,
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# Parsed questions by their JSON: every respondent of a page gets the same questions (the
# reference platform even sends the same bytes), and building the objects cost ~8 µs a question
# against ~1 µs for the key (bench/engine_logic_cost.py). Values shown again after a back or a
# validation error are in the JSON, so they are in the key. Bounded: emptied when full.
_PARSED: dict[bytes | str, Question] = {}
_PARSED_MAX = 4096


def _question(entry: Any) -> Question:
    raw = entry.get("json") if isinstance(entry, dict) else None
    if isinstance(raw, str):
        key: bytes | str | None = raw
    elif isinstance(raw, dict):
        key = orjson.dumps(raw)
    else:
        key = None
    if key is not None:
        known = _PARSED.get(key)
        if known is not None:
            return known
    question = _build_question(raw)
    if key is not None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        # orjson's bytes sit in a ~4 KB allocation whatever their length: keep an exact copy
        _PARSED[key if isinstance(key, str) else bytes(memoryview(key))] = question
    return question


def _question_from_raw(raw: msgspec.Raw) -> Question:
    key = bytes(raw)
    known = _PARSED.get(key)
    if known is not None:
        return known
    question = _build_question(orjson.loads(key))  # an object, or the JSON string of one
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[key] = question
    return question


def _build_question(raw: Any) -> Question:
    if isinstance(raw, (str, bytes)):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ValueError("questions[].json is a string but not JSON") from None
    if not isinstance(raw, dict):
        raise ValueError("questions[].json is neither an object nor a JSON string")
    fp = raw.get("formParam")
    if not isinstance(fp, dict) or not isinstance(fp.get("paramPrefix"), str):
        raise ValueError(f"question {raw.get('id')!r} has no formParam.paramPrefix")
    form = FormParam(
        prefix=fp["paramPrefix"],
        id_type=str(fp.get("paramIdType", "")),
        required=bool(fp.get("required", False)),
        other_prefix=fp.get("otherParamPrefix") if isinstance(fp.get("otherParamPrefix"), str) else None,
        rules=fp,
    )
    return Question(
        id=int(raw["id"]),
        type=str(raw.get("type", "")),
        text=str(raw.get("text", "")),
        form=form,
        answers=tuple(_choice(a) for a in raw.get("answers") or ()),
        rows=tuple(_choice(r) for r in raw.get("rows") or ()),
        value=raw.get("value"),
    )


def _choice(raw: Any) -> Choice:
    value = raw.get("value")
    return Choice(
        id=int(raw["id"]),
        text=str(raw.get("text", "")),
        is_other=bool(raw.get("isOther", False)),
        selected=bool(raw.get("selected", False)),
        value=str(value) if value is not None else None,
    )


_NAME = re.compile(rb'"name"\s*:\s*"([^"]*)"')
_MESSAGE = re.compile(rb'"message"\s*:\s*"([^"]*)"')
_CODE = re.compile(rb'"(?:id|code)"\s*:\s*"?(\w+)"?')


def _parse_error(http_status: int, body: bytes) -> ApiError:
    """Read an error body in either documented shape, JSON or not."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict):
        err = (doc.get("response") or {}).get("error") if isinstance(doc.get("response"), dict) else None
        err = err if isinstance(err, dict) else doc.get("error")
        if isinstance(err, dict):
            return ApiError(http_status, str(err.get("name", "")), str(err.get("message", "")),
                            str(err.get("id", err.get("code", ""))))
    name, message, code = _NAME.search(body), _MESSAGE.search(body), _CODE.search(body)
    return ApiError(
        http_status,
        name.group(1).decode("utf-8", "replace") if name else "",
        message.group(1).decode("utf-8", "replace") if message else excerpt(body),
        code.group(1).decode() if code else "",
    )
