"""Admin endpoints of the reference platform (everything not under the respondent API).

    GET  /__admin/health                 liveness, with the surveys served
    GET  /__admin/stats                  requests by endpoint and status, open sessions, outcomes, quota fill
    POST /__admin/reset                  forget every response, quota count and state override
                                         (and the data API's user variables)
    POST /__admin/drop-answer            {"respid": N, "variable": "u_10002"}: delete one stored answer,
                                         so a test can show the data check catching a mismatch
    GET  /__admin/faults                 the fault plan and what it injected so far, by endpoint and kind
    PUT  /__admin/faults                 {"seed": 7, "submit-page": {"error": 0.05, ...}} (faults.py);
                                         {} switches faults off; the journal carries on
    PUT  /__admin/surveys/{id}/state     {"state": "active" | "closed" | "paused" | "suspended"}
    GET  /__admin/static-page            the first survey's first page, pre-rendered, touching no state
                                         (the baseline the capacity bench compares against)
    GET  /openapi.json                   OpenAPI 3 description of all of the above
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, get_args

import orjson

from loadtest.platform.envelopes import status_body
from loadtest.platform.faults.plan import FaultsError, parse_faults
from loadtest.platform.faults.proxy import KINDS as CONNECTION_KINDS
from loadtest.platform.faults.proxy import ConnectionFaults
from loadtest.platform.openapi import openapi_document
from loadtest.survey.model import SurveyState

if TYPE_CHECKING:
    from loadtest.platform.app import Platform

__all__ = ["route"]

_STATES = get_args(SurveyState)


def _json(status: int, payload: Any) -> tuple[int, bytes]:
    return status, orjson.dumps(payload)


def route(platform: Platform, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    if path == "/__admin/health" and method == "GET":
        return _json(200, {"status": "ok", "surveys": sorted(platform.api.surveys)})
    if path == "/__admin/stats" and method == "GET":
        return _json(200, stats(platform))
    if path == "/__admin/reset" and method == "POST":
        platform.store.reset()
        platform.api.sessions.clear()
        platform.panel.store.reset()
        platform.panel.buckets.clear()
        platform.data.reset()
        platform.requests.clear()
        if platform.sharing is not None:
            platform.shared_reset()
        return _json(200, {"status": "reset"})
    if path == "/__admin/static-page" and method == "GET":
        return 200, _static_page(platform)
    if path == "/__admin/faults" and method == "GET":
        return _json(200, _faults(platform))
    if path == "/__admin/faults" and method == "PUT":
        return _put_faults(platform, body)
    if path == "/__admin/drop-answer" and method == "POST":
        return _json(*platform.data.drop_answer(body))
    if path == "/openapi.json" and method == "GET":
        return _json(200, openapi_document(sorted(platform.api.surveys)))
    if path.startswith("/__admin/surveys/") and path.endswith("/state") and method == "PUT":
        return _set_state(platform, path, body)
    return _json(404, {"error": {"message": f"no route for {method} {path}"}})


def _summed(platform: Platform, name: str, own: Any) -> Any:
    """A figure of this process alone, or (several processes on one database) of them all."""
    if platform.sharing is None:
        return own
    platform.flush_figures(force=True)
    return platform.sharing.summed(name)


def _faults(platform: Platform) -> dict[str, Any]:
    described = platform.faults.describe()
    if platform.sharing is not None:
        journal = _summed(platform, "faults", None)
        described["injected"] = {f"{e} {k}": n for (e, k), n in sorted(journal.items())}
    return described


def stats(platform: Platform) -> dict[str, Any]:
    by_endpoint: dict[str, dict[str, int]] = {}
    outcomes: dict[str, int] = {}
    requests = _summed(platform, "requests", platform.requests)
    for (endpoint, status, outcome), n in sorted(requests.items()):
        per = by_endpoint.setdefault(endpoint, {})
        per[str(status)] = per.get(str(status), 0) + n
        if outcome:
            outcomes[outcome] = outcomes.get(outcome, 0) + n
    api = platform.api
    stored = platform.store.outcome_counts()
    surveys = {}
    for sid, survey in sorted(api.surveys.items()):
        counts = platform.store.quota_counts(sid)
        surveys[str(sid)] = {
            "state": platform.store.survey_state(sid) or survey.state,
            "responses": stored.get(sid, {}),
            "quotas": {
                q.id: {"count": counts.get(q.id, 0), "limit": api.quota_limits[sid].get(q.id, q.limit)}
                for q in survey.quotas
            },
        }
    out = {
        "requests": by_endpoint,
        "replies": outcomes,
        "open_sessions": api.sessions.open_count(),
        "sessions_rebuilt": api.sessions.rebuilt,
        "surveys": surveys,
    }
    if platform.sharing is not None:  # every process's figures, and how the requests spread over them
        out["sessions_rebuilt"] = platform.sharing.summed("rebuilt")[()]  # each wrote [[n]]: no key, n
        out["stale_retries"] = platform.sharing.summed("stale_retries")[()]
        out["requests_by_worker"] = platform.sharing.per_worker("requests")
    return out


def _set_state(platform: Platform, path: str, body: bytes) -> tuple[int, bytes]:
    raw_id = path[len("/__admin/surveys/") : -len("/state")]
    if not raw_id.isdecimal() or int(raw_id) not in platform.api.surveys:
        return _json(404, {"error": {"message": f"no survey {raw_id!r}"}})
    try:
        state = orjson.loads(body).get("state")
    except (orjson.JSONDecodeError, AttributeError):
        state = None
    if state not in _STATES:
        return _json(400, {"error": {"message": f"expected {{\"state\": one of {', '.join(_STATES)}}}"}})
    platform.set_survey_state(int(raw_id), state)
    return _json(200, {"survey": int(raw_id), "state": state})


def _static_page(platform: Platform) -> bytes:
    if platform.static_page is None:
        platform.static_page = _render_static(platform)
    return platform.static_page


def _render_static(platform: Platform) -> bytes:
    api = platform.api
    survey = api.surveys[min(api.surveys)]
    page = survey.pages[0]
    questions = api.renderers[survey.id].questions(page, survey.languages[0])
    return status_body("success", None, questions=questions).body


def _put_faults(platform: Platform, body: bytes) -> tuple[int, bytes]:
    try:
        doc = orjson.loads(body or b"{}")
        plan = parse_faults(doc, "PUT /__admin/faults")
    except orjson.JSONDecodeError:
        return _json(400, {"error": {"message": "PUT /__admin/faults: expected a JSON object"}})
    except FaultsError as exc:
        return _json(400, {"error": {"message": str(exc)}})
    running = platform.faults.connection  # the proxy in front, if the platform was started with one
    if plan.connection is not None and running is None:
        message = ("PUT /__admin/faults: faults.connection: expected a platform started with --faults FILE whose "
                   "[faults.connection] puts the proxy in front")
        return _json(400, {"error": {"message": message}})
    if running is not None:  # the proxy keeps its object: change it in place (none given: all off)
        new = plan.connection or ConnectionFaults(seed=running.seed)
        for key in ("seed", *CONNECTION_KINDS, "refuse", "hang_s", "slow_close_s"):
            setattr(running, key, getattr(new, key))
        plan.connection = running
    plan.journal = platform.faults.journal  # what was injected before stays counted
    platform.faults = plan
    if platform.sharing is not None:  # every process applies the same plan (no proxy: see command.py)
        platform.set_shared_faults(doc)
    return _json(200, _faults(platform))
