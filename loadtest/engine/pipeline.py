"""`loadtest run`: from a scenario file to reports/<run-id>/ and an exit code.

Starts the reference platform when the target is "embedded" (in its own process, on a free
loopback port, serving the scenario's surveys), runs the engine with a progress display, writes
summary.json and respondents.jsonl, evaluates thresholds and checks: 0 when all hold, 3 if not.
SIGINT and SIGTERM are one path (stopping.py): the first stops starting respondents and lets
those in flight finish, the report is still written; a second cancels the ones in flight (they
are counted as `incomplete`, and how many were cancelled is said). An interrupted run is marked
so (`interrupted` in summary.json) and exits 4 (results/interruption.py), never 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import ssl
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio

from loadtest.control.fault_journal import fault_journal
from loadtest.control.limiter import Limiters
from loadtest.control.panel_session import PanelSession
from loadtest.control.preflight import Credentials, PreflightError, preflight
from loadtest.control.readback import data_check_wanted, read_back
from loadtest.core.fake import warm_up
from loadtest.core.flow import RespondentResult
from loadtest.core.population import Population
from loadtest.core.usage import BadInput
from loadtest.engine.checkpoints import EngineCheckpoints
from loadtest.engine.event_loop import EventLoopError, chosen
from loadtest.engine.ingest import Ingestion, ingest_token
from loadtest.engine.progress import show_progress
from loadtest.engine.run import EngineRun
from loadtest.engine.stopping import Stopping
from loadtest.gc_tuning import settle_for_load
from loadtest.local_defaults import DEFAULT_API_KEY, DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET
from loadtest.platform.embedded import PlatformStartError, check_faults, embedded_platform
from loadtest.report.render import write_run_files
from loadtest.results.interruption import EXIT_INTERRUPTED, mark_run
from loadtest.results.metrics import Metrics
from loadtest.results.prometheus import LiveView, start_exporter
from loadtest.results.recording import Recorder
from loadtest.results.run_files import (
    EXIT_WRITE_FAILED,
    RespondentLog,
    RunFilesError,
    check_output_paths,
    new_run_dir,
    run_transaction_prefix,
    write_error,
)
from loadtest.results.summary import build_summary, print_summary
from loadtest.scenario.file import Scenario, ScenarioError, load_scenario
from loadtest.transport.tls import TlsSettingsError, client_context

__all__ = ["RunOptions", "run"]


@dataclasses.dataclass
class RunOptions:
    scenario: Path
    target: str | None = None
    respondents: int | None = None
    duration_s: float | None = None
    seed: int | None = None
    record: Path | None = None
    reports: Path = Path("reports")
    concurrency: int | None = None  # closed model: respondents in flight at once
    arrival_rate: float | None = None  # open model: respondents starting per second
    preflight: bool = True  # one take (and one DIY call) before any load; off: --no-preflight
    prometheus_port: int | None = None  # serve /metrics there while the run goes (results/prometheus.py)
    prometheus_host: str = "127.0.0.1"


def prepare(opts: RunOptions) -> Scenario:
    try:
        sc = load_scenario(opts.scenario)
        if sc.faults:
            check_faults(sc.path)
    except (ScenarioError, PlatformStartError) as exc:
        raise BadInput(str(exc)) from None
    load = sc.load
    if opts.respondents is not None:
        if opts.respondents < 1:
            raise BadInput(f"--respondents: expected a whole number >= 1 (got {opts.respondents})")
        load = dataclasses.replace(load, respondents=opts.respondents)
    if opts.duration_s is not None:
        if opts.duration_s <= 0:
            raise BadInput(f"--duration: expected seconds > 0 (got {opts.duration_s})")
        load = dataclasses.replace(load, duration_s=opts.duration_s)
    if opts.concurrency is not None:
        if load.kind != "closed":
            raise BadInput(f"--concurrency: expected a closed-model scenario ({sc.path} has load.model = \"open\"; "
                           "use --arrival-rate)")
        if opts.concurrency < 1:
            raise BadInput(f"--concurrency: expected a whole number >= 1 (got {opts.concurrency})")
        _no_stages(sc, "--concurrency")
        load = dataclasses.replace(load, concurrency=opts.concurrency)
    if opts.arrival_rate is not None:
        if load.kind != "open":
            raise BadInput(f"--arrival-rate: expected an open-model scenario ({sc.path} has load.model = "
                           "\"closed\"; use --concurrency)")
        if not opts.arrival_rate > 0:
            raise BadInput(f"--arrival-rate: expected respondents per second > 0 (got {opts.arrival_rate})")
        _no_stages(sc, "--arrival-rate")
        load = dataclasses.replace(load, arrival_rate=opts.arrival_rate)
    if load.stages and load.respondents is not None and load.respondents < load.concurrency:
        raise BadInput(f"--respondents: expected at least the stages' peak of {load.concurrency} in flight "
                       f"(got {load.respondents}; {sc.path} has [[load.stages]])")
    if opts.target is not None and opts.target != "embedded" and not opts.target.startswith(("http://", "https://")):
        raise BadInput(f"--target: expected an http(s) URL (got {opts.target!r})")
    target = opts.target or sc.target
    if target == "embedded" and not sc.survey_files:
        raise BadInput(f"{sc.path}: scenario.surveys: expected survey files for the embedded platform to serve "
                       "(this scenario names none)")
    seed = opts.seed if opts.seed is not None else sc.seed
    return dataclasses.replace(sc, load=load, seed=seed, target=target,
                               transaction_prefix=run_transaction_prefix(seed, sc.transaction_prefix))


def _no_stages(sc: Scenario, option: str) -> None:
    if sc.load.stages:
        raise BadInput(f"{option}: expected a scenario without [[load.stages]] ({sc.path} has them: each stage's "
                       "target sets the load; --duration cuts the plan or holds its last target)")


@contextlib.contextmanager
def _target(sc: Scenario) -> Iterator[str]:
    if sc.target != "embedded":
        yield sc.target
        return
    extra = ["--api-key-env", sc.api_key_env]
    if sc.faults:  # the scenario's [faults] table, injected by the platform it starts
        extra += ["--faults", str(sc.path)]
    try:
        with embedded_platform(sc.survey_files, extra=extra) as platform:
            yield platform.url
    except PlatformStartError as exc:
        raise BadInput(str(exc)) from None


def run(opts: RunOptions, out: Any = sys.stdout) -> int:
    stopping = Stopping()
    with stopping.installed():  # from before the target starts until the report is written
        return _run(opts, out, stopping)


def _run(opts: RunOptions, out: Any, stopping: Stopping) -> int:
    sc = prepare(opts)
    env_key = os.environ.get(sc.api_key_env)
    if sc.target != "embedded" and not env_key:
        raise BadInput(f"{sc.path}: scenario.api_key_env: expected the environment variable {sc.api_key_env} "
                       "to hold the API key for a non-embedded target (it is not set)")
    api_key = env_key or DEFAULT_API_KEY
    panel_key, panel_secret = _panel_credentials(sc)
    check_data = data_check_wanted(sc)
    data_token = ingest_token(sc)  # before the run folder exists: a missing token is bad input
    headers = sc.http.resolved_headers()  # an unset header_env variable is bad input, before any load
    tls = _tls_context(sc, out)
    try:
        loop_name, loop_options = chosen()
    except EventLoopError as exc:
        raise BadInput(str(exc)) from None
    # Before any load: a port already taken is one line and exit 2.
    exporter = start_exporter(opts.prometheus_port, opts.prometheus_host,
                              LiveView(labels={"scenario": sc.name, "driver": "engine"}))
    try:  # where the run's files go, before any load: one line and exit 2, and no empty run folder left
        check_output_paths(opts.reports, opts.record)
        warm_up({lang for survey in sc.surveys for lang in survey.languages})
        settle_for_load()  # freeze what is loaded, collect young objects in bigger batches (why: gc_tuning.py)
        run_dir = new_run_dir(opts.reports, sc.name, sc.seed)
    except RunFilesError as exc:
        raise BadInput(str(exc)) from None
    log = RespondentLog(run_dir / "respondents.jsonl")
    secrets = [s for s in (api_key, panel_key, panel_secret, *sc.http.secrets()) if s]
    recorder = Recorder(opts.record, secrets) if opts.record else None
    limiters = Limiters.from_rates(sc.limits)
    ingestion = Ingestion(sc, api_key, data_token, limiters) if sc.ingest else None
    try:
        with _target(sc) as url:
            if opts.preflight:  # before any load: a wrong URL, key or survey id is one line and exit 2
                _preflight(sc, url, api_key, panel_key, panel_secret)
            if recorder is not None:
                _guarded(recorder.header, stopping, opts.record)(sc.path, sc.seed, url, sc.api_key_env,  # type: ignore[misc]
                                                    [(s.id, f) for s, f in zip(sc.surveys, sc.survey_files,
                                                                               strict=True)])
            engine = EngineRun(
                population=Population(list(sc.personas), sc.seed, sc.transaction_prefix), load=sc.load,
                target_url=url, api_key=api_key,
                follow_redirects=sc.follow_redirects, request_timeout_s=sc.request_timeout_s,
                policy=sc.policy, api_key_env=sc.api_key_env, on_request=_guarded(recorder, stopping, opts.record),
                limiter=limiters.get("survey"), headers=headers, ssl_context=tls,
            )
            if exporter is not None:  # what /metrics reads from now on
                exporter.view.metrics, exporter.view.limits = lambda: engine.metrics, limiters.summary
                exporter.view.in_flight = lambda: engine.started - engine.finished
            panel = None
            if sc.panel is not None:
                panel = PanelSession(sc.panel, sc.panel.target or url, panel_key, panel_secret,
                                     limiters.get(sc.panel.limit) if sc.panel.limit else None)
            engine.on_result = _fan_out(log, panel, stopping)
            checkpoints = EngineCheckpoints(run_dir, sc, "embedded" if sc.target == "embedded" else sc.target, log,
                                            lambda: {"limits": limiters.summary(),
                                                     **({"callbacks": panel.summary()} if panel else {})},
                                            on_error=stopping.failed)
            metrics, panel_report, data_check = anyio.run(_drive, engine, sc, panel, url, log, check_data, ingestion,
                                                          stopping, checkpoints, backend_options=loop_options)
    finally:
        _guarded(log.close, stopping, log.path)()  # type: ignore[misc]  # its last batch may meet a full disk
        if exporter is not None:
            exporter.close()
        if recorder is not None:
            _guarded(recorder.close, stopping, opts.record)()  # type: ignore[misc]
    summary = build_summary(sc, metrics, target="embedded" if sc.target == "embedded" else sc.target,
                            duration_s=engine.elapsed_s, driver="engine", limits=limiters.summary(), panel=panel_report,
                            extra={"event_loop": loop_name,
                                   **({"data_check": data_check} if data_check is not None else {}),
                                   **({"platform_faults": engine.platform_faults} if engine.platform_faults else {}),
                                   **({"ingest": ingestion.report()} if ingestion is not None else {})},
                            respondents=log.path)
    summary["run_dir"] = str(run_dir)
    mark_run(summary, stopping.report())
    if stopping.write_failure is not None:  # a full disk stopped the run: no verdict either
        summary["write_error"], summary["passed"] = stopping.write_failure, False
    try:
        write_run_files(run_dir, summary, metrics.timeline_rows())
    except OSError as exc:
        if (line := write_error(exc)) is None:
            raise
        stopping.failed(line, "the report is incomplete (the checkpoint is kept: loadtest report rebuilds it)")
    else:
        checkpoints.close()  # summary.json is written: the checkpoint has done its work
    print_summary(summary, out)
    if stopping.write_failure is not None:
        return EXIT_WRITE_FAILED
    return EXIT_INTERRUPTED if stopping.interrupted else 0 if summary["passed"] else 3


def _preflight(sc: Scenario, url: str, api_key: str, panel_key: str, panel_secret: str) -> None:
    try:
        lines = preflight(sc, url, Credentials(api_key, panel_key, panel_secret), sc.transaction_prefix or "")
    except PreflightError as exc:
        raise BadInput(str(exc)) from None
    for line in lines:
        print(line, file=sys.stderr, flush=True)


def _tls_context(sc: Scenario, out: Any) -> ssl.SSLContext:
    try:
        ctx = client_context(sc.http.tls_ca_file, sc.http.tls_verify)
    except TlsSettingsError as exc:
        raise BadInput(f"{sc.path}: scenario.tls_ca_file: {exc}") from None
    if not sc.http.tls_verify:
        print(f"loadtest run: warning: tls_verify = false: any certificate {sc.target} shows is accepted",
              file=sys.stderr)
    return ctx


def _panel_credentials(sc: Scenario) -> tuple[str, str]:
    if sc.panel is None:
        return "", ""
    key, secret = os.environ.get(sc.panel.api_key_env), os.environ.get(sc.panel.secret_env)
    remote = sc.panel.target is not None or sc.target != "embedded"
    if remote and not (key and secret):
        raise BadInput(f"{sc.path}: panel.api_key_env / panel.secret_env: expected {sc.panel.api_key_env} and "
                       f"{sc.panel.secret_env} to be set for a panel that is not the embedded platform")
    return key or DEFAULT_PANEL_API_KEY, secret or DEFAULT_PANEL_SECRET


def _fan_out(log: RespondentLog, panel: PanelSession | None, stopping: Stopping
             ) -> Callable[[RespondentResult, dict[str, float]], None]:
    def on_result(result: RespondentResult, timings: dict[str, float]) -> None:
        try:
            log.write(result, timings)  # first: a respondent is on disk before anything else happens to it
            if panel is not None:  # its callback may go out next
                log.flush()
        except OSError as exc:
            if (line := write_error(exc)) is None:
                raise
            stopping.failed(line)  # a full disk: the run stops, with one line, not a traceback per respondent
            return
        if panel is not None:
            panel.submit(result)

    return on_result


def _guarded(recorder: Callable[..., None] | None, stopping: Stopping, path: Path | None = None
             ) -> Callable[..., None] | None:
    """The recorder (or one of its methods), with a full disk stopping the run instead of raising
    into a respondent."""
    if recorder is None:
        return None

    def record(*args: Any) -> None:
        try:
            recorder(*args)
        except OSError as exc:
            exc.filename = exc.filename or (str(path) if path else None)
            if (line := write_error(exc)) is None:
                raise
            stopping.failed(line)

    return record


async def _drive(engine: EngineRun, sc: Scenario, panel: PanelSession | None, url: str, log: RespondentLog,
                 check_data: bool, ingestion: Ingestion | None = None, stopping: Stopping | None = None,
                 checkpoints: EngineCheckpoints | None = None
                 ) -> tuple[Metrics, dict[str, Any] | None, dict[str, Any] | None]:
    stopping = stopping or Stopping()
    stop = engine.stop = anyio.Event()
    scopes = [anyio.CancelScope(), anyio.CancelScope()]  # the load, then the checks: a second signal cancels both

    def on_signal(count: int) -> None:
        name = stopping.signals[count - 1]
        stop.set()
        if count == 1:
            stopping.say(f"{name}: stopping: no new respondents; waiting for the {engine.started - engine.finished} "
                         "in flight (Ctrl-C again to cancel them); the report is still written")
        elif stopping.cancelled_in_flight is None:
            stopping.cancelled_in_flight = engine.started - engine.finished
            stopping.say(f"{name}: cancelling the {stopping.cancelled_in_flight} respondents in flight; "
                         "skipping the checks; writing the report")
            for scope in scopes:
                scope.cancel()

    def on_failure() -> None:  # a run file that cannot be written: nothing more can be recorded
        stop.set()
        for scope in scopes:
            scope.cancel()

    stopping.attach(asyncio.get_running_loop(), on_signal, on_failure)
    try:
        return await _stages(engine, sc, panel, url, log, check_data, ingestion, scopes[0], scopes[1], checkpoints)
    finally:
        stopping.detach()


async def _stages(engine: EngineRun, sc: Scenario, panel: PanelSession | None, url: str, log: RespondentLog,
                  check_data: bool, ingestion: Ingestion | None, load: anyio.CancelScope, checks: anyio.CancelScope,
                  checkpoints: EngineCheckpoints | None = None
                  ) -> tuple[Metrics, dict[str, Any] | None, dict[str, Any] | None]:
    total = sc.load.planned_respondents()
    report: dict[str, Any] | None = None
    async with contextlib.AsyncExitStack() as stack:
        if panel is not None:
            await stack.enter_async_context(panel)
            used = [sc.survey_id, *sorted({p.survey_id for p in sc.personas if p.survey_id != sc.survey_id})]
            await panel.set_up(f"{sc.name} (seed {sc.seed})", url, used)
        with load:
            if ingestion is not None:  # after the panel's quotas exist, before any live respondent
                await ingestion.run(url, engine.metrics, stop=engine.stop)
            async with anyio.create_task_group() as tg:
                progress, ticking = anyio.CancelScope(), anyio.CancelScope()

                async def show() -> None:
                    with progress:
                        await show_progress(engine.progress, total, sc.load.duration_s)

                async def checkpoint(every: EngineCheckpoints) -> None:
                    with ticking:
                        await every.every(engine)

                tg.start_soon(show)
                if checkpoints is not None:  # the figures so far, for a run killed outright
                    tg.start_soon(checkpoint, checkpoints)
                if panel is not None:
                    tg.start_soon(panel.send_all)
                await engine.run()
                if panel is not None:
                    panel.finish_sending()  # the senders drain the queue, then end
                progress.cancel()
                ticking.cancel()
            if checkpoints is not None:
                await checkpoints.now(engine)  # the whole load, should the checks never end
        data_check = None
        with checks:  # a second signal skips them: the report now, with what there is
            if panel is not None:
                log.flush()
                reconciliation = await panel.reconcile(log.path, sc.transaction_prefix)
                report = {"callbacks": panel.summary(), "reconciliation": reconciliation}
            if check_data:
                log.flush()
                data_check = await read_back(sc, url, log.path)
            if sc.faults:  # the platform's own count of what it injected (resets carry no tag)
                engine.platform_faults = await fault_journal(url)
        if checks.cancel_called:
            return engine.metrics, None, None
    return engine.metrics, report, data_check
