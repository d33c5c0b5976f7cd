"""offline_walk.py: personas walked on an in-process platform, for ingestion steps. No sockets."""

from __future__ import annotations

import dataclasses

from loadtest.core.population import PersonaEntry
from loadtest.engine.offline_walk import OfflineWalker
from loadtest.scenario.file import load_scenario
from tests.helpers import ROOT

SMOKE = load_scenario(ROOT / "scenarios" / "smoke.toml")
ENTRIES = {p.name: p for p in SMOKE.personas}


def test_a_walk_is_a_function_of_seed_step_and_index() -> None:
    entry = ENTRIES["completer"]
    with OfflineWalker(SMOKE.surveys) as one, OfflineWalker(SMOKE.surveys) as other:
        first = [one.walk(entry, 100001, 42, 1, i) for i in range(5)]
        again = [other.walk(entry, 100001, 42, 1, i) for i in range(5)]
        elsewhere = other.walk(entry, 100001, 42, 2, 0)
    assert [(w.answers, [q.id for q in w.questions]) for w in first] == \
           [(w.answers, [q.id for q in w.questions]) for w in again]
    assert [w.transaction_id for w in first] == [f"ing42-1-{i}" for i in range(5)]
    assert len({str(w.answers) for w in first}) == 5 and elsewhere.answers != first[0].answers
    assert all(w.outcome == "survey_complete" and w.error is None for w in first)


def test_display_logic_decides_which_pages_are_walked() -> None:
    support = {10007, 10008}
    with OfflineWalker(SMOKE.surveys) as walker:
        walks = [walker.walk(ENTRIES["completer"], 100001, 5, 0, i) for i in range(30)]
    shown = [w for w in walks if support <= {q.id for q in w.questions}]
    assert 0 < len(shown) < len(walks)
    for w in walks:
        phoned_or_mailed = bool({"50033", "50035"} & set(w.answers["m_10005"]))
        assert phoned_or_mailed == (w in shown) == ("t_50051" in w.answers)


def test_quota_cells_are_left_to_the_target() -> None:
    chaser = ENTRIES["quota_chaser"]  # always answers the 20-place gender_male cell
    with OfflineWalker(SMOKE.surveys) as walker:
        walks = [walker.walk(chaser, 100001, 1, 0, i) for i in range(25)]
    assert {w.outcome for w in walks} == {"survey_complete"} and {w.answers["u_10002"] for w in walks} == {"50012"}


def test_screenouts_and_multilingual_walks_are_what_the_persona_makes_them() -> None:
    with OfflineWalker(SMOKE.surveys) as walker:
        screened = walker.walk(ENTRIES["screenout"], 100001, 1, 0, 0)
        polyglot = walker.walk(ENTRIES["polyglot"], 200002, 1, 0, 1)
    assert screened.outcome == "terminated" and screened.answers["u_10001"] == "50002"
    assert [q.id for q in screened.questions] == [10001, 10002, 10003]
    assert polyglot.outcome == "survey_complete" and polyglot.language in ("en", "de")


def test_a_walk_that_cannot_go_on_is_reported_not_raised() -> None:
    no_password: PersonaEntry = dataclasses.replace(ENTRIES["completer"], survey_id=200002)
    with OfflineWalker(SMOKE.surveys) as walker:
        walk = walker.walk(no_password, 200002, 1, 0, 0)
    assert walk.outcome == "failed" and "authentication_required" in (walk.error or "")
