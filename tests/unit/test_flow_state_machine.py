"""RespondentFlow as a state machine (hypothesis): built-in personas walk the reference platform's
respondent API in process (no socket), interleaved, with replies lost before or after the platform
processed the request; the flow's promises are checked after every step. Then the Persona API's
definition-time errors, a lost move's state put back, and personas/README.md's example, run.

The platform reads a clock per respondent (its own time, moved by each request's think_s), so
the speeder rule sees each respondent's pace, not the interleaving's."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from loadtest.core.answers import echo_mismatches
from loadtest.core.errors import Blame, PersonaDefinitionError, TransportError
from loadtest.core.flow import (
    FAULT_HEADER,
    TRANSITIONS,
    Event,
    FlowTarget,
    Input,
    PageShown,
    Recovery,
    Reply,
    Request,
    RespondentFlow,
    State,
)
from loadtest.core.page import HTTP_ERROR, parse_reply
from loadtest.core.persona import Persona
from loadtest.core.persona import rule as persona_rule
from loadtest.core.population import PersonaEntry, build_persona
from loadtest.platform.in_process import HOST, InProcessPlatform
from loadtest.scenario.file import ScenarioError, load_scenario
from loadtest.scenario.persona_loader import load_persona
from loadtest.survey.model import Page, Survey
from tests.helpers import ROOT

SMOKE = load_scenario(ROOT / "scenarios" / "smoke.toml")
ENTRIES = {e.name: e for e in SMOKE.personas}
NAMES = sorted(ENTRIES)  # every persona of the smoke scenario, its pinned answers included
SURVEYS = {s.id: s for s in SMOKE.surveys}
CS_ID = 100001
MALE_CELL = 1  # the smoke survey's 20-place gender_male cell, tightened so a second chaser meets it full
FRESH_TAKERS = frozenset({"returner"})  # personas that enter again as a fresh browser (no token)
MAX_LOSSES = 3  # lost replies per respondent: the flow recovers from these (it gives up after 8 in a row)
SERVICE_S = 0.01  # what a request costs a respondent's clock besides its think time
EPOCH = 1_750_000_000.0
LOST = "connection reset by peer (lost by the test)"


# --- one respondent, as the machine drives it --------------------------------------------------
@dataclass
class Walker:
    index: int
    name: str
    flow: RespondentFlow
    request: Request | None
    now: float = EPOCH
    token: str | None = None  # the latest x-survey-token of a reply the flow was given
    losses: int = 0
    went_back: bool = False
    on: tuple[int, ...] = ()  # question ids of the last reply the flow read (() for a gate)
    shown: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)  # (step, status, question ids)
    landed: dict[tuple[int, ...], dict[str, Any]] = field(default_factory=dict)  # the form the platform took, by page
    echo_problems: list[str] = field(default_factory=list)
    moves: list[tuple[State, Input, State]] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.request is not None


def request_token(request: Request) -> str | None:
    return dict(request.headers).get("x-survey-token")


def page_of(survey: Survey, qids: tuple[int, ...]) -> int:
    found = [i for i, p in enumerate(survey.pages) if tuple(q.id for q in p.questions) == qids]
    assert len(found) == 1, f"questions {qids} are no page of survey {survey.id}"
    return found[0]


def visible(survey: Survey, page: Page, answers: dict[str, Any]) -> bool:
    """Display logic, from the answers the respondent submitted (single u_, multi m_)."""
    cond = page.show_if
    if cond is None:
        return True
    q = cond.question
    given = answers.get(f"u_{q}", answers.get(f"m_{q}", []))
    picked = {given} if isinstance(given, str) else set(given)
    return bool({int(a) for a in picked} & cond.answers)


class RespondentsOnThePlatform(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.current: Walker | None = None  # whose clock the platform reads
        self.platform = InProcessPlatform(SMOKE.surveys, clock=self.clock)
        self.platform.platform.api.quota_limits[CS_ID]["gender_male"] = MALE_CELL
        self.walkers: list[Walker] = []

    def clock(self) -> float:
        return self.current.now if self.current is not None else EPOCH

    def teardown(self) -> None:
        self.platform.close()

    # --- the driver ---------------------------------------------------------------------------
    def deliver(self, w: Walker) -> Reply:
        """Send w's request to the platform; note the form it took, if it took one."""
        request = w.request
        assert request is not None
        w.now += request.think_s + SERVICE_S
        self.current = w
        try:
            reply = self.platform.send_sync(request)
        finally:
            self.current = None
        if request.step == "submit-page" and w.on and reply.status == 200:
            if parse_reply(reply.status, reply.body).status != "validation_errors":
                w.landed[w.on] = orjson.loads(request.body)
        return reply

    def handed_out(self, w: Walker, before: State, given: Input, events: list[Event], nxt: Request | None) -> None:
        w.moves.append((before, given, w.flow.state))
        for e in events:
            if isinstance(e, PageShown):
                w.shown.append((e.step, e.status, e.questions))
        if nxt is not None:
            if nxt.step == "previous-page":
                w.went_back = True
            if nxt.step == "take" and request_token(nxt) is None:
                w.token = None  # a fresh browser: the flow starts over without a session
        w.request = nxt

    def pick(self, data: st.DataObject, walkers: list[Walker]) -> Walker:
        return data.draw(st.sampled_from(walkers), label="respondent")

    # --- rules --------------------------------------------------------------------------------
    # Rules are switched off at random per example (hypothesis's swarm testing); respondents
    # started here keep an example without `start` going.
    @initialize(names=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3), seed=st.integers(0, 2**32))
    def first_respondents(self, names: list[str], seed: int) -> None:
        for i, name in enumerate(names):
            self.start(name, seed + i)

    @precondition(lambda self: sum(w.live for w in self.walkers) < 4)
    @rule(name=st.sampled_from(NAMES), seed=st.integers(0, 2**32))
    def start(self, name: str, seed: int) -> None:
        entry = ENTRIES[name]
        index = len(self.walkers)
        persona = build_persona(entry, index, seed, f"sm-{index}")
        target = FlowTarget(entry.survey_id, api_key=self.platform.api_key, host=HOST, follow_hosts=frozenset({HOST}))
        flow = RespondentFlow(persona, target, entry.name)
        assert flow.state is State.NEW
        request = flow.start()
        self.walkers.append(Walker(index, name, flow, request, moves=[(State.NEW, Input.START, flow.state)]))

    @precondition(lambda self: any(w.live for w in self.walkers))
    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        w = self.pick(data, [w for w in self.walkers if w.live])
        step = w.request.step if w.request is not None else ""
        reply = self.deliver(w)
        before = w.flow.state
        events, nxt = w.flow.receive(reply)
        adopted = before is not State.FOLLOWING and reply.status not in (429, 502, 503, 504) \
            and FAULT_HEADER not in reply.headers
        if adopted and reply.headers.get("x-survey-token"):
            w.token = reply.headers["x-survey-token"]
        if before is not State.FOLLOWING and 200 <= reply.status < 300:
            page = parse_reply(reply.status, reply.body)
            w.on = tuple(q.id for q in page.questions)
            back_navigation = SURVEYS[w.flow.result.survey_id].back_navigation  # else the same page comes back
            if step == "previous-page" and page.status == "success" and back_navigation:
                earlier = w.landed.get(w.on)
                assert earlier is not None, f"previous-page showed {w.on}, a page the platform never took"
                w.echo_problems += [p for q in page.questions for p in echo_mismatches(q, earlier)]
        self.handed_out(w, before, Input.REPLY, events, nxt)

    @precondition(lambda self: any(w.live and w.losses < MAX_LOSSES for w in self.walkers))
    @rule(data=st.data(), reached=st.booleans())
    def lose_a_reply(self, data: st.DataObject, reached: bool) -> None:
        """The request's reply never arrives: it reached the platform (processed) or it did not."""
        w = self.pick(data, [w for w in self.walkers if w.live and w.losses < MAX_LOSSES])
        if reached:
            self.deliver(w)
        else:
            assert w.request is not None
            w.now += w.request.think_s
        w.losses += 1
        before = w.flow.state
        events, nxt = w.flow.lost(TransportError(LOST))
        self.handed_out(w, before, Input.LOST, events, nxt)

    # --- invariants ---------------------------------------------------------------------------
    @invariant()
    def completes_never_exceed_a_quota_cell(self) -> None:
        api, store = self.platform.platform.api, self.platform.platform.store
        for survey_id, limits in api.quota_limits.items():
            for quota_id, count in store.quota_counts(survey_id).items():
                assert count <= limits[quota_id], f"{quota_id}: {count} completes, limit {limits[quota_id]}"
        chasers_in = [w for w in self.walkers if w.flow.result.outcome == "survey_complete"
                      and w.flow.answers().get("u_10002") == "50012" and w.flow.result.survey_id == CS_ID]
        assert len(chasers_in) <= MALE_CELL

    @invariant()
    def every_request_echoes_the_latest_token(self) -> None:
        for w in self.walkers:
            if w.request is None or w.request.step == "redirect":
                continue  # a redirect goes to the panel's URL: no session there
            sent = request_token(w.request)
            if w.request.step in ("submit-page", "previous-page", "resume"):
                assert w.token is not None and sent == w.token, f"{w.request.step} sent {sent}, latest {w.token}"
            else:  # take: the latest token, none before the first reply, or none as a fresh browser
                assert sent in (None, w.token)
                assert sent is not None or w.token is None or w.name in FRESH_TAKERS

    @invariant()
    def no_page_is_skipped(self) -> None:
        for w in self.walkers:
            if w.went_back or w.losses:
                continue
            survey = SURVEYS[w.flow.result.survey_id]
            answers = w.flow.answers()
            last = -1
            for _step, status, qids in w.shown:
                at = page_of(survey, qids)
                if at == last:
                    assert status == "validation_errors", f"page {at} shown twice with {status}"
                    continue
                assert at > last, f"page {at} shown after page {last}"
                skipped = survey.pages[last + 1:at]
                assert not [p.id for p in skipped if visible(survey, p, answers)], f"skipped to page {at}"
                assert visible(survey, survey.pages[at], answers)
                last = at

    @invariant()
    def back_navigation_shows_the_last_answers(self) -> None:
        for w in self.walkers:
            assert not w.echo_problems, (w.name, w.echo_problems)

    @invariant()
    def every_flow_moves_by_its_table_and_ends_accounted_for(self) -> None:
        for w in self.walkers:
            flow, res = w.flow, w.flow.result
            assert isinstance(flow.state, State)
            for before, given, after in w.moves:
                assert after in TRANSITIONS[(before, given)], f"{before} -{given}-> {after}"
            assert (flow.state is State.DONE) == flow.done == (not w.live)
            if w.live:
                assert (res.outcome is not None) == (flow.state is State.FOLLOWING)
                continue
            assert res.outcome is not None
            if res.outcome == "failed":
                assert res.error is not None and res.error["blame"] in {b.value for b in Blame} and res.error["error"]
                assert not res.expected
            else:
                assert res.error is None
            # The reference platform, recovered or not: every persona gets what it expects.
            assert res.expected and not res.checks, (w.name, res.outcome, res.checks, res.error, res.recoveries)
            assert all(r.how != "pending" for r in res.recoveries)


