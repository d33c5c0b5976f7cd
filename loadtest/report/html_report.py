"""report.html: one self-contained file (plotly's JavaScript inlined, so it opens offline) with
the verdict, the threshold table, the most frequent errors, latency over time and its
distribution per step, throughput, limits against their targets, the outcome funnel per persona,
the panel reconciliation, the data read-back, the ingestion steps and, when there is one, the
comparison with a baseline."""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

import plotly.graph_objects as go

from loadtest.report import charts
from loadtest.report.plotly_bundle import check_traces, plotly_basic_js
from loadtest.report.sections import (
    interview_section,
    personas_section,
    requests_table,
    settings_section,
    survey_sections,
)
from loadtest.report.stage_section import stage_section
from loadtest.report.survey_charts import mark_no_reply, thin_rows
from loadtest.results.interruption import interruption_text
from loadtest.results.interruption import verdict as verdict_of

__all__ = ["render_html"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem 2rem; color: #222; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
.verdict { display: inline-block; padding: .2rem .8rem; border-radius: 4px; color: #fff; font-weight: bold; }
.passed { background: #2e7d32; } .failed { background: #c62828; } .interrupted { background: #ef6c00; }
p.interrupted { background: none; color: #ef6c00; font-weight: bold; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { border: 1px solid #ddd; padding: .25rem .6rem; }
th { background: #f5f5f5; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.bad td { background: #ffebee; } .muted { color: #777; }
"""


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    return plotly_basic_js()  # the basic bundle: a quarter of the full one, and every trace drawn here


def _figure(fig: go.Figure, div_id: str) -> str:
    check_traces(fig)
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def _table(head: list[str], rows: list[list[Any]], bad: list[bool] | None = None) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for i, row in enumerate(rows):
        cls = ' class="bad"' if bad and bad[i] else ""
        cells = "".join(f'<td class="num">{v}</td>' if isinstance(v, (int, float))
                        else f"<td>{html.escape(str(v))}</td>" for v in row)
        out.append(f"<tr{cls}>{cells}</tr>")
    return "".join(out) + "</table>"


def _result_section(title: str, result: dict[str, Any] | None, what: str) -> str:
    if not result:
        return ""
    verdict = "passed" if result.get("passed") else "failed"
    rows = [[k, v] for k, v in result.items() if k not in ("mismatches", "passed") and not isinstance(v, (dict, list))]
    rows += [[f"problem: {k}", v] for k, v in (result.get("problems") or {}).items()]
    body = _table(["", ""], rows)
    mismatches = result.get("mismatches") or []
    if mismatches:
        keys = list(mismatches[0])
        body += f"<p>First {min(len(mismatches), 50)} {what}:</p>" + _table(keys, [[m.get(k, "") for k in keys]
                                                                              for m in mismatches[:50]])
    return f'<h2>{title} <span class="verdict {verdict}">{verdict.upper()}</span></h2>{body}'


def _comparison(c: dict[str, Any] | None) -> str:
    if not c:
        return ""
    rows, bad = [], []
    for step, row in c["steps"].items():
        if "only_in" in row:
            continue
        for p in ("p50", "p95", "p99"):
            r = row[p]
            change = f"{r['change']:+.1%}" if r["change"] is not None else "n/a"
            rows.append([step, p, r["baseline_ms"], r["run_ms"], change])
            bad.append(r["regressed"])
    verdict = "passed" if c["passed"] else "failed"
    shares = _table(["outcome", "baseline share", "run share", "shift"],
                    [[k, v["baseline"], v["run"], f"{v['shift']:+.1%}"] for k, v in c["outcome_shares"].items()],
                    [v["regressed"] for v in c["outcome_shares"].values()])
    e = c["error_ratio"]
    return (f'<h2>Compared with the baseline <span class="verdict {verdict}">'
            f'{"NO REGRESSION" if c["passed"] else "REGRESSED"}'
            f'</span></h2><p class="muted">baseline: {html.escape(str(c["baseline"]))}</p>'
            + _table(["step", "percentile", "baseline ms", "run ms", "change"], rows, bad) + shares
            + f"<p>error ratio: {e['baseline']:.2%} &rarr; {e['run']:.2%}</p>"
            + "".join(f"<p><b>{html.escape(r)}</b></p>" for r in c["regressions"]))


def _ingest_table(steps: list[dict[str, Any]]) -> str:
    def first(e: dict[str, Any] | None) -> str:
        return f"HTTP {e['status']} {e['message']} ({e['item']})" if e else ""

    rows = [[s["api"], s["survey_id"], s["persona"], s["count"], s["created"], s["refused"], s["not_generated"],
             s["not_sent"], first(s["first_error"]) or s.get("first_walk_error") or ""] for s in steps]
    return _table(["api", "survey", "persona", "count", "created", "refused", "not generated", "not sent",
                   "first problem"], rows, [not s["passed"] for s in steps])


def _errors_table(errors: list[dict[str, Any]], distinct: int) -> str:
    note = f'<p class="muted">the {len(errors)} most frequent of {distinct}</p>' if distinct > len(errors) else ""
    return note + _table(["count", "kind", "step", "blame", "message", "first respondent (index, seed)"],
                         [[e["count"], e["kind"], e["step"] or "-", e["blame"], e["message"],
                           f"#{e['first_index']}, seed {e['first_seed']}"] for e in errors],
                         [e["kind"] == "error" for e in errors])


def render_html(summary: dict[str, Any], rows: list[dict[str, Any]], comparison: dict[str, Any] | None = None) -> str:
    charts.use_look()
    s = summary
    verdict = verdict_of(s).lower()
    thresholds = _table(["threshold", "value", "limit", ""],
                        [[t["name"], t["value"], t["limit"], "ok" if t["passed"] else "FAIL"]
                         for t in s.get("thresholds", [])],
                        [not t["passed"] for t in s.get("thresholds", [])])
    steps = requests_table(s, _table)  # a request without a reply is counted as such, never as 0 ms
    parts = [f"<h1>{html.escape(s.get('scenario', 'run'))} "
             f"<span class=\"verdict {verdict}\">{verdict.upper()}</span></h1>",
             *([f"<p class=\"interrupted\">Interrupted by {html.escape(interruption_text(s))}: the figures "
                "cover the run up to the stop.</p>"] if s.get("interrupted") else []),
             f"<p class=\"muted\">{s.get('respondents', 0)} respondents in {s.get('duration_s', 0):.1f} s against "
             f"{html.escape(str(s.get('target')))} &middot; seed {s.get('seed')} &middot; "
             f"driver {s.get('driver', 'engine')} &middot; {html.escape(str(s.get('run_dir', '')))}</p>",
             "<h2>Thresholds</h2>", thresholds, "<h2>Requests</h2>", steps]
    if s.get("errors"):
        parts += ["<h2>Errors</h2>", _errors_table(s["errors"], s.get("errors_distinct", len(s["errors"])))]
    parts += [personas_section(s, _table), survey_sections(s, _table, _figure), interview_section(s, _table, _figure)]
    if s.get("ingest"):  # [[ingest]] steps, before the live run
        parts += ["<h2>Ingestion</h2>", _ingest_table(s["ingest"])]
    if rows:
        drawn = thin_rows(rows)  # long runs in windows; seconds without a reply as gaps, marked apart
        parts += [_figure(mark_no_reply(charts.latency_over_time(drawn), rows), "latency-over-time"),
                  _figure(charts.throughput_over_time(drawn), "throughput")]
    if s.get("histograms"):
        parts.append(_figure(charts.latency_histograms(s["histograms"]), "latency-histograms"))
    parts.append(stage_section(s, _table, _figure))  # planned vs achieved, and each stage's figures
    if s.get("limits"):
        parts += ["<h2>Limits</h2>", _figure(charts.limits_chart(s["limits"]), "limits")]
    if s.get("personas"):
        parts += ["<h2>Outcomes per persona</h2>", _figure(charts.funnel_chart(s["personas"]), "funnel")]
    if s.get("callbacks"):
        cb = s["callbacks"]
        parts += ["<h2>Panel callbacks</h2>",
                  _table(["", ""], [[k, v] for k, v in cb.items() if not isinstance(v, dict)])]
    if s.get("injected_faults") or s.get("platform_faults") or s.get("recoveries"):
        faults = [[f"met by respondents: {k}", v] for k, v in (s.get("injected_faults") or {}).items()]
        faults += [[f"injected by the platform: {k}", v] for k, v in (s.get("platform_faults") or {}).items()]
        faults += [[f"recovered: {k}", v] for k, v in (s.get("recoveries") or {}).items()]
        parts += ["<h2>Faults and recoveries</h2>", _table(["", "count"], faults)]
    parts.append(_result_section("Panel reconciliation", s.get("reconciliation"), "mismatches"))
    parts.append(_result_section("Data read-back", s.get("data_check"), "mismatches"))
    parts.append(_comparison(comparison))
    parts.append(settings_section(s, _table))
    title = html.escape(f"loadtest: {s.get('scenario', 'run')}")
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{STYLE}</style><script>{_plotly_js()}</script></head><body>{''.join(parts)}</body></html>")
