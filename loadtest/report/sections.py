"""report.html's sections for what a survey QA engineer reads first: the run's settings, the
requests (a request that got no reply is shown as such, never as 0 ms), expected and unexpected
outcomes per persona, the page funnel of each survey with its validation errors, terminate
reasons and full quota cells, and the length of interview.

Each takes the summary and html_report's own table and figure helpers, so the report keeps one
look; each returns "" when the summary has nothing for it (an older run folder)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from loadtest.report.survey_charts import funnel_pages_chart, interview_chart

__all__ = ["interview_section", "personas_section", "requests_table", "settings_section", "survey_sections"]

Table = Callable[..., str]
Figure = Callable[[Any, str], str]
NO_REPLY = "no reply"


def _outcomes(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if v) or "-"


def settings_section(s: dict[str, Any], table: Table) -> str:
    load = s.get("load") or {}
    shape = ", ".join(f"{k} {v}" for k, v in load.items() if v not in (None, [], {}, ()) and k != "stages")
    if load.get("stages"):
        shape += f", {len(load['stages'])} stages"
    limits = ", ".join(f"{name} {lim['target']:g} req/s" for name, lim in (s.get("limits") or {}).items()) or "none"
    mix = ", ".join(f"{k}={v}" for k, v in (s.get("mix") or {}).items())
    rows = [["scenario", f"{s.get('scenario', '')} ({s.get('scenario_file', '')})"], ["seed", s.get("seed", "")],
            ["target", s.get("target", "")], ["driver", s.get("driver", "engine")], ["load", shape or "-"],
            ["limits", limits], *([["persona mix", mix]] if mix else []),
            ["transaction ids", f"{s.get('transaction_prefix') or ''}…"], ["run folder", s.get("run_dir", "")]]
    if s.get("interrupted"):
        rows.append(["interrupted", "yes: the figures cover the run up to the stop"])
    return "<h2>Settings</h2>" + table(["", ""], [[k, str(v)] for k, v in rows])


def requests_table(s: dict[str, Any], table: Table) -> str:
    """Per step; requests without a reply are their own column, and a step none of whose requests
    got a reply shows "no reply" where its latencies would be."""
    rows, bad = [], []
    for step, v in s.get("requests", {}).items():
        lost = int(v.get("http_statuses", {}).get("0", 0))
        replied = v["count"] - lost
        latency = ([v["p50_ms"], v["p95_ms"], v["p99_ms"], v["max_ms"], v["corrected"]["p99_ms"]] if replied
                   else [NO_REPLY] * 5)
        rows.append([step, v["count"], v["failures"], v.get("rate_limited", 0), lost, *latency])
        bad.append(lost > 0)
    return table(["step", "count", "failures (>= 400 or none)", "of them 429", "no reply", "p50 ms", "p95 ms", "p99 ms",
                  "max ms", "corrected p99 ms"], rows, bad)


def personas_section(s: dict[str, Any], table: Table) -> str:
    personas = s.get("personas") or {}
    if not personas:
        return ""
    rows, bad = [], []
    for name, p in personas.items():
        incomplete = p["outcomes"].get("incomplete", 0)
        expected = p["respondents"] - p["unexpected"] - incomplete
        rows.append([name, p["respondents"], expected, p["unexpected"], incomplete, _outcomes(p["outcomes"])])
        bad.append(p["unexpected"] > 0)
    return ("<h2>Expected and unexpected outcomes per persona</h2>"
            + table(["persona", "respondents", "expected", "unexpected", "cut off (incomplete)", "outcomes"], rows,
                    bad))


def survey_sections(s: dict[str, Any], table: Table, figure: Figure) -> str:
    parts = []
    for sid, survey in (s.get("funnel") or {}).items():
        block = survey["all"]
        title = f"Survey {sid}" + (f": {survey['title']}" if survey.get("title") else "")
        parts.append(f"<h2>{html.escape(title)}: the funnel by page</h2>")
        parts.append(figure(funnel_pages_chart(sid, block), f"funnel-{sid}"))
        rows = [["(entry)", "", block["respondents"], block["respondents"] - sum(block["ended_before_first_page"]
                                                                                .values()), "", "",
                 _outcomes(block["ended_before_first_page"])]]
        rows += [[p["page"], ", ".join(map(str, p["questions"])), p["reached"], p["answered"],
                  p["reached"] - p["answered"], p.get("validation_errors", 0), _outcomes(p["ended"])]
                 for p in block["pages"]]
        parts.append(table(["page", "questions", "reached", "answered", "not answered", "validation errors",
                            "ended there"], rows))
        invalid = [p for p in block["pages"] if p.get("validation_errors", 0)]
        if invalid:
            parts.append("<h3>Validation errors by page</h3>" + table(
                ["page", "questions", "validation errors", "of respondents reaching it"],
                [[p["page"], ", ".join(map(str, p["questions"])), p.get("validation_errors", 0), p["reached"]]
                 for p in sorted(invalid, key=lambda p: -p.get("validation_errors", 0))]))
        by_question = s.get("validation_errors_by_question", {}).get(str(sid), {})
        if by_question:
            parts.append("<h3>Validation errors by question</h3>" + table(
                ["question", "validation errors naming it"], [[q, n] for q, n in by_question.items()]))
        reasons = [["terminated", k, v] for k, v in block.get("terminate_reasons", {}).items()]
        reasons += [["quota full", k, v] for k, v in block.get("quota_full_cells", {}).items()]
        if reasons:
            parts.append("<h3>Terminate reasons and full quota cells</h3>"
                         + table(["outcome", "reason / quota cell", "respondents"], reasons))
        by_persona = [[name, b["respondents"], len(b["pages"]),
                       sum(p.get("validation_errors", 0) for p in b["pages"]),
                       _outcomes({**b["ended_before_first_page"], **{
                           f"{o} at {p['page']}": n for p in b["pages"] for o, n in p["ended"].items()}})]
                      for name, b in survey["personas"].items()]
        parts.append("<details><summary>Per persona</summary>" + table(
            ["persona", "respondents", "pages reached", "validation errors", "where they ended"], by_persona)
            + "</details>")
    return "".join(parts)


def _lengths(f: dict[str, Any]) -> list[Any]:
    t = f["planned_think"]
    return [f["count"], f["p50_s"], f["p90_s"], f["p99_s"], f["max_s"], t["p50_s"], t["p90_s"]]


def interview_section(s: dict[str, Any], table: Table, figure: Figure) -> str:
    interview = s.get("interview") or {}
    if not interview.get("by_outcome"):
        return ""
    head = ["respondents", "p50 s", "p90 s", "p99 s", "max s", "planned think p50 s", "planned think p90 s"]
    speeder = interview.get("speeder_min_seconds") or {}
    note = ("<p class=\"muted\">speeder rule: " + ", ".join(f"survey {k}: a complete faster than {v:g} s is "
                                                           f"terminated" for k, v in speeder.items()) + "</p>"
            if speeder else "")
    by_both = [[persona, outcome, *_lengths(f)] for persona, outcomes in interview["by_persona_outcome"].items()
               for outcome, f in outcomes.items()]
    return ("<h2>Length of interview</h2>" + note + figure(interview_chart(interview), "interview-length")
            + table(["outcome", *head], [[o, *_lengths(f)] for o, f in interview["by_outcome"].items()])
            + table(["persona", *head], [[p, *_lengths(f)] for p, f in interview["by_persona"].items()])
            + "<details><summary>By persona and outcome</summary>"
            + table(["persona", "outcome", *head], by_both) + "</details>")
