"""Distributed runs: how the master shares limits out and adds workers' figures up. Pure.

Each limit's rate is split evenly over the workers that are connected; when one joins or leaves
the shares are recomputed and sent again, so the limit holds across the whole cluster. Workers
report their limiters and callbacks as running totals (the latest report per worker wins, so a
repeated or late report cannot count twice) and their samples as deltas (metrics.absorb).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MSG_FINAL", "MSG_FINISH", "MSG_SHARES", "combine_callbacks", "combine_limits", "shares"]

MSG_SHARES = "loadtest_shares"  # master -> worker: {"shares": {limit: this worker's rate}, "panel_surveys": {...}}
MSG_FINAL = "loadtest_final"  # worker -> master: the worker's last report, after its users stopped
MSG_FINISH = "loadtest_finish"  # master -> worker: stop your users now and send your final report


def shares(rates: dict[str, float], workers: int) -> dict[str, float]:
    return {name: rate / workers for name, rate in rates.items()} if workers > 0 else {}


def combine_limits(targets: dict[str, float], reports: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """summary.json's `limits` from every process's limiter export: permits granted in all and
    the rate they were granted at across the cluster (between the first and the last permit)."""
    out: dict[str, Any] = {}
    for name, target in sorted(targets.items()):
        parts = [r[name] for r in reports if name in r]
        granted = sum(p["granted"] for p in parts)
        firsts = [p["first_at"] for p in parts if p["first_at"] is not None]
        lasts = [p["last_at"] for p in parts if p["last_at"] is not None]
        span = max(lasts) - min(firsts) if firsts and lasts else 0.0
        achieved = round((granted - 1) / span, 4) if granted > 1 and span > 0 else None
        out[name] = {"target": target, "granted": granted, "achieved": achieved, "processes": len(parts),
                     "shares": sorted(p["share"] for p in parts if p["share"] is not None)}
    return out


_SUMMED = ("sent", "accepted", "rejected", "gave_up", "suppressed_duplicates", "retries", "too_many_requests",
           "verified_after_lost_reply",
           "undelivered")


def combine_callbacks(reports: list[dict[str, Any]], panel_surveys: dict[str, str], mode: str) -> dict[str, Any]:
    """summary.json's `callbacks` from every process's LocustPanel export."""
    out: dict[str, Any] = {"panel_surveys": panel_surveys, "mode": mode, **{k: 0 for k in _SUMMED}}
    statuses: dict[str, int] = {}
    for r in reports:
        for k in _SUMMED:
            out[k] += r.get(k, 0)
        for code, n in r.get("http_statuses", {}).items():
            statuses[code] = statuses.get(code, 0) + n
    out["http_statuses"] = dict(sorted(statuses.items()))
    return out


def callbacks_by_persona(reports: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in reports:
        for persona, states in r.get("by_persona", {}).items():
            mine = out.setdefault(persona, {})
            for state, n in states.items():
                mine[state] = mine.get(state, 0) + n
    return out
