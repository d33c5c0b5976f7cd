"""A scenario written from a survey map: personas that reach every outcome the map found.

`[answers]` pins every single-choice question to an answer that led on and ends no walk (so
completers pass every screener and keep clear of the quota cells met); a screenout persona gives
the terminating answer; a quota chaser the answer that met quota_full; a chainer the answer that
redirected; a speeder and a straightliner when their rules were met. Every value carries a comment
saying which respondent showed it (its seed reproduces it). `follow_redirects` is left to the
user: exploring followed none. It reads only the map's JSON, so a saved map works as well.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Origin", "scenario_text"]

# The explorer thinks 0.4-1.0 s a question, the personas from 0.3 s: scaled by this, their fastest
# walk is no faster than the explorers' fastest, which met no speeder rule.
PERSONA_THINK_RATIO = 0.4 / 0.3


@dataclass(frozen=True)
class Origin:
    """Where the map came from, as the written scenario must say it."""

    target: str  # "embedded" or a URL
    survey_id: int
    survey_files: tuple[Path, ...] = ()  # for "embedded"
    api_key_env: str = "LOADTEST_API_KEY"
    think_scale: float = 1.0  # the explorers' own
    seed: int = 1
    extra: dict[str, Any] = field(default_factory=dict)  # the explored scenario's HTTP settings, as TOML values


def _v(value: Any) -> str:
    """A TOML value (strings, numbers, booleans, arrays and tables of them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return orjson.dumps(value).decode()  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_v(x) for x in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_v(x)}" for k, x in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def _key(k: Any) -> str:
    k = str(k)
    return k if k and all(c.isascii() and (c.isalnum() or c in "-_") for c in k) else orjson.dumps(k).decode()


def _who(entry: dict[str, Any]) -> str:
    return f"respondent {entry['walk']}, seed {entry['seed']}"


def scenario_text(doc: dict[str, Any], origin: Origin, written_to: Path) -> str:
    """The scenario's TOML, commented; `written_to` makes the survey paths relative to it."""
    used = doc["used"]
    how = "every branch found was explored" if doc["stopped"] == "explored" else "the budget ran out: " + doc["stopped"]
    lines = [
        f"# Written by `loadtest explore` from its map of survey {doc['survey_id']} at {doc['target']}",
        f"# ({used['respondents']} exploring respondents, {used['requests']} requests; "
        f"{how}).",
        "# Each value below says which respondent showed it; its seed and plan in survey-map.json reproduce it.",
        "",
        "[scenario]",
        f"name = {_v('explored-' + str(doc['survey_id']))}",
        f"seed = {origin.seed}",
    ]
    if origin.target == "embedded":
        files = [_near(f, written_to.parent) for f in origin.survey_files]
        lines += ['target = "embedded"', f"surveys = {_v(files)}"]
    else:
        lines += [f"target = {_v(origin.target)}"]
    lines += [f"survey_id = {origin.survey_id}", f"api_key_env = {_v(origin.api_key_env)}"]
    for key, value in origin.extra.items():
        lines.append(f"{key} = {_v(value)}")
    own = doc.get("target_host")
    hosts = sorted({"the target itself" if h == own else h for hs in doc.get("redirect_hosts", {}).values()
                    for h in hs})
    lines.append(f"# follow_redirects = [\"target\"]   # left to you: redirects went to "
                 f"{', '.join(hosts) or 'no host'}; exploring followed none")
    scale = round(max(origin.think_scale, 0.01) * PERSONA_THINK_RATIO, 3)
    fast = [w["walk"] for w in doc.get("walks", []) if w["plan"]["purpose"] != "speeder"
            and ((w.get("details") or {}).get("terminateReason") or {}).get("rule") == "speeder"]
    if fast:
        lines.append(f"think_scale = {2 * scale}   # exploring respondents {', '.join(map(str, fast[:5]))} were "
                     f"speeders at {origin.think_scale:g} x their pace: the personas take twice that")
    else:
        lines.append(f"think_scale = {scale}   # exploring respondents answered at {origin.think_scale:g} x their "
                     "pace without meeting a speeder rule; the personas think a little faster, so theirs is raised")
    personas = _personas(doc)
    weights = sum(w for _, w, _ in personas)
    lines += ["", "[load]", 'model = "closed"', f"concurrency = {min(8, 2 * weights)}", f"respondents = {2 * weights}",
              "duration_s = 600",
              "", "# Answers every persona gives unless it says otherwise: each led on and ended no walk."]
    lines.append("[answers]")
    for a in doc.get("recommended_answers", []):
        others = f"; {', '.join(a['others_ending'])}" if a["others_ending"] else ""
        lines.append(f"{a['question']} = \"{a['answer']}\"   # {_quote(a['text'])}: led to {a['led_to']} "
                     f"({_who(a)}){others}")
    for name, weight, body in personas:
        lines += ["", f"[personas.{name}]", f"weight = {weight}", *body]
    if not doc.get("quota_cells"):
        lines += ["", f"# No quota chaser: no answer met quota_full within the budget ({used['respondents']} "
                  "respondents). A cell is met only once it is full; explore again with more --respondents."]
    if not doc.get("screeners"):
        lines += ["", "# No screenout persona: no answer terminated a respondent."]
    lines += ["", "[thresholds]", "unexpected = 0   # every respondent ends as its persona expects", ""]
    return "\n".join(lines)


