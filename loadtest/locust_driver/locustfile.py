"""The locustfile: `locust -f loadtest/locust_driver/locustfile.py --scenario FILE [locust options]`.

Loads the scenario, prepares the respondents and hands them to RespondentUser. Each test (a
start..stop) writes reports/<run-id>/summary.json and respondents.jsonl (the schema `loadtest
run` writes) and sets the exit code: 3 when a threshold or check failed.

Start-time parameters (`--personas`, `--limits`, `--survey-id`) show in the web UI's form and
can be changed before each start. Distributed (`--master` / `--worker`): the master shares each
limit out among the connected workers (cluster.py), workers ship their samples and respondents
to it, and at the stop the master waits for every worker's final report before it writes the
summary, so no respondent is lost between the processes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import gevent
from locust import events
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from loadtest.core.usage import BadInput
from loadtest.gc_tuning import settle_for_load
from loadtest.local_defaults import DEFAULT_API_KEY, DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET
from loadtest.locust_driver.cluster import MSG_FINAL, MSG_FINISH, MSG_SHARES, shares
from loadtest.locust_driver.live_metrics import serve_live_metrics
from loadtest.locust_driver.options import add_options
from loadtest.locust_driver.shape import ScenarioStages, configure_shape
from loadtest.locust_driver.state import ProcessConfig, TestRun
from loadtest.locust_driver.stopping import Stopping
from loadtest.locust_driver.user import RespondentUser
from loadtest.locust_driver.web_tabs import install_tabs, survey_funnel
from loadtest.results.interruption import EXIT_INTERRUPTED, verdict
from loadtest.results.run_files import EXIT_WRITE_FAILED, RunFilesError, check_output_paths
from loadtest.results.summary import print_errors
from loadtest.scenario.file import Scenario, ScenarioError, load_scenario
from loadtest.scenario.overrides import OverrideError, apply_overrides
from loadtest.transport.tls import TlsSettingsError, client_context

__all__ = ["RespondentUser", "ScenarioStages"]

log = logging.getLogger("loadtest")
logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per panel request drowns Locust's own
FINAL_GRACE_S = 30.0  # on top of the callback drain, how long the master waits for a final report
SHARE_CHECK_S = 0.5

_process: dict[str, Any] = {"config": None, "run": None, "shares": {}}


def _scenario_from_argv() -> Scenario | None:
    """The scenario named on the command line, read early so the web UI's form can show its mix."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--scenario", default=os.environ.get("LOADTEST_SCENARIO", ""))
    known, _ = peek.parse_known_args()
    try:
        return load_scenario(known.scenario) if known.scenario else None
    except ScenarioError:
        return None  # reported properly at init


# Locust takes a LoadTestShape it finds here: ScenarioStages, when the scenario has [[load.stages]].
configure_shape(_scenario_from_argv(), lambda: run.walking() if (run := _current()) else 0)


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    # Locust's own parser: argument groups do not take include_in_web_ui, so they go on it directly.
    add_options(parser, _scenario_from_argv(), web_ui=True)


