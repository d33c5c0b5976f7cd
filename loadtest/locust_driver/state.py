"""What one Locust process shares across its users: the scenario, the respondents, our metrics.

No locust import here (importing locust monkey-patches the standard library); user.py and
locustfile.py are the only modules that import it.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loadtest.core.fake import warm_up
from loadtest.core.flow import RespondentResult
from loadtest.core.population import Population
from loadtest.metrics import Metrics
from loadtest.platform.app import DEFAULT_API_KEY
from loadtest.report.run_files import RespondentLog, new_run_dir, write_summary
from loadtest.scenario import Scenario, load_scenario
from loadtest.thresholds import evaluate

__all__ = ["DriverState", "build_state"]

# Respondent indices of worker k start at k * WORKER_STRIDE: unique across workers, reproducible.
WORKER_STRIDE = 10_000_000


@dataclass
class DriverState:
    scenario: Scenario
    population: Population
    api_key: str
    host: str
    follow: frozenset[str]
    run_dir: Path
    offset: int = 0
    metrics: Metrics = field(default_factory=Metrics)
    t0: float = field(default_factory=time.monotonic)
    _counter: Any = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.log = RespondentLog(self.run_dir / "respondents.jsonl")

    def next_index(self) -> int:
        return self.offset + next(self._counter)

    def finished(self, result: RespondentResult, timings: dict[str, float]) -> None:
        self.metrics.respondent(result)
        self.log.write(result, timings)

    def report(self, locust_stats: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write summary.json (the same schema as `loadtest run`) and return it. `locust_stats` is
        Locust's own count per request name at the same moment, shown beside ours."""
        self.log.flush()
        sc, m = self.scenario, self.metrics
        outcomes = dict(sorted(m.outcomes.items()))
        outcomes.setdefault("abandoned", 0)
        summary: dict[str, Any] = {
            "scenario": sc.name, "scenario_file": str(sc.path), "target": self.host, "seed": sc.seed,
            "driver": "locust", "duration_s": round(time.monotonic() - self.t0, 3), "respondents": m.respondents,
            "requests": m.requests_summary(), "outcomes": outcomes, "statuses": dict(sorted(m.statuses.items())),
            "personas": m.personas_summary(), "unexpected": m.unexpected,
            "checks_failed": dict(sorted(m.checks.items())), "errors_by_blame": dict(sorted(m.errors_by_blame.items())),
            "dropped_arrivals": 0, "limits": {}, "run_dir": str(self.run_dir),
            "locust_stats": locust_stats or {},
        }
        summary["thresholds"] = evaluate(sc.thresholds, summary)
        summary["passed"] = all(t["passed"] for t in summary["thresholds"])
        write_summary(self.run_dir / "summary.json", summary)
        return summary


def build_state(scenario_path: str, host: str, reports: str, worker_index: int = 0) -> DriverState:
    sc = load_scenario(scenario_path)  # ScenarioError (one line) propagates to the caller
    api_key = os.environ.get(sc.api_key_env) or DEFAULT_API_KEY
    warm_up({lang for s in sc.surveys for lang in s.languages})
    target_host = urlsplit(host).hostname or ""
    follow = frozenset(target_host if h == "target" else h for h in sc.follow_redirects)
    name = sc.name if worker_index <= 0 else f"{sc.name}-worker{worker_index}"
    return DriverState(
        scenario=sc, population=Population(list(sc.personas), sc.seed), api_key=api_key, host=host,
        follow=follow, run_dir=new_run_dir(Path(reports), name, sc.seed), offset=max(worker_index, 0) * WORKER_STRIDE,
    )
