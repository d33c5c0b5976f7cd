"""Preflight: one take against the target before any load, and, when a panel is configured, one
authenticated DIY API call.

Without it a wrong URL, key or survey id shows only as `failed N` after seconds of retries, the
cause buried in respondents.jsonl. Each problem here is one line naming what to fix:

    connection refused, no such host, timed out    scenario.target (or panel.target)
    TLS failure                                    the scheme of the target, or its certificate
    a reply that is not the API's JSON             scenario.target is not the API's base URL
    401 / 403                                      the variable named by scenario.api_key_env
    404                                            scenario.survey_id

The take opens a session on the target like any respondent's; its transaction id
(`{prefix}-preflight`) is printed, so it can be found there. Both drivers call `preflight()` and
turn PreflightError into exit 2. Plain blocking httpx: it runs before any event loop exists.
"""

from __future__ import annotations

import base64
import contextlib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import orjson

from loadtest.core.errors import ServerContractError
from loadtest.core.page import HTTP_ERROR, excerpt, parse_reply
from loadtest.core.panel import Signer
from loadtest.scenario.file import PanelSettings, Scenario
from loadtest.transport.tls import client_context

__all__ = ["PreflightError", "preflight", "preflight_transaction_id"]

DIY_SURVEYS = "/api/external/v1/surveys"


class PreflightError(Exception):
    """The target cannot be load-tested as configured; str() is one line naming what to fix."""


@dataclass(frozen=True)
class Credentials:
    api_key: str
    panel_key: str = ""
    panel_secret: str = ""


def preflight_transaction_id(transaction_prefix: str) -> str:
    return f"{transaction_prefix}-preflight"


def preflight(sc: Scenario, url: str, creds: Credentials, transaction_prefix: str,
              transport: httpx.BaseTransport | None = None) -> list[str]:
    """Check the target (and the panel); return the lines to print. Raises PreflightError."""
    timeout = min(sc.request_timeout_s, 15.0)
    # The run's own TLS settings and extra headers: a preflight that trusts what the run does not
    # (or lacks the gateway's header) would pass a run that then fails, or fail one that works.
    verify = client_context(sc.http.tls_ca_file, sc.http.tls_verify)
    with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False, verify=verify,
                      headers=dict(sc.http.resolved_headers())) as client:
        lines = [_take(client, sc, url, creds.api_key, preflight_transaction_id(transaction_prefix))]
        if sc.panel is not None and (sc.panel.setup or sc.panel.reconcile):
            lines.append(_diy(client, sc.panel, sc.panel.target or url, creds))
    return lines


def _take(client: httpx.Client, sc: Scenario, base: str, api_key: str, txn: str) -> str:
    where = f"{base.rstrip('/')}/a/api/v2/surveys/{sc.survey_id}/take"
    name = f"preflight: take of survey {sc.survey_id} at {base}"
    with _exchange(name, "scenario.target", timeout=client.timeout.read):
        reply = client.get(f"{where}?{urlencode({'transaction_id': txn})}",
                           headers={"accept": "application/json", "api-key": api_key})
    status = reply.status_code
    if status in (401, 403):
        raise PreflightError(f"{name}: HTTP {status}: the target refused the API key; set the environment variable "
                             f"{sc.api_key_env} (scenario.api_key_env) to a key it accepts ({_message(reply)})")
    if status == 404 and _is_json(reply):
        raise PreflightError(f"{name}: HTTP 404: the target has no survey {sc.survey_id}; check scenario.survey_id "
                             f"({_message(reply)})")
    if not _is_json(reply):
        raise PreflightError(f"{name}: HTTP {status} {reply.headers.get('content-type', 'without a content type')} "
                             f"is not the respondent API's JSON; is scenario.target the API's base URL? "
                             f"({excerpt(reply.content, 80)})")
    if status == 429:  # already throttled: the run honours Retry-After; nothing to fix in the scenario
        return f"{name}: HTTP 429 (rate limited already; the run waits as the target says), transaction {txn}"
    try:
        page = parse_reply(status, reply.content)
    except ServerContractError as exc:
        raise PreflightError(f"{name}: the reply is not a respondent API page ({exc}); is scenario.target the "
                             "API's base URL?") from None
    if page.status == HTTP_ERROR:
        raise PreflightError(f"{name}: HTTP {status}: {_message(reply)}")
    return (f"{name}: HTTP {status} {page.status}; its session is transaction {txn} "
            "(look it up on the target by that id)")


