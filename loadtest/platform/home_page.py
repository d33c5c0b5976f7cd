"""`GET /` on the reference platform: a small page for a client developer. The surveys served,
every endpoint (from the same description /openapi.json serves, so the two never disagree) and a
copy-paste curl walk through take, submit-page and previous-page whose first submit is a valid
answer to the first page of the first survey, worked out from the page as the API renders it."""

from __future__ import annotations

import html
import shlex
from typing import TYPE_CHECKING

import orjson

from loadtest.core.answers import Answerer
from loadtest.core.page import parse_reply
from loadtest.core.rng import RespondentRandom
from loadtest.local_defaults import DEFAULT_API_KEY
from loadtest.platform.envelopes import status_body
from loadtest.platform.openapi import openapi_document
from loadtest.survey.model import Survey

if TYPE_CHECKING:
    from loadtest.platform.app import Platform

__all__ = ["first_page_form", "home_page"]

METHODS = ("get", "post", "put", "patch", "delete")
STYLE = ("body{font-family:system-ui,sans-serif;max-width:1000px;margin:1rem auto;padding:0 1rem;color:#222}"
         "td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}table{border-collapse:collapse}"
         "pre{background:#f5f5f5;padding:.8rem;overflow-x:auto}code{background:#f5f5f5}")


def _text(low: int, high: int) -> str:
    return ("a fine visit " * 20)[:max(low, min(high, 12))].rstrip() or "ok"


def first_page_form(platform: Platform, survey: Survey) -> dict[str, object]:
    """A valid submit-page body for `survey`'s first page that no screener or chain answer ends."""
    page = survey.pages[0]
    rendered = status_body("success", None, questions=platform.api.renderers[survey.id].questions(
        page, survey.languages[0])).body
    answerer = Answerer(RespondentRandom(1), _text)
    form: dict[str, object] = {}
    for question in parse_reply(200, rendered).questions:
        model = survey.question(question.id)
        keep = next((str(a.id) for a in (model.answers if model else ()) if not (a.terminate or a.chain)), None)
        form.update(answerer.answer(question, prefer=keep))
    return form


def _walk(platform: Platform, base: str) -> str:
    survey = platform.api.surveys[min(platform.api.surveys)]
    api = f"{base}/a/api/v2/surveys/{survey.id}"
    form = orjson.dumps(first_page_form(platform, survey)).decode()
    # The local default key is no secret (local_defaults.py); any other key is never printed.
    key = "api-key: " + (DEFAULT_API_KEY if platform.config.api_key == DEFAULT_API_KEY else "$LOADTEST_API_KEY")
    return "\n".join([
        f"K={shlex.quote(key)}",
        f"curl -si {shlex.quote(api + '/take?transaction_id=dev-1')} -H \"$K\"      # note the x-survey-token header",
        "T=...                                # paste it here; echo the newest one on every call",
        f"curl -si {shlex.quote(api + '/submit-page')} -H \"$K\" -H \"x-survey-token: $T\" \\",
        f"     -H 'content-type: application/json' -d {shlex.quote(form)}",
        f"curl -si {shlex.quote(api + '/previous-page')} -H \"$K\" -H \"x-survey-token: $T\"   # back to page 1",
        f"curl -s {shlex.quote(base + '/__admin/stats')}                  # what the platform recorded",
    ])


def home_page(platform: Platform, host: str) -> bytes:
    base = f"http://{host or '127.0.0.1'}"
    surveys = sorted(platform.api.surveys.values(), key=lambda s: s.id)
    doc = openapi_document([s.id for s in surveys])
    endpoints = "".join(
        f"<tr><td>{m.upper()}</td><td><code>{html.escape(path)}</code></td>"
        f"<td>{html.escape(op.get('summary', ''))}</td></tr>"
        for path, ops in doc["paths"].items() for m, op in ops.items() if m in METHODS)
    listed = "".join(f"<tr><td>{s.id}</td><td>{html.escape(s.title)}</td><td>{len(s.pages)}</td>"
                     f"<td>{html.escape(platform.store.survey_state(s.id) or s.state)}</td></tr>" for s in surveys)
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>loadtest reference platform"
            f"</title><style>{STYLE}</style></head><body><h1>loadtest reference survey platform</h1>"
            f"<p>The QuestionPro v2 respondent API (take, submit-page, previous-page, responses), the TheoremReach "
            f"DIY panel API and the Forsta respondent data API, on one machine. Described in full at "
            f"<a href=\"/openapi.json\">/openapi.json</a>.</p>"
            f"<h2>Surveys</h2><table><tr><th>id</th><th>title</th><th>pages</th><th>state</th></tr>{listed}</table>"
            f"<h2>A respondent by hand</h2><pre>{html.escape(_walk(platform, base))}</pre>"
            f"<h2>Endpoints</h2><table><tr><th>method</th><th>path</th><th></th></tr>{endpoints}</table>"
            f"</body></html>").encode()