# derandomize: the same examples every run, as the other property tests (--hypothesis-seed explores).
RespondentsOnThePlatform.TestCase.settings = settings(max_examples=60, stateful_step_count=80, deadline=None,
                                                      derandomize=True, database=None)
TestRespondentsOnThePlatform = RespondentsOnThePlatform.TestCase


def test_an_opt_out_whose_take_landed_but_was_lost_still_ends_opted_out() -> None:
    """The entry take itself ended the respondent; its retry is answered already_completed."""
    entry = ENTRIES["opt_out"]
    with InProcessPlatform(SMOKE.surveys) as platform:
        flow = RespondentFlow(build_persona(entry, 0, 1, "opt-1"), FlowTarget(entry.survey_id, platform.api_key, HOST))
        take = flow.start()
        platform.send_sync(take)  # the platform opted the respondent out; the reply never arrived
        _, again = flow.lost(TransportError(LOST))
        assert again is not None and again.step == "take"
        _, done = flow.receive(platform.send_sync(again))
    assert done is None and flow.result.outcome == "survey_opt_out" and flow.result.expected


# --- the Persona API refuses what cannot work, when the class is defined ------------------------
def test_a_misspelt_status_names_the_file_the_method_and_the_closest_status() -> None:
    with pytest.raises(PersonaDefinitionError) as caught:
        class Typo(Persona):
            @persona_rule(status="sucess")
            def answer(self, page: Any) -> None:
                return None
    message = str(caught.value)
    assert __file__ in message and "Typo.answer" in message and "did you mean 'success'?" in message


