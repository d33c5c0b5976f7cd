"""What a reply showed, and how a replayed reply differs from the recorded one. Pure.

An `Observation` keeps only what replay compares, chosen so that an unchanged platform gives
equal observations however many times it is asked:

- `status`: the API status of a 2xx reply (`success`, `terminated`, ...), `http_NNN` for any other
  HTTP status, `contract_error` for a 2xx reply the API does not allow, `transport_error` when no
  complete reply came back. A followed redirect is compared by its HTTP status alone.
- `questions`: the ids of the questions on the page shown, in order.
- `validation_errors`: (question id, message) pairs.
- the outcome's details: `terminate_reason` (kind and rule), `quota_id` (a panel quota's, which the
  DIY API names with a random UUID on each set-up, as `{panel quota}`), and `redirect_url` with the
  respondent's transaction id and the target's base URL written as `{transaction_id}` / `{target}`
  (replay uses fresh transaction ids and, usually, another port).
- `error`: an HTTP error's name and message (never its request id).
- `token`: whether an x-survey-token header came back (not its value: tokens are always fresh).

Left out on purpose: tokens' values, request ids, timings, progress, texts the platform may render
differently (question wording, HTML). `compare` lists the fields that differ; a respondent's
replay stops at the first step with any.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from loadtest.core.errors import ServerContractError
from loadtest.core.page import HTTP_ERROR, TERMINAL, parse_reply

__all__ = [
    "PANEL_QUOTA",
    "Divergence",
    "FieldDiff",
    "Observation",
    "RespondentReplay",
    "compare",
    "format_divergence",
    "format_value",
    "normalise_url",
    "observe",
    "report_json",
    "summary_line",
    "transport_failure",
]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
PANEL_QUOTA = "{panel quota}"


@dataclass(frozen=True, slots=True)
class Observation:
    status: str
    http: int = 0
    questions: tuple[int, ...] = ()
    validation_errors: tuple[tuple[int | None, str], ...] = ()
    terminate_reason: str | None = None
    quota_id: str | None = None
    redirect_url: str | None = None
    error: str | None = None
    token: bool = False

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True, slots=True)
class FieldDiff:
    field: str
    recorded: Any
    replayed: Any


@dataclass(frozen=True, slots=True)
class Divergence:
    step: int  # 1-based, within the respondent
    request: str  # take | submit-page | previous-page | redirect | (cap)
    on_page: tuple[int, ...]  # question ids of the page the request was made from (recorded)
    body: str  # the request body sent (empty for GETs)
    fields: tuple[FieldDiff, ...]


@dataclass(frozen=True, slots=True)
class RespondentReplay:
    index: int
    persona: str
    seed: int
    survey_id: int
    steps_recorded: int
    steps_replayed: int
    recorded_outcome: str
    replayed_outcome: str  # the status the replay ended on (where it stopped, when it diverged)
    divergence: Divergence | None = None

    @property
    def identical(self) -> bool:
        return self.divergence is None


def normalise_url(url: str, transaction_id: str | None, origin: str | None) -> str:
    """`url` with the transaction id and the target's base URL replaced by placeholders."""
    if transaction_id:
        url = url.replace(transaction_id, "{transaction_id}")
    if origin:
        base = origin.rstrip("/")
        if url.startswith(base + "/") or url == base:
            url = "{target}" + url[len(base):]
    return url