def _near(path: Path, folder: Path) -> str:
    """A survey path relative to the written scenario when that is short, else absolute."""
    rel = os.path.relpath(path, folder)
    return rel if rel.count("..") <= 1 else str(Path(path).resolve())


def _quote(text: str) -> str:
    return '"' + " ".join(str(text).split())[:50].replace('"', "'") + '"'


def _personas(doc: dict[str, Any]) -> list[tuple[str, int, list[str]]]:
    """(name, weight, the table's other lines)."""
    out: list[tuple[str, int, list[str]]] = [("completer", 2, [])]
    screener = next((s for s in doc.get("screeners", []) if _screener_kind(s)), None)
    if screener is not None:
        out.append(("screenout", 1, [f"answers = {{ {screener['question']} = \"{screener['answer']}\" }}   # "
                                     f"{_quote(screener['text'])}: terminated ({_reason(screener)}; "
                                     f"{_who(screener)})"]))
    cells = doc.get("quota_cells", [])
    if cells:
        c = cells[0]
        name = f" {c['quota_id']}" if c.get("quota_id") else ""
        out.append(("quota_chaser", 1, [f"answers = {{ {c['question']} = \"{c['answer']}\" }}   # {_quote(c['text'])}: "
                                        f"quota_full{name} after {c['completes_before']} completes with it "
                                        f"({_who(c)})"]))
    chains = doc.get("chains", [])
    if chains:
        c = chains[0]
        out.append(("chainer", 1, ['script = "completer"', 'expects = ["redirect"]',
                                   f"answers = {{ {c['question']} = \"{c['answer']}\" }}   # {_quote(c['text'])}: "
                                   f"redirect to {c['host']} ({_who(c)})"]))
    quality = doc.get("quality", {})
    speeder = quality.get("speeder", {})
    if speeder.get("found"):
        out.append(("speeder", 1, [f"# no think time at all: terminated ({_reason(speeder)}; {_who(speeder)})"]))
    straight = quality.get("straightlining", {})
    if straight.get("found"):
        grids = ", ".join(map(str, straight.get("grids") or ()))
        out.append(("straightliner", 1, [f"# grid {grids} in one column: terminated ({_reason(straight)}; "
                                         f"{_who(straight)})"]))
    return out


def _screener_kind(entry: dict[str, Any]) -> bool:
    reason = entry.get("reason")
    return not isinstance(reason, dict) or reason.get("kind") in (None, "screener")


def _reason(entry: dict[str, Any]) -> str:
    reason = entry.get("reason")
    if isinstance(reason, dict):
        return ":".join(str(reason[k]) for k in ("kind", "rule") if k in reason) or "no reason given"
    return str(reason) if reason else "no reason given"
