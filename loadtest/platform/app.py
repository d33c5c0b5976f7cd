"""The reference platform's HTTP surface: one dispatch function, with RSGI and ASGI adapters.

`Platform.handle` takes a plain request (method, path, query, lower-cased headers, body) and
returns (status, headers, body); it never raises. `Platform.serve` is what the adapters call:
`handle` with the fault plan applied (faults.py), plus how long to hold the reply back. granian
serves it through `__rsgi__` (its fastest interface, see bench/RESULTS.md); `__call__` is the
ASGI form of the same thing, for any ASGI server or httpx.ASGITransport.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import sqlite3
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson

from loadtest.local_defaults import DEFAULT_API_KEY
from loadtest.platform import admin
from loadtest.platform.body import BodyReader, BodyRefused
from loadtest.platform.envelopes import ApiReply, error_envelope
from loadtest.platform.faults.plan import FAULT_HEADER, Decision, FaultPlan, parse_faults
from loadtest.platform.forsta.respondent_data import (
    DATA_PREFIX,
    DEFAULT_DATA_TOKEN,
    MAX_DATA_BODY,
    RespondentData,
    Stream,
)
from loadtest.platform.home_page import home_page
from loadtest.platform.questionpro.respondent_api import API, RespondentApi
from loadtest.platform.questionpro.responses_api import ResponsesApi
from loadtest.platform.response_row import StaleRow
from loadtest.platform.sharing import FLUSH_S, Figures, Sharing, counted
from loadtest.platform.storage import Store
from loadtest.platform.theoremreach.link import link
from loadtest.platform.theoremreach.panel_api import DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET, PanelApi, PanelConfig
from loadtest.platform.theoremreach.store import PanelStore
from loadtest.survey.model import Survey

__all__ = ["DEFAULT_API_KEY", "DEFAULT_DATA_TOKEN", "MAX_BODY_BYTES", "Platform", "PlatformConfig"]

PANEL_PREFIXES = ("/api/external/v1/", "/respondent_result/")
MAX_BODY_BYTES = 1 << 20
STALE_ATTEMPTS = 8  # each retry follows a write another process committed: progress is being made
_T = TypeVar("_T")
JSON = [("content-type", "application/json")]

Response = tuple[int, list[tuple[str, str]], "bytes | Stream"]  # a Stream only from the data API


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    api_key: str = DEFAULT_API_KEY
    panel_api_key: str = DEFAULT_PANEL_API_KEY
    panel_secret: str = DEFAULT_PANEL_SECRET
    panel_algorithm: str = "sha3_256"
    data_token: str = DEFAULT_DATA_TOKEN  # the bearer token of the respondent data API
    admin_token: str | None = None  # when set, /__admin/* needs `Authorization: Bearer <it>`
    body_timeout_s: float = 10.0  # a request body not whole by then is answered 408 and its connection dropped


class Platform:
    def __init__(self, surveys: list[Survey], store: Store, config: PlatformConfig = PlatformConfig(), **kw: Any):
        self.config = config
        self.store = store
        self.api = RespondentApi({s.id: s for s in surveys}, store, **kw)
        self.requests: Counter[tuple[str, int, str]] = Counter()  # (endpoint, HTTP status, outcome)
        self.stale_retries = 0  # requests handled again because another process moved their row first
        self._api_key = config.api_key.encode()
        self.static_page: bytes | None = None  # rendered once by admin's /__admin/static-page
        self.faults = FaultPlan()  # none until configured (--faults, PUT /__admin/faults)
        self.bodies = BodyReader(config.body_timeout_s)
        self.data = RespondentData(self.api.surveys, store, self.api.sessions, config.data_token, self.api.clock)
        self.responses = ResponsesApi(self.api, config.api_key)
        # Several processes on one database (storage.py's `shared`): see sharing.py.
        self.sharing = Sharing(store) if store.shared else None
        # What the file says was reset and set before this process started is history, not news.
        self._reset_seen: Any = None  # the last reset applied (each reset is named by a random token)
        self._faults_doc: Any = None  # the fault plan last set by PUT /__admin/faults, as given
        if self.sharing is not None:
            self._reset_seen = self.sharing.payload("reset")
            self._faults_doc = self.sharing.payload("faults")
        self._flushing = False
        self.panel = PanelApi(
            PanelConfig(config.panel_api_key, config.panel_secret, config.panel_algorithm),
            PanelStore(store.connection), link(self), self.api.clock,
            shared_take=self.sharing.try_take if self.sharing is not None else None,
        )

    def set_survey_state(self, survey_id: int, state: str) -> None:
        self.store.set_survey_state(survey_id, state)
        if self.sharing is not None:  # the others read the states again from the file
            self.sharing.changed()

    # --- several processes on one database --------------------------------------------------
    def figures(self) -> Figures:
        """What this process counted, for the others' /__admin/stats and /__admin/faults."""
        return {"requests": counted(self.requests.items()), "faults": counted(self.faults.journal.items()),
                "rebuilt": [[self.api.sessions.rebuilt]], "stale_retries": [[self.stale_retries]]}

    def reload_shared(self) -> None:
        """Apply what another process changed: survey states, a reset, the fault plan, the panel's
        quota cells."""
        assert self.sharing is not None
        self.store.reload_states()
        reset = self.sharing.payload("reset")
        if reset != self._reset_seen:
            self._reset_seen = reset
            self.requests.clear()  # (the fault journal carries on, as a lone process's does)
            self.api.sessions.clear()  # their rows are gone
            self.api.sessions.rebuilt = self.stale_retries = 0
        doc = self.sharing.payload("faults")
        if doc is not None and doc != self._faults_doc:
            plan = parse_faults(doc, "PUT /__admin/faults")
            plan.journal = self.faults.journal
            self.faults, self._faults_doc = plan, doc
        for survey_id in list(self.api.panel_quotas):
            self.api.set_panel_quotas(survey_id, [])
        for diy in self.panel.store.surveys():
            found = self.panel.quota_cells(diy)
            if found is not None:
                self.api.set_panel_quotas(*found)

    def set_shared_faults(self, doc: Any) -> None:
        """PUT /__admin/faults's plan (already applied here), for the other processes."""
        assert self.sharing is not None
        self._faults_doc = doc
        self.sharing.changed(faults=doc)

    def shared_reset(self) -> None:
        """/__admin/reset's in-memory part on every process (the file's part is done once)."""
        assert self.sharing is not None
        self._reset_seen = os.urandom(8).hex()  # not a count: two resets at once must both be seen
        self.sharing.forget_figures()
        self.sharing.forget_buckets()
        self.sharing.changed(reset=self._reset_seen)

    def flush_figures(self, force: bool = False) -> None:
        assert self.sharing is not None
        while not self.sharing.flush(self.figures, force):
            self.reload_shared()  # another process changed something first (a reset, say): apply it

    def _keep_flushing(self) -> None:
        """Write this process's figures every FLUSH_S while it serves (from its event loop)."""
        if self._flushing:
            return
        self._flushing = True
        sharing = self.sharing
        if sharing is None:
            return
        loop = asyncio.get_running_loop()

        def tick() -> None:
            try:
                if sharing.stale():  # an idle process applies a reset too, and writes its figures again
                    self.reload_shared()
                self.flush_figures()
            except sqlite3.Error:  # the file is busy or going away: the next tick tries again
                traceback.print_exc(file=sys.stderr)
            loop.call_later(FLUSH_S, tick)

        loop.call_later(FLUSH_S, tick)

    # --- faults -------------------------------------------------------------------------
    def serve(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
              ) -> tuple[Response, float]:
        """`handle` under the fault plan: (the response, seconds to hold it back)."""
        if self.sharing is not None and self.sharing.stale():
            self.reload_shared()
        endpoint = _endpoint_of(path) if self.faults.active else None
        if endpoint is None:  # no plan, or admin and the OpenAPI document: never faulted
            return self.handle(method, path, query, headers, body), 0.0
        decision = self.faults.decide(endpoint)
        if decision.before is not None:
            return _refused(decision, self.faults.endpoints.get(endpoint) or self.faults.endpoints["*"], path), \
                decision.delay_s
        response = self.handle(method, path, query, headers, body)
        if decision.after is not None:
            response = _spoiled(response, decision.after)
        return response, decision.delay_s

    # --- dispatch -----------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Response:
        endpoint = "other"
        try:
            if path.startswith(API + "/"):
                endpoint, reply = self._on_current_rows(self._respondent, method, path, query, headers, body)
                out = _reply(reply)
                self.requests[(endpoint, reply.status, reply.outcome)] += 1
                return out
            if path.startswith(DATA_PREFIX):
                endpoint = "respondent-data"
                status, out_headers, body_out = self._on_current_rows(self.data.handle, method, path, query, headers,
                                                                      body)
                self.requests[(endpoint, status, "")] += 1
                return status, out_headers, body_out
            if path.startswith(PANEL_PREFIXES):
                endpoint = "panel"
                status, out_headers, payload = self.panel.handle(method, path, query, dict(headers), body)
                self.requests[(endpoint, status, "")] += 1
                return status, out_headers, payload
            if path == "/" and method == "GET":  # a page for client developers (home_page.py)
                self.requests[("home", 200, "")] += 1
                return 200, [("content-type", "text/html; charset=utf-8")], home_page(self, headers.get("host", ""))
            endpoint = path
            if path.startswith("/__admin/") and not self._admin_allowed(headers):
                self.requests[("admin", 401, "")] += 1
                return 401, [*JSON, ("www-authenticate", "Bearer")], b'{"error":{"message":"admin token required"}}'
            status, payload = admin.route(self, method, path, body)
        except Exception:  # the platform must answer every request; the traceback goes to stderr
            traceback.print_exc(file=sys.stderr)
            reply = error_envelope(500, path)
            self.requests[(endpoint, 500, reply.outcome)] += 1
            return _reply(reply)
        self.requests[(endpoint if status != 404 else "unknown", status, "")] += 1
        return status, JSON, payload

    def _on_current_rows(self, handler: Callable[..., _T], *args: Any) -> _T:
        """Handle the request again while a row it saved had been moved by another process since
        it was read (StaleRow: that attempt stored nothing), each time on the rows as stored."""
        for _ in range(STALE_ATTEMPTS - 1):
            try:
                return handler(*args)
            except StaleRow as stale:
                self.api.sessions.forget_uuid(stale.uuid)
                self.stale_retries += 1
        return handler(*args)  # a row moved under every attempt: the last StaleRow is a 500

    def _refuse_body(self, path: str, refused: BodyRefused) -> tuple[int, list[tuple[str, str]], bytes]:
        """A body that was not read: each API's own error shape, counted like any reply."""
        if path.startswith(API + "/"):
            endpoint = path.rsplit("/", 1)[-1]
            reply = error_envelope(refused.status, path, refused.message)
            self.requests[(endpoint, refused.status, reply.outcome)] += 1
            return refused.status, JSON, reply.body
        endpoint = "respondent-data" if path.startswith(DATA_PREFIX) else "panel" \
            if path.startswith(PANEL_PREFIXES) else "other"
        self.requests[(endpoint, refused.status, "")] += 1
        if endpoint == "panel":
            return refused.status, JSON, orjson.dumps({"errors": [refused.message], "meta": {"hints": [],
                                                                                          "warnings": []}})
        return refused.status, JSON, orjson.dumps({"message": refused.message})

    def _admin_allowed(self, headers: Mapping[str, str]) -> bool:
        if self.config.admin_token is None:
            return True
        given = headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), self.config.admin_token.encode())

    def _respondent(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[str, ApiReply]:
        parts = path[len(API) + 1 :].split("/")
        step = parts[1] if len(parts) == 2 else ""
        if step == "responses":  # seed 002: a whole response in one call (its own auth and checks)
            return step, self.responses.handle(method, parts[0], query, headers, body)
        if step not in ("take", "submit-page", "previous-page"):
            return "unknown", error_envelope(404, path)
        expected = "POST" if step == "submit-page" else "GET"
        if method != expected:
            return step, error_envelope(405, path)
        if not hmac.compare_digest(headers.get("api-key", "").encode(), self._api_key):
            return step, error_envelope(401, path)
        if not parts[0].isdecimal():
            return step, error_envelope(400, path)
        if len(body) > MAX_BODY_BYTES:
            return step, error_envelope(413, path)
        survey_id = int(parts[0])
        token = headers.get("x-survey-token")
        base_url = "http://" + headers.get("host", "127.0.0.1")
        if step == "take":
            return step, self.api.take(survey_id, token, dict(parse_qsl(query)), base_url)
        if step == "submit-page":
            return step, self.api.submit(survey_id, token, body, base_url)
        return step, self.api.previous(survey_id, token, base_url)

    # --- RSGI (granian) -----------------------------------------------------------------
    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if not self._flushing:
            self._keep_flushing()
        body = b""
        if scope.method in ("POST", "PUT", "PATCH", "DELETE"):
            try:
                body = await self.bodies.read(protocol, scope.headers, _body_limit(scope.path))
            except BodyRefused as refused:
                protocol.response_bytes(*self._refuse_body(scope.path, refused))
                return
        (status, headers, payload), delay = self.serve(scope.method, scope.path, scope.query_string, scope.headers,
                                                       body)
        if delay > 0:
            await asyncio.sleep(delay)
        if isinstance(payload, Stream):
            transport = protocol.response_stream(status, headers)
            for chunk in payload:
                await transport.send_bytes(chunk)
            return
        protocol.response_bytes(status, headers, payload)

    # --- ASGI ---------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        self._keep_flushing()
        chunks = []
        more, size, limit = True, 0, _body_limit(scope["path"])
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:  # cut here: the rest is never held in memory
                code, refused, text = self._refuse_body(scope["path"], BodyRefused(413, "too large"))
                await send({"type": "http.response.start", "status": code,
                            "headers": [(k.encode(), v.encode()) for k, v in refused]})
                await send({"type": "http.response.body", "body": text})
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        (status, out_headers, payload), delay = self.serve(
            scope["method"], scope["path"], scope["query_string"].decode("latin-1"), headers, b"".join(chunks)
        )
        if delay > 0:
            await asyncio.sleep(delay)
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in out_headers],
        })
        if isinstance(payload, Stream):
            for chunk in payload:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            payload = b""
        await send({"type": "http.response.body", "body": payload})


