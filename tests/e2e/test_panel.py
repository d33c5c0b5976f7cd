"""Completion callbacks end to end: limits held, nothing lost, nothing twice, drops caught."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import orjson
import pytest

from loadtest.control.limiter import Limiter
from loadtest.control.panel_session import PanelSession
from loadtest.core.flow import RespondentResult
from loadtest.local_defaults import DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET
from loadtest.platform.embedded import embedded_platform
from loadtest.scenario.file import PanelSettings
from tests.e2e.test_run import SMOKE, loadtest, scenario_variant, smoke_run, summary
from tests.helpers import CUSTOMER, ROOT


def test_smoke_reports_every_outcome_once_within_the_limit_and_reconciles(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    # `loadtest run scenarios/smoke.toml`, made once for this test and test_run's smoke test.
    out, reports = smoke_run(tmp_path_factory)
    assert out.returncode == 0, out.stdout + out.stderr
    s = summary(reports)
    cb, rec = s["callbacks"], s["reconciliation"]
    assert rec["passed"] and rec["problems"] == {} and rec["respondents_checked"] == 200
    told = sum(n for k, n in s["outcomes"].items() if k in ("survey_complete", "quota_full", "terminated"))
    told += s["personas"]["returner"]["respondents"]  # the panel hears of a returner's completion
    assert cb["accepted"] == told and cb["sent"] == told
    assert cb["too_many_requests"] == 0 and cb["gave_up"] == 0 and cb["rejected"] == 0
    assert s["limits"]["panel"]["achieved"] <= 10 * 1.01
    chasers = s["personas"]["quota_chaser"]["outcomes"]
    assert chasers["survey_complete"] == 15  # the panel's DIY quota binds before the survey's own


def test_without_the_limit_the_platforms_429s_show_and_are_retried(tmp_path: Path) -> None:
    # Only screenouts, 30 at once, with no think time: each is done after one page (two
    # requests), so their 30 callbacks come in one burst within a fraction of a second, three
    # times the panel's burst of 10 and well past its 10 a second however slow the machine is.
    # (60 screenouts thinking ~1 s each made the same burst, and took twice as long to drain.)
    scenario = scenario_variant(tmp_path, SMOKE, **{'limit = "panel"': "", "panel = { rate = 10 }": "",
                                                    "concurrency = 50": "concurrency = 30",
                                                    'name = "smoke"': 'name = "smoke"\nthink_scale = 0.0'})
    text = re.sub(r"^weight = \d+", "weight = 0", scenario.read_text(), flags=re.M)
    scenario.write_text(text.replace("[personas.screenout]\nweight = 0", "[personas.screenout]\nweight = 1"))
    out = loadtest("run", str(scenario), "--respondents", "30", "--reports", str(tmp_path / "r"))
    s = summary(tmp_path / "r")
    assert s["callbacks"]["too_many_requests"] > 0, s["callbacks"]
    assert s["callbacks"]["gave_up"] == 0 and s["reconciliation"]["passed"], out.stdout


def test_a_dropped_callback_is_caught_by_reconciliation(tmp_path: Path) -> None:
    results = []
    for i, (outcome, statuses) in enumerate([("survey_complete", ["success", "survey_complete"])] * 3):
        results.append(RespondentResult(index=i, persona="p", seed=i, survey_id=100001, transaction_id=f"D-{i}",
                                        outcome=outcome, statuses=statuses))
    log = tmp_path / "respondents.jsonl"
    log.write_bytes(b"".join(orjson.dumps({"index": r.index, "transaction_id": r.transaction_id, "outcome": r.outcome,
                                           "statuses": r.statuses, "details": {}}) + b"\n" for r in results))

    async def main(url: str) -> dict:  # type: ignore[type-arg]
        settings = PanelSettings(quotas=())
        session = PanelSession(settings, url, DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET, Limiter("panel", 50))
        async with session:
            await session.set_up("drop test", url, [100001])
            for r in results[:2]:  # the third callback is deliberately never sent
                await session.callbacks.deliver(r)
            return await session.reconcile(log)  # type: ignore[return-value]

    with embedded_platform([CUSTOMER], cwd=ROOT) as platform:
        # The transactions exist on the platform once respondents entered with them.
        import httpx

        with httpx.Client(base_url=platform.url) as c:
            for r in results:
                c.get("/a/api/v2/surveys/100001/take", params={"transaction_id": r.transaction_id},
                      headers={"api-key": "loadtest-local-key"})
        report = asyncio.run(main(platform.url))
    assert not report["passed"]
    assert report["mismatches"] == [{"transaction_id": "D-2", "respondent": 2, "persona": None,
                                     "outcome": "survey_complete", "expected": 10, "recorded": None,
                                     "problem": "missing"}]
