"""Reconciliation: respondents against the panel's transactions."""

from __future__ import annotations

from loadtest.checks.reconcile import reconcile


def resp(index: int, txn: str, outcome: str, statuses: list[str] | None = None, **details: object) -> dict:  # type: ignore[type-arg]
    return {"index": index, "transaction_id": txn, "persona": "p", "outcome": outcome,
            "statuses": statuses or ["success", outcome], "details": details}


def txn(tid: str, result: int | None, repeats: int = 0) -> dict:  # type: ignore[type-arg]
    return {"id": tid, "result": result, "repeat_results": repeats}


def test_all_matching_passes() -> None:
    out = reconcile([resp(0, "A", "survey_complete"), resp(1, "B", "abandoned")], [txn("A", 10), txn("B", None)])
    assert out["passed"] and out["mismatches"] == [] and out["respondents_checked"] == 2


def test_missing_duplicated_wrong_and_unexpected_are_each_named() -> None:
    respondents = [
        resp(0, "A", "survey_complete"),                       # dropped callback: missing
        resp(1, "B", "quota_full"),                            # recorded twice: duplicated
        resp(2, "C", "terminated", terminateReason={"kind": "screener"}),  # recorded 4, expected 5
        resp(3, "D", "abandoned"),                             # panel told nothing should be, but was
    ]
    out = reconcile(respondents, [txn("A", None), txn("B", 3, repeats=1), txn("C", 4), txn("D", 10)])
    assert not out["passed"]
    assert out["problems"] == {"missing": 1, "duplicated": 1, "wrong_code": 1, "unexpected": 1}
    assert {(m["transaction_id"], m["problem"]) for m in out["mismatches"]} == {
        ("A", "missing"), ("B", "duplicated"), ("C", "wrong_code"), ("D", "unexpected")}
