"""The Forsta (Confirmit) Horizons respondent data API (seed 004) on the reference platform.

    GET    /v1/surveys/{surveyId}/respondents/data            paged JSON, or an NDJSON stream
    GET    /v1/surveys/{surveyId}/respondents/data/{respId}   one record
    POST | PUT | PATCH | DELETE  /v1/surveys/{surveyId}/respondents/data    see data_writes.py
    POST   /v1/surveys/{surveyId}/respondents/uservariables   declare a user variable (user_vars.py)

`surveyId` is the survey's number, with or without Forsta's `p` (`p100001` = `100001`). Every call
needs `Authorization: Bearer <token>` (`loadtest mock --data-token-env NAME`; unset, the local
default `loadtest-local-data-token`); without it or with another token: 401. What a record holds
is records.py's docstring; the filter subset is filter_expr.py's.

Reading. `variables` (comma-separated) picks variables (`respid` always comes first);
`variableTemplateId` is refused (400: no variable templates here), and so is sending both.
`filterExpression` filters. A request whose `Accept` names `application/x-ndjson` gets every
matching record as one JSON object a line, streamed in batches (`pageSize`/`page` do not apply,
as the seed says the stream is not limited). Otherwise (`application/json`, the default) one page:
`pageSize` (1..10000, default 100; larger is a 400) and `page` (from 1), answered with
`itemCount`, `totalCount`, `items` and `links` (`next` while more pages follow; `item`, the URI
template of one record). Records come in `respid` order. Errors that are not about data rows
are `{"message": ...}`.
"""

from __future__ import annotations

import hmac
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import orjson

from loadtest.local_defaults import DEFAULT_DATA_TOKEN
from loadtest.platform.forsta.data_writes import DataWrites
from loadtest.platform.forsta.filter_expr import FilterError, Predicate, parse_filter
from loadtest.platform.forsta.records import SYSTEM_VARIABLES, answer_slots, record_of
from loadtest.platform.forsta.user_vars import MAX_COLUMNS, UserVariables, parse_declaration
from loadtest.platform.response_row import ResponseRow
from loadtest.platform.storage import Store
from loadtest.survey.model import Survey

if TYPE_CHECKING:
    from loadtest.platform.questionpro.sessions import Sessions

__all__ = ["DATA_PREFIX", "DEFAULT_DATA_TOKEN", "MAX_PAGE_SIZE", "RespondentData", "Stream"]

DATA_PREFIX = "/v1/surveys/"
MAX_PAGE_SIZE = 10_000
DEFAULT_PAGE_SIZE = 100
STREAM_BATCH = 500
MAX_DATA_BODY = 16 << 20
JSON = [("content-type", "application/json; charset=utf-8")]
NDJSON = [("content-type", "application/x-ndjson; charset=utf-8")]

Headers = list[tuple[str, str]]


class Stream:
    """A response body sent in chunks (the app's RSGI/ASGI adapters send each as it comes)."""

    __slots__ = ("chunks",)

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.chunks
        except Exception:  # headers are gone: log it, then break the connection rather than end cleanly
            traceback.print_exc(file=sys.stderr)
            raise


Reply = tuple[int, Headers, "bytes | Stream"]


def _message(status: int, message: str, headers: Headers = JSON) -> Reply:
    return status, headers, orjson.dumps({"message": message})


