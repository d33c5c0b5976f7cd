"""A run against a baseline run: per-step p50/p95/p99 change, outcome-share shifts, error ratio.
Pure: two summaries in, a comparison out. A change is a regression when it exceeds the run's
own scenario tolerances (`[regression]`, carried in summary.json)."""

from __future__ import annotations

from typing import Any

__all__ = ["compare", "print_comparison"]

PERCENTILES = ("p50", "p95", "p99")


def _error_ratio(s: dict[str, Any]) -> float:
    total = sum(step["count"] for step in s["requests"].values())
    failed = sum(step["failures"] for step in s["requests"].values())
    return failed / total if total else 0.0


def _shares(s: dict[str, Any]) -> dict[str, float]:
    finished = {k: v for k, v in s["outcomes"].items() if k != "incomplete"}
    total = sum(finished.values())
    return {k: v / total for k, v in finished.items()} if total else {}


def compare(current: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    tol = current.get("regression") or {}
    regressions: list[str] = []
    steps: dict[str, Any] = {}
    for step in sorted(set(current["requests"]) | set(baseline["requests"])):
        cur, base = current["requests"].get(step), baseline["requests"].get(step)
        if cur is None or base is None:
            steps[step] = {"only_in": "run" if base is None else "baseline"}
            continue
        row: dict[str, Any] = {}
        for p in PERCENTILES:
            was, now = base[f"{p}_ms"], cur[f"{p}_ms"]
            change = (now - was) / was if was > 0 else None
            worse = (change is not None and change > tol.get(f"{p}_increase", 0.25)
                     and now - was > tol.get("min_ms", 1.0))
            row[p] = {"baseline_ms": was, "run_ms": now, "change": round(change, 4) if change is not None else None,
                      "regressed": worse}
            if worse:
                regressions.append(f"{step} {p} {was:.2f} -> {now:.2f} ms ({change:+.0%})")
        steps[step] = row
    shares_now, shares_was = _shares(current), _shares(baseline)
    outcomes: dict[str, Any] = {}
    for outcome in sorted(set(shares_now) | set(shares_was)):
        was, now = shares_was.get(outcome, 0.0), shares_now.get(outcome, 0.0)
        shifted = abs(now - was) > tol.get("outcome_share_shift", 0.05)
        outcomes[outcome] = {"baseline": round(was, 4), "run": round(now, 4), "shift": round(now - was, 4),
                             "regressed": shifted}
        if shifted:
            regressions.append(f"outcome {outcome} share {was:.1%} -> {now:.1%}")
    was_err, now_err = _error_ratio(baseline), _error_ratio(current)
    err_worse = now_err - was_err > tol.get("error_ratio_increase", 0.01)
    if err_worse:
        regressions.append(f"error ratio {was_err:.2%} -> {now_err:.2%}")
    return {"baseline": baseline.get("run_dir"), "run": current.get("run_dir"), "tolerances": tol, "steps": steps,
            "outcome_shares": outcomes,
            "error_ratio": {"baseline": round(was_err, 6), "run": round(now_err, 6), "regressed": err_worse},
            "regressions": regressions, "passed": not regressions}


def print_comparison(c: dict[str, Any], out: Any) -> None:
    p = print
    p(f"\ncompared with baseline {c['baseline']}", file=out)
    p(f"{'step':<15}" + "".join(f"{x + ' ms':>22}" for x in PERCENTILES), file=out)
    for step, row in c["steps"].items():
        if "only_in" in row:
            p(f"{step:<15}  only in the {row['only_in']}", file=out)
            continue
        cells = []
        for x in PERCENTILES:
            r = row[x]
            change = f"{r['change']:+.0%}" if r["change"] is not None else "n/a"
            cells.append(f"{r['baseline_ms']:.2f}->{r['run_ms']:.2f} {change:>5}{'!' if r['regressed'] else ' '}")
        p(f"{step:<15}" + "".join(f"{cell:>22}" for cell in cells), file=out)
    shifts = ", ".join(f"{k} {v['shift']:+.1%}" for k, v in c["outcome_shares"].items() if v["shift"])
    p(f"outcome shares: {shifts or 'unchanged'}", file=out)
    e = c["error_ratio"]
    p(f"error ratio: {e['baseline']:.2%} -> {e['run']:.2%}", file=out)
    if c["regressions"]:
        p("REGRESSED: " + "; ".join(c["regressions"]), file=out)
    else:
        p("no regression beyond the scenario's tolerances", file=out)
