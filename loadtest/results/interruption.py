"""An interrupted run: how summary.json marks it, and the exit code it ends with.

A run stopped by SIGINT or SIGTERM (Ctrl-C, `timeout`, a CI runner cancelling the job, a
container stop) is not a verdict on the target: its figures are real but partial. It is marked
`interrupted: true` with how it was stopped under `interruption`, it never counts as passed, and
both drivers exit with EXIT_INTERRUPTED, so a cancelled CI job never turns green. Every summary
carries `interrupted` (false when the run ended by itself).
"""

from __future__ import annotations

from typing import Any

__all__ = ["EXIT_INTERRUPTED", "interruption_text", "mark_run", "verdict"]

EXIT_INTERRUPTED = 4


def mark_run(summary: dict[str, Any], interruption: dict[str, Any] | None) -> None:
    """`interruption`: e.g. {"signal": "SIGINT", "signals": 2, "cancelled_in_flight": 7}, or None."""
    summary["interrupted"] = interruption is not None
    if interruption is not None:
        summary["interruption"] = interruption
        summary["passed"] = False


def interruption_text(summary: dict[str, Any]) -> str:
    """e.g. "SIGINT (2 signals; 7 respondents in flight cancelled)"."""
    how = summary.get("interruption") or {}
    parts = []
    if how.get("signals", 1) > 1:
        parts.append(f"{how['signals']} signals")
    if how.get("cancelled_in_flight") is not None:
        parts.append(f"{how['cancelled_in_flight']} respondents in flight cancelled")
    if how.get("recovered_from"):
        parts.append(f"rebuilt from {how['recovered_from']}")
    cause = how.get("signal") or "a kill or a crash"  # None: the run could not say (rebuilt afterwards)
    return str(cause) + (f" ({'; '.join(parts)})" if parts else "")


def verdict(summary: dict[str, Any]) -> str:
    """PASSED, FAILED or INTERRUPTED: what the console, the report's header and JUnit say."""
    if summary.get("interrupted"):
        return "INTERRUPTED"
    return "PASSED" if summary.get("passed") else "FAILED"
