"""Reconcile what respondents did against what the panel recorded. Pure: lists in, report out.

Every respondent with a transaction whose outcome the panel is told about must have exactly one
recorded result, with the right code; respondents the panel is not told about (abandoned,
opted out...) must have none. Problems: missing, duplicated, wrong_code, unexpected. With
`run_prefix` (the prefix of every transaction id of the run), a result the panel recorded for a
transaction of the run that no respondent line has is `unaccounted`: listed, not a problem here
(a lost Locust worker's last respondents; the run fails for the lost worker unless allowed).
With `lost_with_worker` (which respondent indices a lost worker walked), a missing result of such
a respondent is `lost_with_worker`, not `missing`: its callback was still queued in the worker
when it died. Listed too, for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from loadtest.core.panel import panel_result

__all__ = ["reconcile"]


def reconcile(respondents: Iterable[dict[str, Any]], transactions: Iterable[dict[str, Any]],
              run_prefix: str | None = None,
              lost_with_worker: Callable[[int], bool] | None = None) -> dict[str, Any]:
    recorded = {t["id"]: t for t in transactions}
    mismatches: list[dict[str, Any]] = []
    queued_in_lost: list[str] = []
    checked = 0
    seen: set[str] = set()
    for r in respondents:
        txn = r.get("transaction_id")
        if not txn:
            continue
        checked += 1
        seen.add(txn)
        expected = panel_result(r.get("outcome"), r.get("statuses") or [], r.get("details") or {})
        t = recorded.get(txn)
        got = t.get("result") if t else None
        base = {"transaction_id": txn, "respondent": r.get("index"), "persona": r.get("persona"),
                "outcome": r.get("outcome"), "expected": expected, "recorded": got}
        if expected is None:
            if got is not None:
                mismatches.append({**base, "problem": "unexpected"})
            continue
        if got is None and lost_with_worker is not None and lost_with_worker(int(r.get("index", -1))):
            queued_in_lost.append(txn)
        elif got is None:
            mismatches.append({**base, "problem": "missing"})
        elif got != expected:
            mismatches.append({**base, "problem": "wrong_code"})
        if t and t.get("repeat_results", 0) > 0:
            mismatches.append({**base, "problem": "duplicated", "repeats": t["repeat_results"]})
    counts: dict[str, int] = {}
    for m in mismatches:
        counts[m["problem"]] = counts.get(m["problem"], 0) + 1
    unaccounted = sorted(txn for txn, t in recorded.items() if run_prefix and txn not in seen
                         and txn.startswith(run_prefix + "-") and t.get("result") is not None)
    return {"respondents_checked": checked, "transactions_listed": len(recorded), "problems": counts,
            "mismatches": mismatches, "passed": not mismatches, "unaccounted": len(unaccounted),
            "unaccounted_transactions": unaccounted[:50],
            **({"lost_with_worker": len(queued_in_lost), "lost_with_worker_transactions": sorted(queued_in_lost)[:50]}
               if lost_with_worker is not None else {})}
