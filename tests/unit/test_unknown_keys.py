"""A key no table knows is an error naming the file, the key and the closest known key; a URL
target needs only a survey id; personas are found by name, a scenario's own folder first."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.scenario.file import ScenarioError, load_scenario
from loadtest.survey.file import SurveyFileError, load_survey
from tests.helpers import CUSTOMER, ROOT

SMOKE = ROOT / "scenarios" / "smoke.toml"

URL_SCENARIO = """
[scenario]
target = "https://surveys.example.test"
survey_id = 4242
api_key_env = "QA_KEY"

[load]
model = "closed"
concurrency = 2
respondents = 4

[personas.completer]
weight = 1
"""


def smoke_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = SMOKE.read_text()
    assert old in text
    out = tmp_path / "s.toml"
    out.write_text(text.replace(old, new, 1).replace('"surveys/', f'"{ROOT}/scenarios/surveys/'))
    return out


def one_line(exc: BaseException, path: Path, key: str) -> str:
    line = str(exc)
    assert "\n" not in line and line.startswith(f"{path}: {key}: unknown key"), line
    return line


@pytest.mark.parametrize(("old", "new", "key", "hint"), [
    ("concurrency = 50", "concurency = 4", "load.concurency", "did you mean concurrency?"),
    ('api_key_env = "LOADTEST_API_KEY"', 'apikey_env = "LOADTEST_API_KEY"', "scenario.apikey_env",
     "did you mean api_key_env?"),
    ("[load]", "[lode]", "lode", "did you mean load?"),
    ("model = \"closed\"", "model = \"closed\"\narrival_rate = 5", "load.arrival_rate",
     "for model = \"closed\""),
    ("panel = { rate = 10 }", "panel = { rat = 10 }", "limits.panel.rat", "did you mean rate?"),
    ('algorithm = "sha3_256"', 'algoritm = "sha3_256"', "panel.algoritm", "did you mean algorithm?"),
    ("target_completes = 15", "target_complete = 15", "panel.quotas[0].target_complete",
     "did you mean target_completes?"),
    ("error_ratio = 0.0", "error_rate = 0.0", "thresholds.error_rate", "did you mean error_ratio?"),
    ("survey_complete = { min = 0.3 }", "survey_complete = { mn = 0.3 }", "thresholds.outcome_share.survey_complete.mn",
     "did you mean min?"),
    ("[thresholds]", "[regression]\np95_increse = 0.3\n\n[thresholds]", "regression.p95_increse",
     "did you mean p95_increase?"),
    ("[thresholds]", "[data_check]\ntoken = \"X\"\n\n[thresholds]", "data_check.token", "did you mean token_env?"),
])
def test_a_misspelt_scenario_key_is_named_with_the_closest_known_one(tmp_path: Path, old: str, new: str, key: str,
                                                                     hint: str) -> None:
    path = smoke_variant(tmp_path, old, new)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert hint in one_line(err.value, path, key)


def test_a_misspelt_ingest_key(tmp_path: Path) -> None:
    path = smoke_variant(tmp_path, "[thresholds]", '[[ingest]]\napi = "responses"\ncont = 3\n\n[thresholds]')
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "did you mean count?" in one_line(err.value, path, "ingest[0].cont")
    batch = smoke_variant(tmp_path, "[thresholds]", '[[ingest]]\napi = "responses"\ncount = 3\nbatch = 2\n\n'
                                                    "[thresholds]")
    with pytest.raises(ScenarioError) as err:
        load_scenario(batch)
    assert "for api = 'responses'" in one_line(err.value, batch, "ingest[0].batch")


def test_a_misspelt_step_in_a_latency_threshold_gets_a_suggestion(tmp_path: Path) -> None:
    path = smoke_variant(tmp_path, "take = 250", "tkae = 250")
    with pytest.raises(ScenarioError, match=r"thresholds\.p95_ms\.tkae: expected a step name: .*"
                                            r"\(did you mean take\?\)"):
        load_scenario(path)


@pytest.mark.parametrize(("old", "new", "key", "hint"), [
    ("speeder_min_seconds = 3.0", "speeder_min_secs = 3.0", "quality.speeder_min_secs",
     "did you mean speeder_min_seconds?"),
    ("[quality]", "[qualty]", "qualty", "did you mean quality?"),
    ('title = "Acme', 'titel = "Acme', "survey.titel", "did you mean title?"),
    ("min_length = 5", "min_lenght = 5", "pages[3].questions[1].min_lenght", "for a text question (did you mean "
     "min_length?)"),
    ("limit = 20", "limt = 20", "quotas[0].limt", "did you mean limit?"),
])
def test_a_misspelt_survey_key_is_named_with_the_closest_known_one(tmp_path: Path, old: str, new: str, key: str,
                                                                   hint: str) -> None:
    text = CUSTOMER.read_text()
    assert old in text, old
    path = tmp_path / "survey.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(SurveyFileError) as err:
        load_survey(path)
    line = str(err.value)
    assert "\n" not in line and line.startswith(f"{path}: ") and "unknown key" in line and hint in line, line


def test_a_key_of_another_question_type_is_unknown_on_this_one(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[survey]\nid = 1\ntitle = "t"\n[[pages]]\nid = "p"\n[[pages.questions]]\nid = 2\n'
                    'type = "numeric"\ntext = "n"\nanswer_id = 3\nmax_length = 4\n')
    with pytest.raises(SurveyFileError, match=r"pages\[0\]\.questions\[0\]\.max_length: unknown key for a numeric "
                                              r"question \(known keys: id, type, text, required, answer_id, min, max"):
        load_survey(path)


def test_a_language_the_survey_does_not_list_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[survey]\nid = 1\ntitle = "t"\nlanguages = ["en", "de"]\n[[pages]]\nid = "p"\n'
                    '[[pages.questions]]\nid = 2\ntype = "text"\ntext = { en = "a", de = "b", fr = "c" }\n'
                    "answer_id = 3\n")
    with pytest.raises(SurveyFileError, match=r"questions\[0\]\.text\.fr: unknown key, not a survey language"):
        load_survey(path)


# --- a URL target: survey ids only ---------------------------------------------------------------
def test_a_url_scenario_needs_only_the_survey_id(tmp_path: Path) -> None:
    path = tmp_path / "url.toml"
    path.write_text(URL_SCENARIO)
    sc = load_scenario(path)
    assert sc.surveys == () and sc.survey_files == () and sc.survey_id == 4242
    assert [p.survey_id for p in sc.personas] == [4242] and sc.api_key_env == "QA_KEY"


def test_without_survey_files_the_survey_id_is_required(tmp_path: Path) -> None:
    path = tmp_path / "url.toml"
    path.write_text(URL_SCENARIO.replace("survey_id = 4242\n", ""))
    with pytest.raises(ScenarioError, match=r"scenario\.survey_id: expected the id of the survey on the target"):
        load_scenario(path)


def test_the_embedded_platform_needs_survey_files(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    path.write_text(URL_SCENARIO.replace('target = "https://surveys.example.test"', 'target = "embedded"'))
    with pytest.raises(ScenarioError, match=r"scenario\.surveys: expected .* for the embedded platform to serve"):
        load_scenario(path)


def test_ingestion_without_a_survey_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "url.toml"
    path.write_text(URL_SCENARIO + '\n[[ingest]]\napi = "responses"\ncount = 2\n')
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    line = str(err.value)
    assert "\n" not in line and line.startswith(f"{path}: ingest: expected scenario.surveys as well"), line


# --- personas by name ------------------------------------------------------------------------------
def test_built_in_personas_are_found_from_a_scenario_anywhere(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "url.toml"
    path.parent.mkdir(parents=True)
    path.write_text(URL_SCENARIO + "\n[personas.screener]\nscript = \"screenout\"\nanswers = { 1 = \"2\" }\n")
    sc = load_scenario(path)
    assert [p.cls.name for p in sc.personas] == ["completer", "screenout"]


def test_a_personas_dir_adds_scripts_and_overrides_built_ins_by_name(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    own.mkdir()
    (own / "completer.py").write_text(
        '"""A completer of our own."""\nfrom loadtest.persona import Persona\n\n\n'
        'class OurCompleter(Persona):\n    name = "completer"\n    expects = frozenset({"terminated"})\n')
    (own / "lurker.py").write_text(
        '"""Lurker."""\nfrom loadtest.persona import Persona\n\n\nclass Lurker(Persona):\n    name = "lurker"\n')
    path = tmp_path / "s.toml"
    path.write_text(URL_SCENARIO.replace('api_key_env = "QA_KEY"', 'api_key_env = "QA_KEY"\npersonas_dir = "mine"')
                    + "\n[personas.lurker]\n\n[personas.speeder]\n")
    by_name = {p.name: p.cls for p in load_scenario(path).personas}
    assert by_name["completer"].expects == frozenset({"terminated"})  # ours, not the built-in
    assert by_name["lurker"].name == "lurker" and by_name["speeder"].name == "speeder"


def test_an_unknown_persona_names_the_closest_one(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(URL_SCENARIO.replace("[personas.completer]", "[personas.complete]"))
    with pytest.raises(ScenarioError, match=r"personas\.complete\.script: expected a persona script built in .*"
                                            r"there is no 'complete' \(did you mean completer\?\)"):
        load_scenario(path)


def test_a_missing_personas_dir_is_named(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(URL_SCENARIO.replace('api_key_env = "QA_KEY"', 'api_key_env = "QA_KEY"\npersonas_dir = "nope"'))
    with pytest.raises(ScenarioError, match=r"scenario\.personas_dir: expected a folder of persona scripts"):
        load_scenario(path)


def test_a_transaction_prefix_must_be_url_safe(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(URL_SCENARIO.replace("survey_id = 4242", 'survey_id = 4242\ntransaction_prefix = "qa run"'))
    with pytest.raises(ScenarioError, match=r"scenario\.transaction_prefix: expected up to 40 letters"):
        load_scenario(path)
    path.write_text(URL_SCENARIO.replace("survey_id = 4242", 'survey_id = 4242\ntransaction_prefix = "qa-7"'))
    assert load_scenario(path).transaction_prefix == "qa-7"
