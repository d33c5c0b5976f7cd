"""`[[ingest]]` tables: parsed with defaults, refused with one line naming the key; the `ingest`
threshold fails a run whose ingestion steps did not create every item."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.results.thresholds import evaluate
from loadtest.scenario.file import ScenarioError, Thresholds, load_scenario
from loadtest.scenario.ingest import IngestStep
from tests.unit.test_scenario import variant

GOOD = '''
[[ingest]]
api = "responses"
count = 20
persona = "quota_chaser"
limit = "panel"
concurrency = 2

[[ingest]]
api = "respondent_data"
survey = 200002
count = 50
batch = 25

[thresholds]'''


def with_ingest(tmp_path: Path, text: str) -> Path:
    return variant(tmp_path, "[thresholds]\n", text + "\n")


def test_ingest_tables_are_parsed_with_their_defaults(tmp_path: Path) -> None:
    sc = load_scenario(with_ingest(tmp_path, GOOD))
    assert sc.ingest == (
        IngestStep(api="responses", survey_id=100001, count=20, persona="quota_chaser", limit="panel", concurrency=2),
        # no persona named: the first that takes the survey
        IngestStep(api="respondent_data", survey_id=200002, count=50, persona="gatecrasher", batch=25),
    )
    assert [s.step_name for s in sc.ingest] == ["ingest-responses", "ingest-data"]
    assert load_scenario(variant(tmp_path, "take = 250", "take = 250\ningest-responses = 40")).thresholds.p95_ms[
        "ingest-responses"] == 40
    assert load_scenario(variant(tmp_path, "[thresholds]", "[thresholds]")).ingest == ()


@pytest.mark.parametrize(("old", "new", "key", "expected"), [
    ('api = "responses"', 'api = "answers"', "ingest[0].api", "one of responses, respondent_data (got 'answers')"),
    ("count = 20", "count = 0", "ingest[0].count", "an integer >= 1 (got 0)"),
    ("count = 20", "count = 100001", "ingest[0].count", "an integer from 1 to 100000 (got 100001)"),
    ('persona = "quota_chaser"', 'persona = "nobody"', "ingest[0].persona",
     "the name of a [personas.NAME] table: completer, screenout, "),
    ('limit = "panel"', 'limit = "ingest"', "ingest[0].limit", "the name of a [limits] table (panel; got 'ingest')"),
    ("count = 20", "count = 20\nsurvey = 300003", "ingest[0].survey",
     "one of the scenario's survey ids [100001, 200002] (got 300003)"),
    ("batch = 25", "batch = 0", "ingest[1].batch", "an integer >= 1 (got 0)"),
    ("survey = 200002", 'survey = "200002"', "ingest[1].survey", "an integer (got '200002')"),
])
def test_a_bad_ingest_table_fails_with_one_line(tmp_path: Path, old: str, new: str, key: str, expected: str) -> None:
    path = with_ingest(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    line = str(err.value)
    assert "\n" not in line and line.startswith(f"{path}: {key}: expected ") and expected in line, line


def test_ingest_must_be_an_array_of_tables(tmp_path: Path) -> None:
    path = with_ingest(tmp_path, '[ingest]\napi = "responses"\ncount = 1\n\n[thresholds]')
    with pytest.raises(ScenarioError, match=r": ingest: expected a non-empty array of tables$"):
        load_scenario(path)


def test_the_ingest_threshold_fails_unless_every_item_was_created() -> None:
    def summary(*steps: tuple[int, int]) -> dict:
        return {"requests": {}, "unexpected": 0, "respondents": 0, "outcomes": {},
                "ingest": [{"count": c, "created": n, "passed": c == n} for c, n in steps]}

    (check,) = [t for t in evaluate(Thresholds(), summary((20, 20), (50, 50))) if t["name"] == "ingest"]
    assert check == {"name": "ingest", "limit": 0, "value": 0, "passed": True}
    (check,) = [t for t in evaluate(Thresholds(), summary((20, 18), (50, 50))) if t["name"] == "ingest"]
    assert check == {"name": "ingest", "limit": 0, "value": 2, "passed": False}
    assert not [t for t in evaluate(Thresholds(), summary()) if t["name"] == "ingest"]