def observe(http_status: int, body: bytes, token: bool, *, step: str = "take",
            transaction_id: str | None = None, origin: str | None = None) -> Observation:
    """Reduce a reply to what replay compares. `transaction_id` and `origin` are the ones this
    side (recording or replay) used, for normalising redirect URLs."""
    if step == "redirect":
        return Observation(status=f"http_{http_status}", http=http_status)
    try:
        page = parse_reply(http_status, body)
    except ServerContractError as exc:
        return Observation(status="contract_error", http=http_status, error=str(exc).split(" (HTTP ", 1)[0],
                           token=token)
    if page.status == HTTP_ERROR:
        assert page.error is not None
        error = f"{page.error.name}: {page.error.message}" if page.error.name else page.error.message
        return Observation(status=f"http_{http_status}", http=http_status, error=error, token=token)
    reason = page.details.get("terminateReason")
    if isinstance(reason, dict):
        # "screener" (kind and rule alike), "quality / speeder"
        parts = dict.fromkeys(str(reason[k]) for k in ("kind", "rule") if k in reason)
        reason_text: str | None = " / ".join(parts) or str(reason)
    else:
        reason_text = None if reason is None else str(reason)
    quota = page.details.get("quotaId")
    return Observation(
        status=page.status,
        http=http_status,
        questions=tuple(q.id for q in page.questions),
        validation_errors=tuple(page.validation_errors),
        terminate_reason=reason_text,
        quota_id=None if quota is None else _UUID.sub(PANEL_QUOTA, str(quota)),
        redirect_url=normalise_url(page.redirect_url, transaction_id, origin) if page.redirect_url else None,
        token=token,
    )


def transport_failure(kind: str = "TransportError") -> Observation:
    """No complete reply. Only the kind of failure is compared, not its wording."""
    return Observation(status="transport_error", error=kind)


def compare(recorded: Observation, replayed: Observation) -> tuple[FieldDiff, ...]:
    """The fields in which the replayed reply differs from the recorded one (empty: identical)."""
    out = []
    for f in fields(Observation):
        if f.name == "http" and recorded.status != replayed.status:
            continue  # the status already says it (http_404 vs success)
        a, b = getattr(recorded, f.name), getattr(replayed, f.name)
        if a != b:
            out.append(FieldDiff(f.name, a, b))
    return tuple(out)


# --- presenting -------------------------------------------------------------------------------
def format_value(value: Any) -> str:
    if value is None or value == ():
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # validation errors
        return "; ".join(f"{qid}: {message}" for qid, message in value)
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def format_divergence(r: RespondentReplay) -> str:
    """A few readable lines: who, where, and each field recorded vs replayed."""
    d = r.divergence
    if d is None:
        return (f"respondent {r.index} ({r.persona}): identical "
                f"({r.steps_replayed} steps, {r.recorded_outcome})")
    page = f" on page {format_value(d.on_page)}" if d.on_page else ""
    lines = [(f"respondent {r.index} ({r.persona}, survey {r.survey_id}, seed {r.seed}): diverged at step "
              f"{d.step} of {r.steps_recorded}, {d.request}{page}")]
    if d.body:
        lines.append(f"    sent {_clip(d.body)}")
    width = max(len(f.field) for f in d.fields)
    for f in d.fields:
        lines.append(f"    {f.field:<{width}}  recorded {format_value(f.recorded)}  |  "
                     f"replayed {format_value(f.replayed)}")
    lines.append(f"    outcome: recorded {r.recorded_outcome}, replay stopped at {r.replayed_outcome}")
    return "\n".join(lines)


def summary_line(results: list[RespondentReplay]) -> str:
    diverged = sum(1 for r in results if not r.identical)
    return (f"replay: {len(results)} respondents replayed, {len(results) - diverged} identical, "
            f"{diverged} diverged")


def report_json(results: list[RespondentReplay], **about: Any) -> dict[str, Any]:
    """The --report document: what was replayed, the counts, and every divergence."""
    diverged = [r for r in results if not r.identical]
    return {
        **about,
        "respondents": len(results),
        "identical": len(results) - len(diverged),
        "diverged": len(diverged),
        "divergences": [_respondent_json(r) for r in diverged],
    }


def _respondent_json(r: RespondentReplay) -> dict[str, Any]:
    doc = asdict(r)
    d = r.divergence
    assert d is not None
    doc["divergence"] = {
        "step": d.step, "request": d.request, "on_page": list(d.on_page), "body": d.body,
        "fields": [{"field": f.field, "recorded": _jsonable(f.recorded), "replayed": _jsonable(f.replayed)}
                   for f in d.fields],
    }
    return doc


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
