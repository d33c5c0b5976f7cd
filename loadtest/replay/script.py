"""Read a recording (`loadtest run --record FILE`) into one script per respondent. Pure: lines in.

A script is the respondent's requests in the order it sent them, each with what the recording
saw come back, reduced to an `Observation` (see diff.py). The header line, when there is one,
names the surveys and the target's base URL; recordings made before it existed have none, and
replay then needs `--survey` or `--target`.

Lost replies. A recorded request with no reply (the run's transport lost it) may or may not
have reached the platform; the run then recovered (flow.py): a first take is sent again, anything
else is followed by a `resume` (a take with the token) whose reply shows where the respondent
was. Such a step has nothing to compare. Replay sends it only when the recording shows it landed
(a lost submit-page or previous-page whose next answered resume shows another page than the one
it was sent from), so the platform ends up where it did in the run; otherwise it is left out.

A line that is not what we expect is a RecordingError naming the line and what was expected;
the CLI turns it into one line and exit 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from loadtest.replay.diff import Observation, observe, transport_failure
from loadtest.results.recording import FORMAT

__all__ = [
    "STEPS",
    "Header",
    "Recording",
    "RecordingError",
    "Script",
    "Step",
    "fresh_url",
    "read_recording",
]

STEPS = frozenset({"take", "submit-page", "previous-page", "redirect", "resume"})


class RecordingError(ValueError):
    def __init__(self, line: int, expected: str, got: str = "") -> None:
        self.line = line
        self.expected = expected
        self.got = got
        super().__init__(f"line {line}: expected {expected}" + (f" (got {got})" if got else ""))


@dataclass(frozen=True, slots=True)
class Header:
    scenario: str | None
    seed: int | None
    target_url: str | None
    api_key_env: str
    surveys: tuple[tuple[int, str], ...]  # (survey id, file)


@dataclass(frozen=True, slots=True)
class Step:
    n: int  # 1-based, within the respondent
    line: int  # in the recording, for messages
    step: str  # take | submit-page | previous-page | redirect
    method: str
    url: str  # a path on the target, or an absolute URL (redirect)
    headers: tuple[tuple[str, str], ...]
    body: bytes
    think_s: float
    recorded: Observation
    lost: bool = False  # no reply was recorded: nothing to compare
    send: bool = True  # replay sends it (a lost step only when it landed, see the top)


@dataclass(frozen=True, slots=True)
class Script:
    index: int
    persona: str
    seed: int
    survey_id: int
    transaction_id: str | None  # from the first take's query, if it had one
    steps: tuple[Step, ...]

    @property
    def outcome(self) -> str:
        """The status the respondent ended on in the recording (a redirect follow aside)."""
        return final_status([s.recorded for s in self.steps if s.step != "redirect"])


@dataclass(frozen=True, slots=True)
class Recording:
    header: Header | None
    scripts: tuple[Script, ...]  # in the order each respondent first appears

    @property
    def survey_ids(self) -> frozenset[int]:
        return frozenset(s.survey_id for s in self.scripts)

    @property
    def requests(self) -> int:
        return sum(len(s.steps) for s in self.scripts)


def final_status(observations: list[Observation]) -> str:
    return observations[-1].status if observations else "-"


def transaction_id_of(url: str) -> str | None:
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key == "transaction_id":
            return value
    return None


def fresh_url(url: str, suffix: str) -> str:
    """The same URL with its transaction_id made fresh (`T` -> `T-suffix`), so that the platform
    opens a new response set instead of answering already_completed."""
    parts = urlsplit(url)
    if "transaction_id=" not in parts.query:
        return url
    query = [(k, f"{v}-{suffix}" if k == "transaction_id" else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def read_recording(lines: Iterable[bytes]) -> Recording:
    header: Header | None = None
    order: list[int] = []
    raw: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    seen_request = False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise RecordingError(number, "a JSON object", f"not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise RecordingError(number, "a JSON object", type(doc).__name__)
        if "recording" in doc:
            if seen_request or header is not None:
                raise RecordingError(number, "the header only as the first line")
            header = _header(number, doc)
            continue
        seen_request = True
        index = _field(number, doc, "respondent", int)
        if index not in raw:
            raw[index] = []
            order.append(index)
        raw[index].append((number, doc))
    if not order:
        raise RecordingError(0, "at least one recorded request", "none")
    scripts = tuple(_script(index, raw[index], header) for index in order)
    return Recording(header=header, scripts=scripts)


# --- internals ------------------------------------------------------------------------------
def _field(number: int, doc: dict[str, Any], key: str, kind: type | tuple[type, ...],
           within: str = "") -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        got = "missing" if key not in doc else repr(value)[:60]
        raise RecordingError(number, f'"{within}{key}": {names}', got)
    return value


def _header(number: int, doc: dict[str, Any]) -> Header:
    if doc.get("recording") != FORMAT:
        raise RecordingError(number, f'a header with "recording": "{FORMAT}"',
                             repr(doc.get("recording"))[:60])
    surveys = doc.get("surveys", [])
    if not isinstance(surveys, list) or not all(
            isinstance(s, dict) and isinstance(s.get("id"), int) and isinstance(s.get("file"), str)
            for s in surveys):
        raise RecordingError(number, 'header "surveys": a list of {"id": int, "file": str}')
    seed, key_env = doc.get("seed"), doc.get("api_key_env")
    return Header(
        scenario=doc.get("scenario") if isinstance(doc.get("scenario"), str) else None,
        seed=seed if isinstance(seed, int) else None,
        target_url=doc.get("target_url") if isinstance(doc.get("target_url"), str) else None,
        api_key_env=key_env if isinstance(key_env, str) and key_env else "LOADTEST_API_KEY",
        surveys=tuple((s["id"], s["file"]) for s in surveys),
    )


def _script(index: int, lines: list[tuple[int, dict[str, Any]]], header: Header | None) -> Script:
    first_line, first = lines[0]
    persona = _field(first_line, first, "persona", str)
    seed = _field(first_line, first, "seed", int)
    survey_id = _field(first_line, first, "survey_id", int)
    tid: str | None = None
    steps: list[Step] = []
    for n, (number, doc) in enumerate(lines, 1):
        if doc.get("persona") != persona or doc.get("survey_id") != survey_id:
            raise RecordingError(number, f"respondent {index} to stay {persona} on survey {survey_id}",
                                 f"{doc.get('persona')} on {doc.get('survey_id')}")
        step = _field(number, doc, "step", str)
        if step not in STEPS:
            raise RecordingError(number, f'"step": one of {", ".join(sorted(STEPS))}', repr(step)[:60])
        url = _field(number, doc, "url", str)
        if tid is None and step == "take":
            tid = transaction_id_of(url)
        headers = _field(number, doc, "headers", dict)
        if not all(isinstance(v, str) for v in headers.values()):
            raise RecordingError(number, '"headers": an object of strings')
        think = _field(number, doc, "think_s", (int, float))
        body = _field(number, doc, "body", str)
        steps.append(Step(
            n=n, line=number, step=step, method=_field(number, doc, "method", str), url=url,
            headers=tuple(headers.items()), body=body.encode("utf-8"), think_s=float(think),
            recorded=_recorded(number, doc, step, tid, header.target_url if header else None),
            lost=doc.get("reply") is None,
        ))
    return Script(index=index, persona=persona, seed=seed, survey_id=survey_id, transaction_id=tid,
                  steps=_mark_lost(steps))


def _mark_lost(steps: list[Step]) -> tuple[Step, ...]:
    out = []
    shown: tuple[int, ...] = ()  # the page the respondent was last shown, as recorded
    for i, step in enumerate(steps):
        if step.lost:
            landed = False
            if step.step in ("submit-page", "previous-page"):
                after = next((s for s in steps[i + 1:] if not s.lost), None)
                landed = after is not None and after.step == "resume" and after.recorded.questions != shown
            step = replace(step, send=landed)
        elif step.recorded.questions:
            shown = step.recorded.questions
        out.append(step)
    return tuple(out)


def _recorded(number: int, doc: dict[str, Any], step: str, tid: str | None,
              origin: str | None) -> Observation:
    reply = doc.get("reply")
    if reply is None:
        error = doc.get("error")
        if not isinstance(error, str):
            raise RecordingError(number, 'a "reply" object or an "error" string')
        return transport_failure(error.split(":", 1)[0])
    if not isinstance(reply, dict):
        raise RecordingError(number, '"reply": an object', type(reply).__name__)
    status = _field(number, reply, "status", int, "reply.")
    body = _field(number, reply, "body", str, "reply.")
    token = reply.get("token")
    return observe(status, body.encode("utf-8"), bool(token), step=step, transaction_id=tid, origin=origin)