def test_a_misspelt_status_in_a_script_is_reported_with_the_script(tmp_path: Path) -> None:
    script = tmp_path / "typo.py"
    script.write_text("from loadtest.persona import Persona, rule\n\n\nclass Typo(Persona):\n"
                      "    @rule(status=('success', 'terminatd'))\n    def go(self, page):\n        return None\n")
    with pytest.raises(Exception, match=r"typo\.py:5: Typo\.go: .*'terminatd'.*did you mean 'terminated'"):
        load_persona(script)


def test_overriding_a_rule_without_rule_is_refused() -> None:
    completer = ENTRIES["completer"].cls
    with pytest.raises(PersonaDefinitionError, match="overrides the rule 'answer_page' without @rule"):
        class Quiet(completer):  # type: ignore[valid-type,misc]
            def answer_page(self, page: Any) -> None:
                return None


def test_a_precondition_naming_no_method_is_refused() -> None:
    with pytest.raises(PersonaDefinitionError, match=r"when='missing_method' names no method of .*Picky"):
        class Picky(Persona):
            @persona_rule(status="success", when="missing_method")
            def answer(self, page: Any) -> None:
                return None


def test_an_unknown_parameter_is_answered_with_the_closest_known_one() -> None:
    abandoner = ENTRIES["abandoner"].cls
    assert abandoner.check_parameter("max_page", 3) == "a parameter of persona 'abandoner' (did you mean max_pages?)"
    assert abandoner.check_parameter("max_pages", 3) is None
    assert abandoner.check_parameter("max_pages", "3") == "a whole number (got str)"
    assert abandoner.check_parameter("think_scale", True) == "a number (got a boolean)"


