"""The survey funnel and the interview length: what each respondent's path counts, that a
master's merge of workers' exports equals one process that saw everything, and the pages named
and ordered by the survey file when there is one."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.core.flow_values import RespondentResult
from loadtest.results.funnel import BEFORE_FIRST_PAGE, Funnel, funnel_rows, funnel_summary
from loadtest.results.interview import InterviewLengths, interview_summary
from loadtest.results.metrics import Metrics
from loadtest.survey.model import Page, Quality, Question, Survey

A, B, C = [1], [2, 3], [4]


def result(pages: list[list[int]], outcome: str | None, persona: str = "p", survey: int = 7,
           throttled_s: float = 0.0, statuses: list[str] | None = None,
           details: dict[str, Any] | None = None) -> RespondentResult:
    r = RespondentResult(index=0, persona=persona, seed=1, survey_id=survey, transaction_id="t", outcome=outcome,
                         pages=[tuple(p) for p in pages], statuses=statuses or [], details=details or {})
    r.throttled_s = throttled_s
    return r


def pages_of(summary: dict[str, Any], survey: str = "7", who: str = "all") -> dict[str, dict[str, Any]]:
    block = summary[survey]["all"] if who == "all" else summary[survey]["personas"][who]
    return {p["page"]: p for p in block["pages"]}


def test_reached_answered_and_ended_there() -> None:
    f = Funnel()
    f.record(result([A, B, C], "survey_complete"))  # every page answered, the last one's submit completed
    f.record(result([A, A, B], "abandoned"))  # a validation error on A, then left on B
    f.record(result([A, B, A], "abandoned"))  # went back from B to A and left: B was never answered
    f.record(result([A], "terminated"))  # screened out by A's submit
    f.record(result([], "quota_full"))  # full on entry: no page at all
    s = pages_of(funnel_summary(f))
    a, b, c = s["questions 1"], s["questions 2,3"], s["questions 4"]
    assert (a["reached"], a["answered"], a["ended"]) == (4, 4, {"abandoned": 1, "terminated": 1})
    assert (b["reached"], b["answered"], b["ended"]) == (3, 1, {"abandoned": 1})
    assert (c["reached"], c["answered"], c["ended"]) == (1, 1, {"survey_complete": 1})
    summary = funnel_summary(f)
    assert [p["page"] for p in summary["7"]["all"]["pages"]] == ["questions 1", "questions 2,3", "questions 4"]
    assert summary["7"]["all"]["respondents"] == 5
    assert summary["7"]["all"]["ended_before_first_page"] == {"quota_full": 1}
    entry = funnel_rows(summary)[0]
    assert (entry["page"], entry["reached"], entry["answered"], entry["quota_full"]) == (BEFORE_FIRST_PAGE, 5, 4, 1)


def test_a_survey_file_names_and_orders_the_pages() -> None:
    def q(i: int) -> Question:
        return Question(id=i, kind="text", text={"en": "?"})

    survey = Survey(id=7, title="T", pages=(Page("intro", (q(4),)), Page("screener", (q(1),)),
                                            Page("about", (q(2), q(3)))), quality=Quality(speeder_min_seconds=5.0))
    f = Funnel()
    f.record(result([A, B], "abandoned"))  # met before page "intro" by this respondent, but the file decides
    f.record(result([C, A, B], "survey_complete"))
    summary = funnel_summary(f, (survey,))
    assert [p["page"] for p in summary["7"]["all"]["pages"]] == ["intro", "screener", "about"]
    assert summary["7"]["title"] == "T"


def test_validation_errors_by_page_terminate_reasons_and_full_quota_cells() -> None:
    f = Funnel()
    f.record(result([A, B, B, B, C], "survey_complete",
                    statuses=["success", "success", "validation_errors", "validation_errors", "success",
                              "survey_complete"]))
    f.record(result([A, B], "terminated", statuses=["success", "success", "terminated"],
                    details={"terminateReason": {"kind": "quality", "rule": "speeder"}}))
    f.record(result([A], "terminated", details={"terminateReason": "screener"}))
    f.record(result([A], "quota_full", details={"quotaId": "men"}))
    f.record(result([A, B], "survey_complete", statuses=["success", "validation_errors", "validation_errors"]))
    block = funnel_summary(f)["7"]["all"]
    # the last respondent's statuses do not line up with its pages: it is left out of this count
    assert {p["page"]: p["validation_errors"] for p in block["pages"]} == {
        "questions 1": 0, "questions 2,3": 2, "questions 4": 0}
    assert block["terminate_reasons"] == {"quality: speeder": 1, "screener": 1}
    assert block["quota_full_cells"] == {"men": 1}


paths = st.lists(st.sampled_from([A, B, C]), max_size=6)
respondents = st.lists(st.tuples(paths, st.sampled_from(["survey_complete", "abandoned", "incomplete", None]),
                                 st.sampled_from(["p", "q"]), st.sampled_from([7, 8]),
                                 st.floats(0, 100), st.floats(0, 50)), max_size=30)


@settings(max_examples=25, deadline=None)  # HDR percentiles cost milliseconds each
@given(respondents, st.integers(1, 4))
def test_workers_merged_equal_one_process(people: list[Any], workers: int) -> None:
    """What a master absorbs from its workers (through msgpack, as Locust ships it) equals what
    one Metrics that saw every respondent holds: the funnel and every interview percentile."""
    one, parts = Metrics(), [Metrics() for _ in range(workers)]
    for i, (path, outcome, persona, survey, duration, think) in enumerate(people):
        timings = {"duration_s": duration, "think_s": think}
        one.respondent(result(path, outcome, persona, survey), timings)
        parts[i % workers].respondent(result(path, outcome, persona, survey), timings)
    master = Metrics()
    for part in parts:
        master.absorb(msgpack.unpackb(msgpack.packb(part.export()), strict_map_key=False))
    assert funnel_summary(master.funnel) == funnel_summary(one.funnel)
    assert interview_summary(master.interview) == interview_summary(one.interview)


def test_interview_length_by_outcome_and_persona_beside_the_planned_think_time() -> None:
    lengths = InterviewLengths()
    for seconds in (10, 20, 30, 40):
        lengths.record(result([A], "survey_complete", "completer"), {"duration_s": seconds, "think_s": seconds - 5})
    lengths.record(result([A], "terminated", "speeder", throttled_s=2.0), {"duration_s": 1.5, "think_s": 2.5})
    survey = Survey(id=7, title="T", pages=(), quality=Quality(speeder_min_seconds=5.0))
    s = interview_summary(lengths, (survey,), target_is_embedded=True)
    done = s["by_outcome"]["survey_complete"]
    near = pytest.approx  # HDR: 3 significant digits
    assert done["count"] == 4 and done["p50_s"] == near(20.0, rel=1e-3) and done["p99_s"] == near(40.0, rel=1e-3)
    assert done["planned_think"]["p50_s"] == near(15.0, rel=1e-3)
    # the 2 s spent waiting out 429s are not think time the persona planned
    assert s["by_outcome"]["terminated"]["planned_think"]["p50_s"] == near(0.5, rel=1e-3)
    assert s["by_persona"]["speeder"]["p50_s"] == near(1.5, rel=1e-3)
    assert s["by_persona_outcome"]["completer"]["survey_complete"]["count"] == 4
    assert s["speeder_min_seconds"] == {"7": 5.0}
    assert interview_summary(lengths, (survey,), target_is_embedded=False)["speeder_min_seconds"] == {}


def test_pages_beyond_the_cap_are_counted_together_and_survive_a_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("loadtest.results.funnel.MAX_PAGES", 2)
    f = Funnel()
    f.record(result([A, B, C, [5]], "abandoned"))
    master = Funnel()
    master.absorb(msgpack.unpackb(msgpack.packb(f.export()), strict_map_key=False))
    for funnel in (f, master):
        pages = pages_of(funnel_summary(funnel))
        assert list(pages) == ["questions 1", "questions 2,3", "other"]
        assert (pages["other"]["reached"], pages["other"]["ended"]) == (2, {"abandoned": 1})
