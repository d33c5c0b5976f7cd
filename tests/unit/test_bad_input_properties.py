"""Any input gives a typed error or a valid result, never an unhandled exception (hypothesis):
reply bodies into the page parser and a walking respondent, and mutated survey and scenario
files into their loaders."""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path
from typing import Any

import orjson
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadtest.core.errors import Blame, LoadtestError
from loadtest.core.flow import FlowTarget, Reply, RespondentFlow
from loadtest.core.page import PageReply, parse_reply
from loadtest.core.population import Population
from loadtest.scenario.file import Scenario, ScenarioError, load_scenario
from loadtest.survey.file import SurveyFileError, parse_survey
from tests.helpers import CUSTOMER, ROOT

SMOKE_FILE = ROOT / "scenarios" / "smoke.toml"
SMOKE = load_scenario(SMOKE_FILE)
# derandomize: CI runs the same examples every time (run with --hypothesis-seed to explore more).
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                    st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                           max_leaves=20)
# Page-shaped JSON: the keys the parser reads, with values of any type, so it is exercised past the top level.
page_keys = st.sampled_from(["status", "questions", "json", "formParam", "id", "answers", "navigation", "meta",
                             "paramPrefix", "paramIdType", "type", "required", "errors", "redirectUrl", "selected"])
page_like = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(page_keys, inner, max_size=6)),
                         max_leaves=30)


def one_line(exc: BaseException) -> bool:
    return "\n" not in str(exc) and bool(str(exc))


@SETTINGS
@given(status=st.integers(100, 599), body=st.one_of(st.binary(max_size=300), page_like.map(orjson.dumps),
                                                     json_values.map(orjson.dumps)))
def test_any_reply_parses_to_a_page_or_a_server_contract_error(status: int, body: bytes) -> None:
    try:
        assert isinstance(parse_reply(status, body), PageReply)
    except LoadtestError as exc:
        assert exc.blame == "server" and one_line(exc)


@SETTINGS
@given(replies=st.lists(st.tuples(st.sampled_from([200, 200, 200, 400, 401, 404, 500]),
                                  st.one_of(page_like.map(orjson.dumps), st.binary(max_size=100))),
                        min_size=1, max_size=6), index=st.integers(0, 500))
def test_a_respondent_fed_any_replies_ends_typed_and_never_raises(replies: list[tuple[int, bytes]], index: int) -> None:
    entry, persona = Population(list(SMOKE.personas), SMOKE.seed).respondent(index)
    flow = RespondentFlow(persona, FlowTarget(entry.survey_id, "k", "http://127.0.0.1:1", frozenset()), entry.name)
    request = flow.start()
    for status, body in replies:
        if request is None:
            break
        _, request = flow.receive(Reply(status, {"x-survey-token": "t"}, body, 0.001))
    r = flow.result
    if request is None and r.outcome is None:
        raise AssertionError("the respondent stopped without an outcome")
    if r.error is not None:
        assert r.error["blame"] in {str(b) for b in Blame}


def _mutations(doc: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Replace, delete or add one value anywhere in a parsed TOML document."""
    paths: list[tuple[str, ...]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((*path, k))
                walk(v, (*path, k))

    walk(doc, ())
    toml_values = st.recursive(st.one_of(st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                                         st.text(max_size=12)),
                               lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(min_size=1, max_size=8), inner,
                                                                       max_size=3)), max_leaves=8)

    @st.composite
    def mutate(draw: st.DrawFn) -> dict[str, Any]:
        new = tomllib.loads(tomli_w.dumps(doc))  # a deep copy
        path = draw(st.sampled_from(paths))
        parent = new
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add":
            parent[draw(st.text(min_size=1, max_size=8))] = draw(toml_values)
        else:
            parent[path[-1]] = draw(toml_values)
        return new

    return mutate()


SURVEY_DOC = tomllib.loads(CUSTOMER.read_text())


@pytest.mark.slow  # 150 files written and read: seconds
@SETTINGS
@given(doc=_mutations(SURVEY_DOC))
def test_any_mutated_survey_file_loads_or_fails_with_one_line(doc: dict[str, Any]) -> None:
    try:
        parse_survey(tomli_w.dumps(doc), "mutated.toml")
    except SurveyFileError as exc:
        assert one_line(exc) and str(exc).startswith("mutated.toml")


_DIR = Path(tempfile.mkdtemp(prefix="loadtest-props-"))
SCENARIO_DOC = tomllib.loads(SMOKE_FILE.read_text())
SCENARIO_DOC["scenario"]["surveys"] = [str(ROOT / "scenarios" / f) for f in SCENARIO_DOC["scenario"]["surveys"]]
SCENARIO_DOC["scenario"]["personas_dir"] = str(ROOT / "personas")


@pytest.mark.slow  # 150 files written and read: seconds
@SETTINGS
@given(doc=_mutations(SCENARIO_DOC))
def test_any_mutated_scenario_file_loads_or_fails_with_one_line(doc: dict[str, Any]) -> None:
    path = _DIR / "mutated.toml"
    path.write_text(tomli_w.dumps(doc))
    try:
        assert isinstance(load_scenario(path), Scenario)
    except ScenarioError as exc:
        assert one_line(exc) and str(exc).startswith(str(path))