class RespondentData:
    def __init__(self, surveys: dict[int, Survey], store: Store, sessions: Sessions, token: str,
                 clock: Callable[[], float]) -> None:
        self.surveys = surveys
        self.store = store
        self.sessions = sessions
        self.users = UserVariables(store.connection)
        self._token = f"Bearer {token}".encode()
        self._slots = {sid: answer_slots(s) for sid, s in surveys.items()}
        self.writes = DataWrites(surveys, store, self.users, sessions, self._slots, clock)

    def reset(self) -> None:
        self.users.reset()

    # --- dispatch ---------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Reply:
        if not hmac.compare_digest(headers.get("authorization", "").encode(), self._token):
            return _message(401, "Authorization has been denied for this request.",
                            [*JSON, ("www-authenticate", "Bearer")])
        parts = path[len(DATA_PREFIX):].split("/")
        raw_sid = parts[0]
        digits = raw_sid[1:] if raw_sid[:1] in ("p", "P") else raw_sid
        survey = self.surveys.get(int(digits)) if digits.isdecimal() else None
        if len(parts) < 3 or parts[1] != "respondents" or parts[2] not in ("data", "uservariables") or len(parts) > 4:
            return _message(404, f"No route for {method} {path}.")
        if survey is None:
            return _message(404, f"Survey {raw_sid} was not found.")
        if len(body) > MAX_DATA_BODY:
            return _message(413, "The request body is too large.")
        params = parse_qsl(query, keep_blank_values=True)
        if parts[2] == "uservariables" and len(parts) == 3:
            return self._declare(survey, body) if method == "POST" else _message(405, f"{method} is not allowed here.")
        if parts[2] != "data":
            return _message(404, f"No route for {method} {path}.")
        if len(parts) == 4:
            if method != "GET":
                return _message(405, f"{method} is not allowed here.")
            return self._read_one(survey, parts[3], dict(params))
        if method == "GET":
            base = f"http://{headers.get('host', '127.0.0.1')}{DATA_PREFIX}{raw_sid}/respondents/data"
            return self._read(survey, params, _wants_stream(headers.get("accept", "")), base)
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            try:
                payload = orjson.loads(body) if body else None
            except orjson.JSONDecodeError:
                return _message(400, "The request body is not valid JSON.")
            status, out = self.writes.run(method, survey, payload)
            return status, JSON, orjson.dumps(out)
        return _message(405, f"{method} is not allowed here.")

    # --- reading ----------------------------------------------------------------------------
    def variables_of(self, survey: Survey) -> list[str]:
        return [*SYSTEM_VARIABLES, *self._slots[survey.id], *self.users.declared(survey.id)]

    def _selection(self, survey: Survey, params: Mapping[str, str]) -> list[str] | str | None:
        """The variables asked for (None: all), or what is wrong with the request."""
        if "variables" in params and "variableTemplateId" in params:
            return "variables and variableTemplateId are mutually exclusive."
        if "variableTemplateId" in params:
            return "variableTemplateId: variable templates are not supported by this platform; use variables."
        if "variables" not in params:
            return None
        names = [n.strip() for n in params["variables"].split(",") if n.strip()]
        known = set(self.variables_of(survey))
        unknown = [n for n in names if n not in known]
        if unknown:
            return f"variables: unknown variable(s) {', '.join(unknown)}."
        return ["respid", *[n for n in dict.fromkeys(names) if n != "respid"]]

    def _records(self, rows: list[ResponseRow], selection: list[str] | None) -> Iterator[dict[str, Any]]:
        users = self.users.values(r.id for r in rows)
        for row in rows:
            record = record_of(row, users.get(row.id))
            yield record if selection is None else {k: record[k] for k in selection if k in record}

    def _read_one(self, survey: Survey, raw_id: str, params: Mapping[str, str]) -> Reply:
        selection = self._selection(survey, params)
        if isinstance(selection, str):
            return _message(400, selection)
        row = self.store.load(int(raw_id)) if raw_id.isdecimal() and len(raw_id) < 19 else None
        if row is None or row.survey_id != survey.id:
            return _message(404, f"Respondent {raw_id} was not found in survey {survey.id}.")
        return 200, JSON, orjson.dumps(next(self._records([row], selection)))

    def _read(self, survey: Survey, pairs: list[tuple[str, str]], stream: bool, base: str) -> Reply:
        params = dict(pairs)
        selection = self._selection(survey, params)
        if isinstance(selection, str):
            return _message(400, selection)
        predicate: Predicate | None = None
        if params.get("filterExpression", "").strip():
            try:
                predicate = parse_filter(params["filterExpression"], set(self.variables_of(survey)))
            except FilterError as exc:
                return _message(400, str(exc))
        if stream:
            return 200, NDJSON, Stream(self._stream(survey.id, selection, predicate))
        size, page = _int(params, "pageSize", DEFAULT_PAGE_SIZE), _int(params, "page", 1)
        if size is None or not 1 <= size <= MAX_PAGE_SIZE:
            return _message(400, f"pageSize must be a whole number from 1 to {MAX_PAGE_SIZE} "
                                 f"(got {params.get('pageSize')!r}); use the application/x-ndjson stream for more.")
        if page is None or page < 1:
            return _message(400, f"page must be a whole number from 1 (got {params.get('page')!r}).")
        items, total = self._page(survey.id, selection, predicate, size, page)
        links = {"item": f"{base}/{{respId}}"}
        if page * size < total:
            links = {"next": f"{base}?{_with_page(pairs, page + 1)}", **links}
        body = {"itemCount": len(items), "totalCount": total, "items": items, "links": links}
        return 200, JSON, orjson.dumps(body)

    def _page(self, survey_id: int, selection: list[str] | None, predicate: Predicate | None, size: int,
              page: int) -> tuple[list[dict[str, Any]], int]:
        skip = (page - 1) * size
        if predicate is None:
            total = self.store.count(survey_id)
            rows = self.store.responses_after(survey_id, 0, size, offset=skip) if skip < total else []
            return list(self._records(rows, selection)), total
        items: list[dict[str, Any]] = []
        total = 0
        for batch in self._batches(survey_id):
            for record in self._records(batch, None):
                if predicate(record):
                    if skip <= total < skip + size:
                        items.append(record if selection is None else {k: record[k] for k in selection if k in record})
                    total += 1
        return items, total

    def _batches(self, survey_id: int) -> Iterator[list[ResponseRow]]:
        after = 0
        while True:
            batch = self.store.responses_after(survey_id, after, STREAM_BATCH)
            if not batch:
                return
            yield batch
            after = batch[-1].id

    def _stream(self, survey_id: int, selection: list[str] | None, predicate: Predicate | None) -> Iterator[bytes]:
        for batch in self._batches(survey_id):
            lines = []
            for record in self._records(batch, None if predicate else selection):
                if predicate is not None:
                    if not predicate(record):
                        continue
                    if selection is not None:
                        record = {k: record[k] for k in selection if k in record}
                lines.append(orjson.dumps(record))
            if lines:
                yield b"\n".join(lines) + b"\n"

    # --- user variables and the admin hook --------------------------------------------------
    def _declare(self, survey: Survey, body: bytes) -> Reply:
        try:
            payload = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            return _message(400, "The request body is not valid JSON.")
        variable = parse_declaration(payload)
        if isinstance(variable, str):
            return _message(400, variable)
        existing = self.variables_of(survey)
        if variable.name in existing:
            return _message(409, f"Variable {variable.name!r} already exists.")
        if len(existing) >= MAX_COLUMNS:
            return _message(409, f"The respondent table has reached its limit of {MAX_COLUMNS} columns.")
        self.users.declare(survey.id, variable)
        return 200, JSON, orjson.dumps(variable.schema())

    def drop_answer(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """POST /__admin/drop-answer {"respid": N, "variable": "u_10002"}: delete one stored answer
        (so a test can show the data check catching a record that differs from what was sent)."""
        try:
            payload = orjson.loads(body)
            respid, variable = payload["respid"], payload["variable"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return 400, {"error": {"message": 'expected {"respid": <int>, "variable": <form key>}'}}
        ok = isinstance(respid, int) and not isinstance(respid, bool) and 0 < respid < 2**63
        row = self.store.load(respid) if ok else None
        if row is None:
            return 404, {"error": {"message": f"no response {respid!r}"}}
        for values in row.answers.values():
            if variable in values:
                del values[variable]
                self.store.save(row)
                self.sessions.forget(row)
                return 200, {"respid": row.id, "variable": variable, "dropped": True}
        return 404, {"error": {"message": f"response {row.id} has no stored answer {variable!r}"}}


def _wants_stream(accept: str) -> bool:
    return any(part.split(";")[0].strip().lower() == "application/x-ndjson" for part in accept.split(","))


def _int(params: Mapping[str, str], key: str, default: int) -> int | None:
    raw = params.get(key)
    if raw is None:
        return default
    raw = raw.strip()
    return int(raw) if raw.lstrip("-").isdecimal() else None


def _with_page(pairs: list[tuple[str, str]], page: int) -> str:
    out = [(k, str(page) if k == "page" else v) for k, v in pairs]
    if not any(k == "page" for k, _ in pairs):
        out.append(("page", str(page)))
    return urlencode(out, safe=",:'")
