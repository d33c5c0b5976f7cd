"""junit.xml: the run's verdict in the format CI systems show. One test case per threshold, per
persona (its respondents all ended as expected, with every check passing), per failed check,
and for the panel reconciliation and the data read-back when the run made them."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from loadtest.results.interruption import interruption_text

__all__ = ["junit_cases", "write_junit"]


def junit_cases(summary: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(class, name, failure message or None) for each case."""
    cases: list[tuple[str, str, str | None]] = []
    if "interrupted" in summary:  # a run stopped by a signal is a failure of its own, never a pass
        cases.append(("run", "completed", f"interrupted by {interruption_text(summary)}"
                      if summary["interrupted"] else None))
    for t in summary.get("thresholds", []):
        failure = None if t["passed"] else f"{t['name']} = {t['value']} (limit {t['limit']})"
        cases.append(("thresholds", t["name"], failure))
    for name, p in sorted(summary.get("personas", {}).items()):
        failure = None
        if p.get("unexpected"):
            failure = f"{p['unexpected']} of {p['respondents']} respondents ended unexpectedly or failed a check " \
                      f"(outcomes: {p['outcomes']})"
        cases.append(("personas", name, failure))
    for check, count in sorted(summary.get("checks_failed", {}).items()):
        cases.append(("checks", check, f"failed for {count} respondents"))
    for key in ("reconciliation", "data_check"):
        result = summary.get(key)
        if result:
            failure = None if result.get("passed") else f"problems: {result.get('problems')}"
            cases.append((key, key, failure))
    return cases


def write_junit(path: Path, summary: dict[str, Any]) -> None:
    cases = junit_cases(summary)
    suite = ET.Element("testsuite", name=f"loadtest.{summary.get('scenario', 'run')}", tests=str(len(cases)),
                       failures=str(sum(1 for c in cases if c[2])), errors="0", skipped="0",
                       time=str(summary.get("duration_s", 0)))
    for cls, name, failure in cases:
        case = ET.SubElement(suite, "testcase", classname=f"loadtest.{cls}", name=name, time="0")
        if failure:
            ET.SubElement(case, "failure", message=failure).text = failure
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
