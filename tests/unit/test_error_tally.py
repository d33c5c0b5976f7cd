"""The error block: respondents' errors and failed checks counted by message, step and blame, the
first respondent kept; merged across Locust workers; printed by both drivers and in report.html."""

from __future__ import annotations

import io

import msgpack

from loadtest.core.errors import Blame
from loadtest.core.flow_values import Recovery, RespondentResult
from loadtest.core.persona import FailedCheck
from loadtest.report.html_report import render_html
from loadtest.results.metrics import MAX_ERROR_KINDS, Metrics
from loadtest.results.summary import print_errors


def result(index: int, *, error: dict[str, str] | None = None, checks: tuple[FailedCheck, ...] = (),
           statuses: tuple[str, ...] = ("success",), recoveries: tuple[Recovery, ...] = ()) -> RespondentResult:
    return RespondentResult(index=index, persona="completer", seed=1000 + index, survey_id=1,
                            transaction_id=f"t{index}", outcome="failed" if error else "survey_complete",
                            error=error, checks=list(checks), statuses=list(statuses), recoveries=list(recoveries))


REFUSED = {"blame": "configuration", "error": "ConfigurationError", "message": "HTTP 401: set LOADTEST_API_KEY"}
RESET = {"blame": "transport", "error": "TransportError", "message": "connection reset"}
UNEXPECTED = FailedCheck("unexpected_outcome", "terminated (persona expects survey_complete)", Blame.SERVER)


def test_most_frequent_first_with_step_blame_and_the_first_respondent() -> None:
    m = Metrics()
    m.respondent(result(7, error=REFUSED, statuses=()))
    for i in (3, 9):
        m.respondent(result(i, checks=(UNEXPECTED,)))
    m.respondent(result(5, checks=(UNEXPECTED,)))
    m.respondent(result(4, error=RESET, recoveries=(Recovery("submit-page", "TransportError", "gave_up"),)))
    top = m.errors.top()
    assert top[0] == {"count": 3, "kind": "check", "step": "", "blame": "server",
                      "message": "unexpected_outcome: terminated (persona expects survey_complete)",
                      "first_seed": 1003, "first_index": 3}
    by_message = {e["message"]: e for e in top}
    assert by_message["ConfigurationError: HTTP 401: set LOADTEST_API_KEY"]["step"] == "take"  # no page yet
    assert by_message["TransportError: connection reset"]["step"] == "submit-page"  # where it gave up


def test_a_step_the_flow_names_wins() -> None:
    m = Metrics()
    m.respondent(result(1, error={**RESET, "step": "previous-page"}, recoveries=(
        Recovery("submit-page", "TransportError", "gave_up"),)))
    assert m.errors.top()[0]["step"] == "previous-page"


def test_tallies_merge_across_processes_through_msgpack() -> None:
    master, a, b = Metrics(), Metrics(), Metrics()
    a.respondent(result(10, checks=(UNEXPECTED,)))
    b.respondent(result(20, checks=(UNEXPECTED,)))
    b.respondent(result(21, error=RESET))
    for worker in (a, b):
        master.absorb(msgpack.unpackb(msgpack.packb(worker.export())))
    top = master.errors.top()
    assert [(e["count"], e["first_index"]) for e in top] == [(2, 10), (1, 21)]


def test_distinct_messages_are_bounded_and_the_rest_counted() -> None:
    m = Metrics()
    for i in range(MAX_ERROR_KINDS + 5):
        m.respondent(result(i, error={**RESET, "message": f"reset {i}"}))
    assert len(m.errors.entries) == MAX_ERROR_KINDS and m.errors.overflow == 5


def test_the_console_block_and_the_report_table() -> None:
    m = Metrics()
    for i in range(3):
        m.respondent(result(i, checks=(UNEXPECTED,)))
    summary = {"errors": m.errors.top(), "errors_distinct": 1}
    out = io.StringIO()
    print_errors(summary, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "errors: 1 distinct, 3 in all:"
    assert "count" in lines[1] and "blame" in lines[1]
    assert lines[2].split()[:4] == ["3", "check", "-", "server"] and "(#0, seed 1000)" in lines[2]
    none = io.StringIO()
    print_errors({"errors": []}, none)
    assert none.getvalue() == "errors: none\n"
    html = render_html({"scenario": "s", "passed": False, **summary}, [])
    assert "<h2>Errors</h2>" in html and "unexpected_outcome: terminated" in html and "#0, seed 1000" in html