# --- a lost move that never landed: the persona decides the page again, its state put back -------
def walk(platform: InProcessPlatform, entry: PersonaEntry, seed: int, txn: str,
         lose_submit: int | None = None) -> RespondentFlow:
    """One respondent to its end; the reply of its `lose_submit`-th submit is lost before the platform
    gets the request."""
    now = [EPOCH]
    platform.platform.api.clock = lambda: now[0]
    flow = RespondentFlow(build_persona(entry, 0, seed, txn), FlowTarget(entry.survey_id, platform.api_key, HOST),
                          entry.name)
    request: Request | None = flow.start()
    submits = 0
    while request is not None:
        now[0] += request.think_s + SERVICE_S
        if request.step == "submit-page":
            submits += 1
            if submits == lose_submit:
                _, request = flow.lost(TransportError(LOST))
                continue
        _, request = flow.receive(platform.send_sync(request))
    return flow


def distinct_pages(flow: RespondentFlow) -> list[tuple[int, ...]]:
    pages = flow.result.pages
    return [p for i, p in enumerate(pages) if i == 0 or p != pages[i - 1]]


def test_an_abandoner_whose_submit_never_landed_counts_that_page_once() -> None:
    entry = ENTRIES["abandoner"]
    seed = next(s for s in range(100) if build_persona(entry, 0, s, "x").stop_after >= 2)  # type: ignore[attr-defined]
    with InProcessPlatform(SMOKE.surveys) as platform:
        calm = walk(platform, entry, seed, "calm")
        lossy = walk(platform, entry, seed, "lossy", lose_submit=2)
    assert lossy.result.recoveries == (Recovery("submit-page", "TransportError", "resubmitted"),)
    for flow in (calm, lossy):
        persona: Any = flow.persona
        assert flow.result.outcome == "abandoned" and flow.result.expected
        assert persona.pages_done == persona.stop_after >= 2
        assert len(distinct_pages(flow)) == persona.stop_after + 1
    assert lossy.result.pages[1] == lossy.result.pages[2]  # the page it had to decide again


