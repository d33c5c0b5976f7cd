"""`loadtest explore` in process (no socket): the map it draws of each example survey agrees with
the survey file, a budget that runs out says what was left, every path is reproduced from its seed
and plan, the written scenario loads with the personas the map calls for, and bad input is one
line with exit 2."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import anyio
import pytest

from loadtest.cli import main
from loadtest.explore.explorer import Budget, Explorer, Target, VirtualClock
from loadtest.explore.offline import explore_in_process
from loadtest.explore.scenario_writer import Origin, scenario_text
from loadtest.explore.survey_map import build_map
from loadtest.platform.in_process import HOST, InProcessPlatform
from loadtest.scenario.file import load_scenario
from loadtest.survey.file import load_survey
from loadtest.survey.model import Survey
from tests.helpers import CUSTOMER, STORE_VISIT, SURVEYS

META = {"survey_id": 0, "target": "in process", "mode": "in_process", "target_host": "in-process.invalid"}


def explore(survey: Survey, budget: Budget | None = None, **options: Any) -> tuple[dict[str, Any], Any]:
    result = explore_in_process([survey], survey.id, budget or Budget(1000, 20000, 300.0), **options)
    return build_map(result, {**META, "survey_id": survey.id}), result


@pytest.fixture(scope="module")
def smoke_map() -> dict[str, Any]:
    return explore(load_survey(CUSTOMER))[0]


def assert_agrees(doc: dict[str, Any], survey: Survey) -> None:
    """The map says what the file says, for everything a respondent can see or cause."""
    assert [[q["id"] for q in p["questions"]] for p in doc["pages"]] == \
        [[q.id for q in page.questions] for page in survey.pages]
    for page_doc, page in zip(doc["pages"], survey.pages, strict=True):
        for q_doc, q in zip(page_doc["questions"], page.questions, strict=True):
            assert [a["id"] for a in q_doc["answers"]] == [a.id for a in q.answers], q.id
            assert q_doc["kind"] == q.kind
        assert page_doc["validation"] is not None, f"page {page.id}: validation not probed"
        shown_after = {c["question"]: set(c["answers"]) for c in page_doc.get("shown_only_after") or ()}
        if page.show_if is None:
            assert "shown_only_after" not in page_doc, page.id
        else:
            assert shown_after == {page.show_if.question: set(page.show_if.answers)}, page.id
    answers = [(q.id, a) for page in survey.pages for q in page.questions for a in q.answers]
    assert {(s["question"], s["answer"]) for s in doc["screeners"]} == {(q, a.id) for q, a in answers if a.terminate}
    assert {(c["question"], c["answer"]) for c in doc["chains"]} == {(q, a.id) for q, a in answers if a.chain}
    assert {(c["question"], c["answer"], c["quota_id"]) for c in doc["quota_cells"]} == \
        {(quota.question, a, quota.id) for quota in survey.quotas for a in quota.answers}
    for cell in doc["quota_cells"]:
        quota = next(x for x in survey.quotas if x.id == cell["quota_id"])
        assert cell["completes_before"] == quota.limit
    speeder = doc["quality"]["speeder"]
    assert speeder["found"] is (survey.quality.speeder_min_seconds is not None)
    if speeder["found"]:
        assert speeder["reason"] == {"kind": "quality", "rule": "speeder"}
        assert speeder["seconds"] < survey.quality.speeder_min_seconds <= speeder["twin_seconds"]
    grids = [q.id for page in survey.pages for q in page.questions
             if q.kind == "grid" and q.straightline_check and len(q.rows) >= survey.quality.straightline_min_rows]
    lines = doc["quality"]["straightlining"]
    assert bool(lines.get("found")) is bool(grids)
    if grids:
        assert lines["grids"] == grids and lines["reason"] == {"kind": "quality", "rule": "straightliner"}
    assert doc["stopped"] == "explored" and doc["not_explored"] == []


@pytest.mark.parametrize("path", sorted(SURVEYS.glob("*.toml")), ids=lambda p: p.stem)
def test_the_map_agrees_with_every_example_survey_file(path: Path) -> None:
    survey = load_survey(path)
    doc, _ = explore(survey)
    assert_agrees(doc, survey)


def test_the_smoke_survey_map_names_the_screener_the_cells_the_rules_and_the_chain(smoke_map: dict[str, Any]) -> None:
    doc = smoke_map
    (screener,) = doc["screeners"]
    assert (screener["question"], screener["answer"], screener["reason"]) == \
        (10001, 50002, {"kind": "screener", "rule": "screener"})
    assert {c["quota_id"]: c["answer"] for c in doc["quota_cells"]} == {"gender_female": 50011, "gender_male": 50012}
    (chain,) = doc["chains"]
    assert (chain["question"], chain["answer"]) == (10012, 50103) and "/surveys/200002/take?" in chain["url"]
    assert doc["display_logic"] == [{"page": 3, "questions": [10007, 10008],
                                     "shown_after": [{"question": 10005, "answers": [50033, 50035]}]}]
    by_q = {q["id"]: q for p in doc["pages"] for q in p["questions"]}
    followed = {a["id"]: {f["result"] for f in a["followed"]} for a in by_q[10001]["answers"]}
    assert followed == {50001: {"page 2"}, 50002: {"terminated"}}
    assert {a["question"]: a["answer"] for a in doc["recommended_answers"]} == \
        {10001: 50001, 10002: 50013, 10004: 50021, 10012: 50101}
    page1 = doc["pages"][0]["validation"]
    assert {e["question"] for e in page1["errors"]} == {10001, 10002, 10003} and page1["not_enforced"] == []
    assert all("explore" in w["transaction_id"] for w in doc["walks"])


def test_every_path_is_reproduced_by_its_seed_and_plan() -> None:
    survey = load_survey(CUSTOMER)
    _, result = explore(survey, Budget(12, 1000, 60.0))
    checked = 0
    for walk in result.knowledge.walks:
        if walk.outcome == "quota_full":  # depends on the cells' state, not on the walk alone
            continue
        clock = VirtualClock()
        with InProcessPlatform([survey], clock=clock) as platform:
            explorer = Explorer(platform, Target(survey.id, platform.api_key, HOST), Budget(1, 100, 60.0), seed=1,
                                prefix="explore1", sleep=clock.sleep, clock=clock)
            again = anyio.run(explorer.walk, walk.index, walk.plan)
        assert (again.seed, again.transaction_id, again.outcome) == (walk.seed, walk.transaction_id, walk.outcome)
        assert [(s.status, s.form) for s in again.steps] == [(s.status, s.form) for s in walk.steps]
        checked += 1
    assert checked >= 10


def test_a_budget_that_runs_out_says_what_was_not_explored() -> None:
    doc, result = explore(load_survey(CUSTOMER), Budget(4, 1000, 60.0))
    assert result.stopped == "respondents" and doc["used"]["respondents"] == 4
    left = "\n".join(doc["not_explored"])
    assert "the budget ran out (--respondents)" in left
    assert "never given" in left  # answers of later pages still untried


def test_the_written_scenario_loads_with_a_persona_for_every_outcome(smoke_map: dict[str, Any],
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "explored.toml"
    out.write_text(scenario_text(smoke_map, Origin("embedded", 100001, (CUSTOMER,)), out))
    sc = load_scenario(out)
    personas = {p.name: p for p in sc.personas}
    assert set(personas) == {"completer", "screenout", "quota_chaser", "chainer", "speeder", "straightliner"}
    assert personas["screenout"].params["answers"]["10001"] == "50002"
    assert personas["quota_chaser"].params["answers"]["10002"] == "50011"
    assert personas["chainer"].params["answers"]["10012"] == "50103"
    assert personas["chainer"].params["expects"] == ["redirect"]
    assert personas["completer"].params["answers"] == {"10001": "50001", "10002": "50013", "10004": "50021",
                                                       "10012": "50101"}
    assert sc.follow_redirects == ()  # left to the user
    text = out.read_text()
    assert "# follow_redirects" in text and "seed" in text


def test_a_map_without_a_quota_cell_writes_a_comment_not_a_chaser(tmp_path: Path) -> None:
    doc, _ = explore(load_survey(STORE_VISIT), Budget(6, 1000, 60.0), chase_cap=0)
    out = tmp_path / "sv.toml"
    out.write_text(scenario_text(doc, Origin("embedded", 200002, (STORE_VISIT,)), out))
    text = out.read_text()
    assert "No quota chaser: no answer met quota_full" in text and "No screenout persona" in text
    assert {p.name for p in load_scenario(out).personas} == {"completer"}
    assert tomllib.loads(text)["scenario"]["surveys"]


@pytest.mark.parametrize(("argv", "expected"), [
    (["--target", "http://127.0.0.1:9"], "--survey-id: expected the id of the survey"),
    ([str(CUSTOMER), "--respondents", "0"], "--respondents: expected a whole number >= 1 (got 0)"),
    ([str(CUSTOMER), "--requests", "0"], "--requests: expected a whole number >= 1 (got 0)"),
    ([str(CUSTOMER), "--duration", "0"], "--duration: expected seconds > 0"),
    (["--target", "http://127.0.0.1:9", "--survey-id", "5"], "pass --yes to create up to 30 responses there"),
    ([], "expected a SCENARIO, a survey file, or --target URL with --survey-id N"),
    (["--target", "ftp://x", "--survey-id", "5"], "--target: expected an http(s) URL"),
    ([str(CUSTOMER), "--survey-id", "7"], "--survey-id: expected one of the survey files' ids [100001] (got 7)"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and "\n" not in err


def test_a_url_target_says_first_how_many_responses_it_would_create(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--target", "http://127.0.0.1:9", "--survey-id", "5", "--respondents", "12"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("explore: will create up to 12 responses in survey 5 on http://127.0.0.1:9")
    assert "transaction ids explore1-" in out


def test_write_never_overwrites_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    there = tmp_path / "x.toml"
    there.write_text("# mine\n")
    assert main(["explore", str(CUSTOMER), "--write", str(there)]) == 2
    assert "exists" in capsys.readouterr().err and there.read_text() == "# mine\n"


def test_the_command_writes_the_map_and_the_scenario_in_process(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", str(STORE_VISIT), "--map", str(tmp_path / "m.json"), "--write",
                 str(tmp_path / "s.toml"), "--chase", "0"]) == 0
    out = capsys.readouterr().out
    assert "nothing is sent anywhere" in out.splitlines()[0]
    assert "gate: authentication_required" in out and "page 2" in out and "survey_complete" in out
    assert (tmp_path / "m.json").is_file() and load_scenario(tmp_path / "s.toml").survey_id == 200002