def _diy(client: httpx.Client, panel: PanelSettings, base: str, creds: Credentials) -> str:
    signer = Signer(creds.panel_secret, algorithm=panel.algorithm, encoding=panel.encoding,  # type: ignore[arg-type]
                    parts=panel.hashed, param=panel.param, placement=panel.placement)  # type: ignore[arg-type]
    url, extra = signer.sign(f"{base.rstrip('/')}{DIY_SURVEYS}", b"")
    name = f"preflight: panel DIY API at {base}"
    with _exchange(name, "panel.target", timeout=client.timeout.read):
        reply = client.get(url, headers={"x-api-key": base64.b64encode(creds.panel_key.encode()).decode(),
                                         "accept": "application/json", **extra})
    status = reply.status_code
    if status == 401:
        raise PreflightError(f"{name}: HTTP 401: the panel refused the API key; set {panel.api_key_env} "
                             f"(panel.api_key_env) to its key ({_message(reply)})")
    if status == 403:
        raise PreflightError(f"{name}: HTTP 403: the panel refused the request's signature; set {panel.secret_env} "
                             f"(panel.secret_env) to its secret, or check panel.algorithm / panel.hashed "
                             f"({_message(reply)})")
    if not _is_json(reply) or status == 404:
        raise PreflightError(f"{name}: HTTP {status} is not the DIY API's JSON; is panel.target the panel's base "
                             f"URL? ({excerpt(reply.content, 80)})")
    if status >= 300 and status != 429:
        raise PreflightError(f"{name}: HTTP {status}: {_message(reply)}")
    return f"{name}: HTTP {status}, signed requests accepted"


def _reason(exc: BaseException) -> str:
    seen: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in seen:
        seen.append(e)
        e = e.__cause__ or e.__context__
    for e in seen:
        if isinstance(e, ssl.SSLError):
            return f"TLS failed ({getattr(e, 'reason', None) or e}): is the URL's scheme right (http or https), " \
                   "and its certificate trusted (scenario.tls_ca_file, tls_verify)?"
    text = " ".join(str(e) for e in seen)
    if isinstance(exc, httpx.ConnectError):
        if "refused" in text.lower() or any(isinstance(e, ConnectionRefusedError) for e in seen):
            return "connection refused: is the target running, at that host and port?"
        if "name or service not known" in text.lower() or "nodename nor servname" in text.lower() or \
                "temporary failure in name resolution" in text.lower():
            return "the host name does not resolve"
        if "ssl" in text.lower() or "certificate" in text.lower():
            return f"TLS failed ({text}): is the URL's scheme right (http or https), and its certificate trusted?"
        return f"cannot connect ({text or type(exc).__name__})"
    return f"the connection broke before a reply ({text or type(exc).__name__}); is the URL's scheme right?"


@contextlib.contextmanager
def _exchange(name: str, key: str, timeout: float | None) -> Iterator[None]:
    """The ways a request can fail to get a reply, as one line each."""
    try:
        yield
    except httpx.TimeoutException:
        raise PreflightError(f"{name}: no reply within {timeout or 0:g} s; check {key}") from None
    except httpx.TransportError as exc:
        raise PreflightError(f"{name}: {_reason(exc)} (check {key})") from None


def _is_json(reply: httpx.Response) -> bool:
    if "json" not in reply.headers.get("content-type", "").lower():
        try:
            orjson.loads(reply.content)
        except orjson.JSONDecodeError:
            return False
        return bool(reply.content.strip()[:1] in (b"{", b"["))
    return True


def _message(reply: httpx.Response) -> str:
    """The error envelope's own words, whichever documented shape it has."""
    try:
        doc = orjson.loads(reply.content)
    except orjson.JSONDecodeError:
        return excerpt(reply.content, 80)
    for candidate in _messages(doc):
        return candidate
    return excerpt(reply.content, 80)


def _messages(doc: object) -> Iterator[str]:
    if isinstance(doc, dict):
        for key in ("message", "errors", "error", "response"):
            value = doc.get(key)
            if isinstance(value, str) and value:
                yield value
            elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                yield "; ".join(value)
            elif isinstance(value, dict):
                yield from _messages(value)
