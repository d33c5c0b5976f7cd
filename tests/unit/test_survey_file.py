"""Survey files: the shipped ones load; a bad one fails with one line naming file, key, expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.survey.file import SurveyFileError, load_survey, parse_survey
from tests.helpers import CUSTOMER, STORE_VISIT

MINIMAL = """
[survey]
id = 1
title = "t"
[[pages]]
id = "p1"
[[pages.questions]]
id = 10
type = "single"
text = "q"
answers = [{ id = 11, text = "a" }, { id = 12, text = "b" }]
"""


def test_customer_satisfaction_has_every_question_type_and_the_rules_the_issue_asks_for() -> None:
    s = load_survey(CUSTOMER)
    kinds = {q.kind for p in s.pages for q in p.questions}
    assert kinds == {"single", "multi", "text", "numeric", "grid", "date", "rank", "sum"}
    assert len(s.pages) >= 4
    assert s.back_navigation
    assert any(a.terminate for p in s.pages for q in p.questions for a in q.answers)  # a screener
    assert any(a.other for p in s.pages for q in p.questions for a in q.answers)  # other, please specify
    assert len(s.quotas) == 2
    assert s.quality.speeder_min_seconds is not None
    assert any(p.show_if for p in s.pages)  # display logic
    assert any(q.straightline_check for p in s.pages for q in p.questions)


def test_store_visit_is_small_gated_bilingual_and_forbids_going_back() -> None:
    s = load_survey(STORE_VISIT)
    assert not s.back_navigation and s.password and s.languages == ("en", "de") and s.json_as_string
    assert s.pages[0].questions[0].text["de"].startswith("Welches")


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        (('type = "single"', 'type = "slider"'), "pages[0].questions[0].type", "one of single, multi"),
        (("id = 1\n", 'id = "one"\n'), "survey.id", "an integer"),
        (('title = "t"\n', ""), "survey.title", "required"),
        (("{ id = 12, text = \"b\" }", "{ id = 12 }"), "pages[0].questions[0].answers[1].text", "required"),
        (("id = 10\n", "id = 11\n"), "pages[0].questions[0]", "ids unique across the survey"),
        (('title = "t"\n', 'title = "t"\nstate = "sleeping"\n'), "survey.state", "one of active, closed"),
    ],
)
def test_a_bad_survey_fails_with_one_line_naming_file_key_and_expectation(
    tmp_path: Path, change: tuple[str, str], key: str, expected: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL.replace(*change, 1))
    with pytest.raises(SurveyFileError) as err:
        load_survey(bad)
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith(f"{bad}: {key}: expected ")
    assert expected in line


def test_references_are_checked_after_all_pages_are_read() -> None:
    bad_quota = MINIMAL + '\n[[quotas]]\nid = "c"\nquestion = 10\nanswers = [99]\nlimit = 5\n'
    with pytest.raises(SurveyFileError, match=r"quotas\[0\]\.answers: expected answer ids of question 10"):
        parse_survey(bad_quota, "x.toml")
    bad_logic = MINIMAL + (
        '\n[[pages]]\nid = "p2"\nshow_if = { question = 77, answers = [11] }\n[[pages.questions]]\n'
        'id = 20\ntype = "text"\ntext = "t"\nanswer_id = 21\n'
    )
    with pytest.raises(SurveyFileError, match=r"pages\[1\]\.show_if\.question: expected a question on an earlier"):
        parse_survey(bad_logic, "x.toml")


def test_not_toml_and_missing_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SurveyFileError, match=r"^y\.toml: <file>: expected valid TOML"):
        parse_survey("[survey\n", "y.toml")
    with pytest.raises(SurveyFileError, match=r"<file>: expected a readable file"):
        load_survey(tmp_path / "nope.toml")


def test_a_text_table_must_cover_every_survey_language() -> None:
    text = MINIMAL.replace('title = "t"\n', 'title = "t"\nlanguages = ["en", "de"]\n').replace(
        'text = "q"', 'text = { en = "q" }'
    )
    with pytest.raises(SurveyFileError, match=r"pages\[0\]\.questions\[0\]\.text: expected a text for every "
                       r"survey language \(missing de\)"):
        parse_survey(text, "x.toml")
