"""What a Locust process keeps: its configuration (for the whole process) and the current test.

A test is one start..stop of Locust (the web UI can start several in one process); each gets its
own run folder, metrics and panel set-up. Roles:
- local (no --master/--worker): users, limits at their full rate, callbacks, the run folder;
- worker: users, limits at the share the master gives, callbacks; it writes nothing itself but
  ships samples (HDR-encoded), respondent lines and running totals to the master;
- master: no users; the panel set-up before and reconciliation after, the run folder, and the
  sum of what its workers shipped.
No locust import here (importing locust monkey-patches the standard library at once).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import gevent
import gevent.event

from loadtest.control.panel_session import PanelSession
from loadtest.control.readback import data_check_wanted, read_back
from loadtest.core.flow import FlowTarget, RespondentResult
from loadtest.core.population import Population
from loadtest.locust_driver.cluster import callbacks_by_persona, combine_callbacks, combine_limits
from loadtest.locust_driver.gevent_io import GeventLimiter, GeventPanelIO
from loadtest.locust_driver.panel import LocustPanel
from loadtest.locust_driver.shape_plan import ArrivalSlots
from loadtest.report.render import write_run_files
from loadtest.results.checkpoint import CHECKPOINT_S, Checkpointer
from loadtest.results.interruption import mark_run
from loadtest.results.metrics import Metrics
from loadtest.results.run_files import (
    RespondentLog,
    new_run_dir,
    respondent_line,
    run_transaction_prefix,
    write_error,
)
from loadtest.results.summary import build_summary
from loadtest.scenario.file import Scenario

__all__ = ["WORKER_STRIDE", "ProcessConfig", "TestRun"]

# Respondent indices of worker k start at k * WORKER_STRIDE: unique across workers, reproducible.
WORKER_STRIDE = 10_000_000


@dataclass
class ProcessConfig:
    scenario: Scenario  # as loaded; each test applies the start-time parameters to it
    host: str
    reports: Path
    role: str  # "local" | "master" | "worker"
    worker_index: int
    api_key: str
    panel_key: str
    panel_secret: str
    drain_s: float = 60.0  # how long the callbacks still queued at the stop may take
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def next_index(self) -> int:
        # Carries on across tests in one process: a second start in the web UI gets new respondents
        # (new transaction ids), not the first test's again.
        return max(self.worker_index, 0) * WORKER_STRIDE + next(self._counter)


class TestRun:
    __test__ = False  # not a pytest test class

    def __init__(self, cfg: ProcessConfig, sc: Scenario) -> None:
        # Each test's transaction ids carry its own run id (each process draws one; a worker's
        # respondent indices are unique anyway), so tests never collide on a stateful target.
        sc = dataclasses.replace(sc, transaction_prefix=run_transaction_prefix(sc.seed, sc.transaction_prefix))
        self.cfg, self.scenario = cfg, sc
        self.population = Population(list(sc.personas), sc.seed, sc.transaction_prefix)
        target_host = urlsplit(cfg.host).hostname or ""
        self.follow = frozenset(target_host if h == "target" else h for h in sc.follow_redirects)
        self.targets: dict[int, FlowTarget] = {}  # by survey id, filled by the users (user.py)
        self.t0, self.t0_wall = time.monotonic(), time.time()
        self.metrics = self._new_metrics()
        self.started: Counter[str] = Counter()  # per persona; on a worker: since the last report
        self.started_total: Counter[str] = Counter()
        self.lines: list[bytes] = []  # a worker's respondent lines not yet shipped
        self.remote: dict[str, dict[str, Any]] = {}  # master: each worker's latest running totals
        self.finals: set[str] = set()  # master: workers whose final report arrived
        self.workers_seen: set[str] = set()  # master: workers given a share during this test
        self.departed: dict[str, float] = {}  # master: when a worker that left was first missed
        self.lost_workers: set[str] = set()  # master: workers whose heartbeat stopped (locustfile._leaving)
        self.received: dict[str, dict[str, int]] = {}  # master: respondents and requests per worker
        self.shipped = {"respondents": 0, "requests": 0}  # worker: what it reported in all
        self.active = True  # until the stop
        self.final_sent = False  # worker: its final report went out
        self.interruption: dict[str, Any] | None = None  # how a signal stopped this test (stopping.py)
        self.cancelled = gevent.event.Event()  # a second signal: stop waiting for anything in flight
        self.write_failure: str | None = None  # "<file>: No space left on device"
        self.on_write_failure: Callable[[str], None] | None = None
        # The open model's stages: idle users claim arrivals from this schedule (shape_plan.py).
        self.arrivals: ArrivalSlots | None = None
        if sc.load.stages and sc.load.kind == "open":
            self.arrivals = ArrivalSlots(sc.load.plan(), sc.load.arrivals, sc.seed, sc.load.max_in_flight,
                                         self.metrics.dropped)
        self.limiters = {name: GeventLimiter(name, rate) for name, rate in sc.limits.items()}
        if cfg.role != "worker":
            for lim in self.limiters.values():
                lim.set_share(lim.target)
        self.check_data = cfg.role != "worker" and data_check_wanted(sc)
        self.run_dir: Path | None = None
        self.log: RespondentLog | None = None
        self.checkpoints: Checkpointer | None = None
        self._ticker: gevent.Greenlet | None = None
        self._ticks_done = gevent.event.Event()
        if cfg.role != "worker":
            self.run_dir = new_run_dir(cfg.reports, sc.name, sc.seed)
            self.log = RespondentLog(self.run_dir / "respondents.jsonl")
            # A master's workers report every few seconds: a second settles later than in one process.
            self.checkpoints = Checkpointer(self.run_dir, {
                "driver": "locust", "scenario_file": str(sc.path), "scenario": sc.name, "seed": sc.seed,
                "target": cfg.host, "load": dataclasses.asdict(sc.load), "run_dir": str(self.run_dir),
                "started_at": round(self.t0_wall, 3)}, settle_s=12 if cfg.role == "master" else 2)
        self.panel: LocustPanel | None = None
        if sc.panel is not None:
            limiter = self.limiters.get(sc.panel.limit) if sc.panel.limit else None
            session = PanelSession(sc.panel, sc.panel.target or cfg.host, cfg.panel_key, cfg.panel_secret,
                                   limiter, io=GeventPanelIO())
            self.panel = LocustPanel(session)
            if cfg.role != "worker":  # one panel survey per test, made by whoever owns the run folder
                used = [sc.survey_id, *sorted({p.survey_id for p in sc.personas if p.survey_id != sc.survey_id})]
                self.panel.set_up(f"{sc.name} (seed {sc.seed})", cfg.host, used)
            if cfg.role != "master":
                self.panel.start_sending()

    def _new_metrics(self) -> Metrics:
        metrics = Metrics()
        if self.scenario.load.stages:  # per-stage figures, when Locust follows the plan (shape.py)
            metrics.track_stages(self.scenario.load.plan())
        return metrics

    def walking(self) -> int:
        """Respondents in flight in this process (local runs: a worker ships its figures away)."""
        return sum(self.started_total.values()) - self.metrics.respondents

    # --- users ------------------------------------------------------------------------------------
    def started_one(self, persona: str) -> None:
        self.started[persona] += 1
        self.started_total[persona] += 1

    def finished(self, result: RespondentResult, timings: dict[str, float]) -> None:
        self.metrics.respondent(result, timings)
        if self.log is not None:
            try:
                self.log.write(result, timings)  # first: a respondent is on disk before anything else happens
                if self.panel is not None:  # its callback may go out next
                    self.log.flush()
            except OSError as exc:
                self.refused(exc)
                return
        else:
            self.lines.append(respondent_line(result, timings))
        if self.panel is not None:
            self.panel.submit(result)

    # --- worker -> master -------------------------------------------------------------------------
    def take_report(self) -> dict[str, Any]:
        """Everything since the last report (samples, respondents) and running totals."""
        metrics, self.metrics = self.metrics, self._new_metrics()
        lines, self.lines = self.lines, []
        started, self.started = self.started, Counter()
        self.shipped["respondents"] += metrics.respondents
        self.shipped["requests"] += metrics.total_requests
        return {"worker_index": self.cfg.worker_index,
                "metrics": metrics.export(int(self.t0_wall)), "lines": lines, "started": dict(started),
                "limits": {n: lim.export() for n, lim in self.limiters.items()},
                "callbacks": self.panel.export() if self.panel is not None else None}

    def absorb(self, worker: str, report: dict[str, Any]) -> None:
        self.metrics.absorb(report["metrics"], int(self.t0_wall))
        mine = self.received.setdefault(worker, {"index": report.get("worker_index", -1), "respondents": 0,
                                                 "requests": 0, "started": 0})
        mine["respondents"] += report["metrics"]["respondents"]
        mine["started"] = mine.get("started", 0) + sum(report["started"].values())
        mine["requests"] += sum(s["count"] for s in report["metrics"]["steps"].values())
        if report["lines"] and self.log is not None and self.write_failure is None:
            try:
                self.log.write_lines(report["lines"])
            except OSError as exc:
                self.refused(exc)
        self.started.update(report["started"])
        self.started_total.update(report["started"])
        self.remote[worker] = {"limits": report["limits"], "callbacks": report["callbacks"]}

    def stop_sending(self) -> None:
        if self.panel is not None and self.cfg.role != "master":
            self.panel.drain(self.cfg.drain_s, self.cancelled)

    def cancel(self) -> None:
        self.cancelled.set()

    def write_failed(self, line: str) -> None:
        """A run file the disk refused: one line, and the test stops (the locustfile's `on_write_failure`)."""
        if self.write_failure is None:
            self.write_failure = line
            if self.on_write_failure is not None:
                self.on_write_failure(line)

    def refused(self, exc: OSError) -> None:
        """A run file's write the disk refused: one line and the test stops; any other OSError is a bug."""
        if (line := write_error(exc)) is None:
            raise exc
        self.write_failed(line)

    def checkpoint(self) -> None:
        """The figures so far into checkpoint.json (results/checkpoint.py), for a process killed
        outright; the export's zlib runs on a real thread of gevent's pool, off the hub."""
        if self.checkpoints is None:
            return
        if not self._flush_log():  # no respondent counted in the checkpoint is missing from the log
            return
        try:
            snap, open_seconds = self.checkpoints.take(self.metrics)  # appends the settled timeline seconds
        except OSError as exc:
            self.refused(exc)
            return
        extra = {"elapsed_s": round(time.monotonic() - self.t0, 3), "started": sum(self.started_total.values()),
                 "finished": self.metrics.respondents, "limits": self.limits(),
                 **({"callbacks": self.callbacks()} if self.panel is not None else {})}
        writer = self.checkpoints

        def write() -> OSError | None:  # returned, not raised: gevent's pool prints what a thread raises
            try:
                writer.write(snap, open_seconds, extra)
            except OSError as exc:
                return exc
            return None

        failure = gevent.get_hub().threadpool.apply(write)
        if failure is not None:
            self.refused(failure)

    def _flush_log(self) -> bool:
        """respondents.jsonl's waiting lines onto the disk; False (and the test stopping) if it is full."""
        if self.log is None or self.log.closed:
            return True
        try:
            self.log.flush()
        except OSError as exc:
            self.refused(exc)
            return False
        return True

    def start_checkpoints(self) -> None:
        def every() -> None:
            while True:
                self.checkpoint()
                if self._ticks_done.wait(CHECKPOINT_S):
                    return

        if self.checkpoints is not None:
            self._ticker = gevent.spawn(every)

    def _stop_checkpoints(self) -> None:
        """Before the checks: no write left in flight, and one last checkpoint of the whole load."""
        if self._ticker is not None:
            self._ticks_done.set()
            self._ticker.join()
            self._ticker = None
            self.checkpoint()

    # --- what people look at --------------------------------------------------------------------------
    def _limit_reports(self) -> list[dict[str, Any]]:
        if self.cfg.role == "master":
            return [r["limits"] for r in self.remote.values()]
        return [{n: lim.export() for n, lim in self.limiters.items()}]

    def _callback_reports(self) -> list[dict[str, Any]]:
        if self.cfg.role == "master":
            return [r["callbacks"] for r in self.remote.values() if r["callbacks"]]
        return [self.panel.export()] if self.panel is not None else []

    def limits(self) -> dict[str, Any]:
        return combine_limits(self.scenario.limits, self._limit_reports())

    def callbacks(self) -> dict[str, Any] | None:
        if self.panel is None:
            return None
        s = self.panel.session
        return combine_callbacks(self._callback_reports(), {str(k): v for k, v in s.panel_surveys.items()},
                                 s.settings.mode)

    def funnel(self) -> list[dict[str, Any]]:
        """One row per persona and a total: the Respondents tab."""
        by_cb = callbacks_by_persona(self._callback_reports())
        rows = []
        for name in sorted(set(self.started_total) | set(self.metrics.personas)):
            p = self.metrics.personas.get(name, {"respondents": 0, "outcomes": Counter(), "unexpected": 0})
            rows.append(_row(name, self.started_total[name], p["respondents"], p["outcomes"], p["unexpected"],
                             by_cb.get(name, {})))
        total_cb: Counter[str] = Counter()
        for states in by_cb.values():
            total_cb.update(states)
        rows.append(_row("Total", sum(self.started_total.values()), self.metrics.respondents, self.metrics.outcomes,
                         self.metrics.unexpected, total_cb))
        return rows

    def limit_rows(self) -> list[dict[str, Any]]:
        return [{"name": name, "target": lim["target"], "achieved": lim["achieved"] or 0, "granted": lim["granted"],
                 "processes": lim["processes"]} for name, lim in self.limits().items()]

    def _walked_by_lost_worker(self, extra: dict[str, Any] | None) -> Callable[[int], bool] | None:
        """Master: which respondent indices a lost worker walked (its callbacks may have died
        queued in it); None when no worker was lost."""
        lost = (extra or {}).get("workers", {}).get("lost") or []
        indices = frozenset(self.received[w]["index"] for w in lost if w in self.received)
        if not indices:
            return None
        return lambda index: index // WORKER_STRIDE in indices

    def report(self, locust_stats: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write summary.json (the schema `loadtest run` writes) and return it."""
        assert self.run_dir is not None and self.log is not None
        self._flush_log()
        self._stop_checkpoints()
        panel = None
        checks = not self.cancelled.is_set()  # after a second signal: the report now, with what there is
        if self.panel is not None:
            panel = {"callbacks": self.callbacks(),
                     "reconciliation": self.panel.reconcile(self.log.path, self.scenario.transaction_prefix,
                                                            self._walked_by_lost_worker(extra))
                     if checks else None}
            self.panel.close()
        if self.check_data and checks:
            # The read-back is the engine's async client: an asyncio loop inside this greenlet
            # (gevent's patched selectors let the other greenlets, Locust's own, run meanwhile).
            extra = {**(extra or {}), "data_check": anyio.run(read_back, self.scenario, self.cfg.host, self.log.path)}
        summary = build_summary(self.scenario, self.metrics, target=self.cfg.host,
                                duration_s=time.monotonic() - self.t0, driver="locust", limits=self.limits(),
                                panel=panel, extra={"locust_stats": locust_stats, "run_dir": str(self.run_dir),
                                                    "started": sum(self.started_total.values()), **(extra or {})},
                                respondents=self.log.path, planned=bool(self.scenario.load.stages))
        _lost_workers_threshold(summary, self.scenario.load.allow_lost_workers)
        mark_run(summary, self.interruption)
        if self.write_failure is not None:  # a full disk stopped the test: no verdict either
            summary["write_error"], summary["passed"] = self.write_failure, False
        try:
            write_run_files(self.run_dir, summary, self.metrics.timeline_rows())
        except OSError as exc:
            self.refused(exc)
        else:
            if self.checkpoints is not None:
                self.checkpoints.close()  # summary.json is written: the checkpoint has done its work
        self._flush_log()
        self.log.close()
        return summary


def _lost_workers_threshold(summary: dict[str, Any], allowed: bool) -> None:
    """A master's run fails when a worker was lost (its respondents are missing from every figure)
    unless the scenario's `[load] allow_lost_workers = true` accepts that."""
    workers = summary.get("workers")
    if workers is None:
        return
    lost = len(workers["lost"])
    summary["lost_with_worker"] = workers.get("lost_with_worker", 0)
    summary["thresholds"].append({"name": "lost_workers", "limit": "any (allow_lost_workers)" if allowed else 0,
                                  "value": lost, "passed": allowed or lost == 0})
    summary["passed"] = summary["passed"] and (allowed or lost == 0)


def _row(name: str, started: int, finished: int, outcomes: Any, unexpected: int, cb: Any) -> dict[str, Any]:
    main = ("survey_complete", "terminated", "quota_full", "abandoned", "incomplete")
    return {"name": name, "started": started, "finished": finished, "completed": outcomes.get("survey_complete", 0),
            "terminated": outcomes.get("terminated", 0), "quota_full": outcomes.get("quota_full", 0),
            "other": sum(v for k, v in outcomes.items() if k not in main), "abandoned": outcomes.get("abandoned", 0),
            "incomplete": outcomes.get("incomplete", 0), "unexpected": unexpected,
            "callbacks_accepted": cb.get("accepted", 0),
            "callbacks_failed": cb.get("rejected", 0) + cb.get("gave_up", 0)}