def test_a_validation_fixer_whose_broken_submit_never_landed_breaks_it_again() -> None:
    entry = ENTRIES["validation_fixer"]
    with InProcessPlatform(SMOKE.surveys) as platform:
        calm = walk(platform, entry, 7, "calm")
        lossy = walk(platform, entry, 7, "lossy", lose_submit=1)  # the invalid submit
    assert lossy.result.recoveries == (Recovery("submit-page", "TransportError", "resubmitted"),)
    for flow in (calm, lossy):
        persona: Any = flow.persona
        assert flow.result.outcome == "survey_complete" and flow.result.expected and not flow.result.checks
        assert flow.result.statuses.count("validation_errors") == 1 and persona.broke == frozenset()


# --- personas/README.md's example persona loads and walks to survey_complete ---------------------
README = ROOT / "personas" / "README.md"


def readme_block(language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text("utf-8"), flags=re.S)
    found = [b for b in blocks if containing in b]
    assert len(found) == 1, f"personas/README.md: one ```{language} block with {containing!r}"
    return str(found[0])


def test_the_readme_example_persona_loads_and_completes(tmp_path: Path) -> None:
    (tmp_path / "my_personas").mkdir()
    (tmp_path / "my_personas" / "skimmer.py").write_text(readme_block("python", "class Skimmer"))
    (tmp_path / "surveys").mkdir()
    for file in SMOKE.survey_files:
        shutil.copy(file, tmp_path / "surveys" / file.name)
    example = readme_block("toml", "[personas.skimmer]")
    (tmp_path / "skim.toml").write_text(example)
    scenario = load_scenario(tmp_path / "skim.toml")
    (tmp_path / "typo.toml").write_text(example.replace("answer_optional", "answer_optinal"))
    with pytest.raises(ScenarioError, match="did you mean answer_optional"):
        load_scenario(tmp_path / "typo.toml")
    entry = next(e for e in scenario.personas if e.name == "skimmer")
    assert entry.cls.name == "skimmer" and entry.cls.check_parameter("answer_optional", 0.25) is None
    survey = next(s for s in scenario.surveys if s.id == entry.survey_id)
    optional = {q.id for p in survey.pages for q in p.questions if not q.required}
    assert optional, "the example survey has an optional question to skip"
    skipped = 0
    with InProcessPlatform(scenario.surveys) as platform:
        for i in range(12):
            flow = walk(platform, entry, 1000 + i, f"skim-{i}")
            res = flow.result
            assert res.outcome == "survey_complete" and res.expected and not res.checks, (res.outcome, res.error)
            assert HTTP_ERROR not in res.statuses
            skipped += len(flow.persona.skipped_in_all)  # type: ignore[attr-defined]
    assert skipped > 0