def _fail(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(2)


def _scenario_for_test(cfg: ProcessConfig, opts: Any) -> Scenario:
    return apply_overrides(cfg.scenario, personas=opts.personas or "", limits=opts.limits or "",
                           survey_id=opts.survey_id or "")


def _http_settings(sc: Any) -> None:
    """The scenario's extra headers and its one TLS context, for every user of this process.
    FastHttpUser accepts any certificate unless told otherwise; ours verify, like the engine."""
    try:
        RespondentUser.headers = sc.http.resolved_headers()
        ctx = client_context(sc.http.tls_ca_file, sc.http.tls_verify)
    except (BadInput, TlsSettingsError) as exc:
        _fail(str(exc))
    RespondentUser.insecure = False
    # A staticmethod: as a plain class attribute it would be bound and called with the user.
    RespondentUser.ssl_context_factory = staticmethod(lambda: ctx)
    if not sc.http.tls_verify:
        print("loadtest locust: warning: tls_verify = false: any certificate the target shows is accepted",
              file=sys.stderr, flush=True)


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    opts = environment.parsed_options
    runner = environment.runner
    role = "master" if isinstance(runner, MasterRunner) else "worker" if isinstance(runner, WorkerRunner) else "local"
    if role != "worker":  # a worker gets the scenario's parameters from its master at each start
        if not opts.scenario:
            _fail("locust: --scenario: expected a loadtest scenario file")
        if not environment.host:
            _fail("locust: --host: expected the survey API's base URL (loadtest locust starts one for you)")
    try:
        sc = load_scenario(opts.scenario) if opts.scenario else None
        if sc is not None:
            apply_overrides(sc, opts.personas or "", opts.limits or "", opts.survey_id or "")
    except (ScenarioError, OverrideError) as exc:
        _fail(str(exc))
    if sc is None:
        _fail("locust --worker: --scenario: expected the same scenario file as the master's")
    if role != "local" and sc.load.stages and sc.load.kind == "open":
        _fail(f"locust --{role}: {sc.path}: load.stages: expected a closed model for a distributed run (the open "
              "model's arrival schedule runs in one Locust process, or in loadtest run)")
    panel_key = os.environ.get(sc.panel.api_key_env, "") if sc.panel else ""
    panel_secret = os.environ.get(sc.panel.secret_env, "") if sc.panel else ""
    cfg = ProcessConfig(
        scenario=sc, host=environment.host or "", reports=Path(opts.reports), role=role,
        worker_index=runner.worker_index if role == "worker" else 0,
        api_key=os.environ.get(sc.api_key_env) or DEFAULT_API_KEY,
        panel_key=panel_key or DEFAULT_PANEL_API_KEY, panel_secret=panel_secret or DEFAULT_PANEL_SECRET,
        drain_s=opts.panel_drain,
    )
    if role != "worker":  # where the run folders go, before any load: one line and exit 2
        try:
            check_output_paths(Path(opts.reports))
        except RunFilesError as exc:
            _fail(str(exc))
    _process["config"] = RespondentUser.config = cfg
    _process["stopping"] = stopping = Stopping(environment, _current)
    stopping.install()  # SIGINT and SIGTERM: one graceful path (stopping.py)
    _http_settings(sc)
    try:  # /metrics for Prometheus, over the current test (a taken port: one line, exit 2)
        _process["exporter"] = serve_live_metrics(opts, role, sc.name, _current)
    except BadInput as exc:
        _fail(str(exc))
    if environment.web_ui is not None:
        install_tabs(environment.web_ui, lambda: run.funnel() if (run := _current()) else [],
                     lambda: run.limit_rows() if (run := _current()) else [],
                     lambda: survey_funnel(run.metrics.funnel, run.scenario.surveys) if (run := _current()) else [])
    if role == "master":
        runner.register_message(MSG_FINAL, _on_final)
    if role == "worker":
        runner.register_message(MSG_SHARES, _on_shares)
        runner.register_message(MSG_FINISH, lambda environment, msg, **_: gevent.spawn(environment.runner.stop))


def _current() -> TestRun | None:
    return _process["run"]


@events.test_start.add_listener
def _test_start(environment: Any, **_: Any) -> None:
    cfg: ProcessConfig = _process["config"]
    if cfg.role == "worker":
        cfg.host = environment.host or cfg.host  # the master's --host, sent with each spawn
    try:
        sc = _scenario_for_test(cfg, environment.parsed_options)
    except OverrideError as exc:
        log.error("loadtest: %s; the test is stopped", exc)
        environment.process_exit_code = 2
        gevent.spawn(environment.runner.quit if environment.parsed_options.headless else environment.runner.stop)
        return
    try:
        run = TestRun(cfg, sc)
    except RunFilesError as exc:  # the reports folder was fine at start; the disk changed since
        log.error("loadtest: %s; the test is stopped", exc)
        environment.process_exit_code = 2
        gevent.spawn(environment.runner.quit if environment.parsed_options.headless else environment.runner.stop)
        return
    run.on_write_failure = lambda line: _write_failed(environment, line)
    settle_for_load()  # freeze what is loaded, collect young objects in bigger batches (why: gc_tuning.py)
    _apply_master_data(run)  # shares (and panel surveys) that came before this start
    _process["run"] = RespondentUser.current = run
    if cfg.role != "worker":
        run.start_checkpoints()  # the figures so far beside respondents.jsonl, for a process killed outright
    if cfg.role == "master":
        _send_shares(environment, run)
        gevent.spawn(_share_loop, environment, run)


def _write_failed(environment: Any, line: str) -> None:
    """A run file the disk refused (a full disk): one line, the test stops, what still fits is written, exit 1."""
    print(f"loadtest: {line}: stopping the test; writing what still fits", file=sys.stderr, flush=True)
    environment.process_exit_code = EXIT_WRITE_FAILED
    gevent.spawn(environment.runner.quit if environment.parsed_options.headless else environment.runner.stop)


# --- distributed: limits ---------------------------------------------------------------------------
def _live_workers(runner: MasterRunner) -> list[str]:
    return sorted(c.id for c in runner.clients.all if c.state != STATE_MISSING)


def _leaving(run: TestRun, live: list[str], runner: Any) -> list[str]:
    """Workers that quit without their final report: one may still be draining its callbacks at
    its old share, so that share stays reserved until its final report comes, or for as long as a
    drain may take. A worker whose heartbeat stopped (Locust marks it missing after a few silent
    seconds) is lost, not leaving: it sends nothing more, so its share is freed at once and it is
    never reserved again, even once Locust forgets it."""
    now = time.monotonic()
    for worker in _missing(runner) - run.finals:
        if worker not in run.lost_workers:
            log.error("loadtest: worker %s lost (no heartbeat); its limit share goes to the others", worker)
        run.lost_workers.add(worker)
    run.lost_workers -= set(live)  # a heartbeat came back after all
    for worker in run.workers_seen - set(live) - run.finals:
        run.departed.setdefault(worker, now)
    return sorted(w for w, left in run.departed.items()
                  if w not in run.finals and w not in live and w not in run.lost_workers
                  and now - left < run.cfg.drain_s + FINAL_GRACE_S)


def _missing(runner: Any) -> set[str]:
    return {c.id for c in runner.clients.all if c.state == STATE_MISSING}


def _send_shares(environment: Any, run: TestRun) -> tuple[list[str], list[str]]:
    workers = _live_workers(environment.runner)
    leaving = _leaving(run, workers, environment.runner)
    mine = shares(run.scenario.limits, len(workers) + len(leaving))
    # With the shares go the panel surveys the master set up: a worker asks the panel about a
    # callback whose reply was lost before sending it again (engine/panel_session.py `recorded`).
    panel_surveys = {str(k): v for k, v in run.panel.session.panel_surveys.items()} if run.panel else {}
    for worker in workers:
        environment.runner.send_message(MSG_SHARES, {"shares": mine, "panel_surveys": panel_surveys},
                                        client_id=worker)
    run.workers_seen.update(workers)
    if mine:
        log.info("loadtest: limits shared among %d workers (%d more leaving): %s", len(workers), len(leaving), mine)
    return workers, leaving


def _share_loop(environment: Any, run: TestRun) -> None:
    """Recompute the shares whenever a worker joins, leaves or has finished leaving."""
    known = (_live_workers(environment.runner), _leaving(run, _live_workers(environment.runner), environment.runner))
    while run.active:
        gevent.sleep(SHARE_CHECK_S)
        live = _live_workers(environment.runner)
        if (live, _leaving(run, live, environment.runner)) != known:
            known = _send_shares(environment, run)


def _on_shares(environment: Any, msg: Any, **_: Any) -> None:
    data = msg.data or {}
    _process["shares"] = dict(data.get("shares") or {})
    _process["panel_surveys"] = {int(k): v for k, v in (data.get("panel_surveys") or {}).items()}
    run = _current()
    if run is not None:
        _apply_master_data(run)


def _apply_master_data(run: TestRun) -> None:
    for name, rate in _process["shares"].items():
        if name in run.limiters:
            run.limiters[name].set_share(rate)
    if run.panel is not None:
        run.panel.session.panel_surveys.update(_process.get("panel_surveys") or {})


# --- distributed: reports ---------------------------------------------------------------------------
@events.report_to_master.add_listener
def _report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    run = _current()
    if run is not None:
        data["loadtest"] = run.take_report()


@events.worker_report.add_listener
def _worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    run, ours = _current(), data.get("loadtest")
    if ours is None:
        return
    if run is None or run.log is None or run.log.closed:
        if ours["lines"]:
            log.warning("loadtest: %d respondents from %s arrived after the run was written", len(ours["lines"]),
                        client_id)
        return
    run.absorb(client_id, ours)


def _on_final(environment: Any, msg: Any, **_: Any) -> None:
    _worker_report(msg.node_id, {"loadtest": msg.data})
    run = _current()
    if run is not None:
        run.finals.add(msg.node_id)


# --- the stop --------------------------------------------------------------------------------------
@events.test_stop.add_listener
def _test_stop(environment: Any, **_: Any) -> None:
    cfg: ProcessConfig = _process["config"]
    run = _current()
    if run is None:
        return
    if cfg.role == "worker":
        if not run.final_sent:
            run.final_sent = True
            run.stop_sending()  # deliver the callbacks still queued, then the last report
            send_stats = getattr(environment.runner, "_send_stats", None)
            if send_stats is not None:  # Locust's own last figures first, so the master's match ours
                send_stats()
            environment.runner.send_message(MSG_FINAL, run.take_report())
            print(f"loadtest worker {cfg.worker_index}: reported {run.shipped['respondents']} respondents, "
                  f"{run.shipped['requests']} requests", file=sys.stderr, flush=True)
        if run.interruption is not None:
            environment.process_exit_code = EXIT_INTERRUPTED
        return
    run.active = False
    extra: dict[str, Any] = {}
    if cfg.role == "master":
        extra["workers"] = _collect_finals(environment, run)
    else:
        run.stop_sending()
    own = {e.name: _locust_figures(e) for e in environment.stats.entries.values()}
    summary = run.report(own, extra)
    print_errors(summary, sys.stderr)
    print(f"loadtest: {summary['respondents']} respondents, unexpected {summary['unexpected']}, "
          f"{verdict(summary)} -> {summary['run_dir']}", file=sys.stderr, flush=True)
    # Our thresholds decide, not Locust's "any failure is exit 1": a 429 the scenario tolerates
    # is a failed request in every figure, but not a failed run. A stopped run is neither.
    environment.process_exit_code = (EXIT_WRITE_FAILED if run.write_failure else EXIT_INTERRUPTED
                                     if summary["interrupted"] else 0 if summary["passed"] else 3)


def _locust_figures(entry: Any) -> dict[str, Any]:
    """Locust's own view of a step, beside ours in summary.json: its counts, and its percentiles
    (rounded to 2 significant digits by Locust; ours are 3-digit HDR)."""
    out: dict[str, Any] = {"count": entry.num_requests, "failures": entry.num_failures}
    if entry.num_requests:
        out.update({f"p{p}_ms": entry.get_response_time_percentile(p / 100) for p in (50, 95, 99)})
    return out


def _collect_finals(environment: Any, run: TestRun) -> dict[str, Any]:
    """Wait for every worker's final report. On a web-UI stop they came before the workers said
    they stopped; on a headless --run-time quit the workers are still running, so ask them."""
    runner: MasterRunner = environment.runner
    expected = run.workers_seen | set(run.remote)

    def waiting() -> set[str]:
        present = {c.id for c in runner.clients.all if c.state != STATE_MISSING}
        return (expected - run.finals) & present

    for worker in waiting():
        runner.send_message(MSG_FINISH, None, client_id=worker)
    with gevent.Timeout(run.cfg.drain_s + FINAL_GRACE_S, False):
        while waiting() and not run.cancelled.is_set():  # a second signal stops the wait
            gevent.sleep(0.05)
    lost = sorted(expected - run.finals)
    # Respondents a lost worker said it started and never reported finished: they walked the
    # target (their sessions, completes and callbacks may be there) but are in no figure here.
    with_lost = sum(max(0, run.received.get(w, {}).get("started", 0) - run.received.get(w, {}).get("respondents", 0))
                    for w in lost)
    if lost:
        log.error("loadtest: no final report from %s: %d respondents they started are missing from the run", lost,
                  with_lost)
    return {"count": len(expected), "final_reports": len(run.finals & expected), "lost": lost,
            "lost_with_worker": with_lost, "received": {w: run.received[w] for w in sorted(run.received)}}