def _body_limit(path: str) -> int:
    return MAX_DATA_BODY if path.startswith(DATA_PREFIX) else MAX_BODY_BYTES


def _reply(reply: ApiReply) -> Response:
    if reply.token is None:
        return reply.status, JSON, reply.body
    return reply.status, [("content-type", "application/json"), ("x-survey-token", reply.token)], reply.body


def _endpoint_of(path: str) -> str | None:
    if path.startswith(API + "/"):
        return path.rsplit("/", 1)[-1]
    if path.startswith(DATA_PREFIX):
        return "respondent-data"
    if path.startswith(PANEL_PREFIXES):
        return "panel"
    return None


def _refused(decision: Decision, rules: Any, path: str) -> Response:
    """A fault answered instead of processing the request (nothing happened on the platform)."""
    if decision.before == "throttle":
        body = orjson.dumps({"error": {"code": 429, "message": "Too many requests (injected)", "resource": path}})
        return 429, [*JSON, ("retry-after", f"{rules.retry_after_s:g}"), (FAULT_HEADER, "throttle")], body
    status = rules.error_status
    body = orjson.dumps({"error": {"code": status, "message": "Service unavailable (injected)", "resource": path}})
    return status, [*JSON, (FAULT_HEADER, "error")], body


def _spoiled(response: Response, kind: str) -> Response:
    """The real reply, spoiled after the work was done: the client must survive losing it."""
    status, headers, payload = response
    if not isinstance(payload, bytes):  # a stream is left alone
        return response
    headers = [*headers, (FAULT_HEADER, kind)]
    if kind == "malformed":
        return status, headers, payload[: len(payload) // 2] + b'\x00}{"garbage'
    if kind == "truncated":
        return status, headers, payload[: len(payload) // 2]
    if kind == "no_token":
        return status, [h for h in headers if h[0] != "x-survey-token"], payload
    token = next((v for k, v in headers if k == "x-survey-token"), "")  # wrong_token
    return status, [h if h[0] != "x-survey-token" else (h[0], "spoiled." + token[::-1]) for h in headers], payload
