"""Bench driver for our engine: completer respondents, think time 0, closed model, for a fixed time.

    .venv/bin/python bench/engine_client.py URL --seconds 13 [--concurrency 32] [--log FILE]

Wired like `loadtest run` (loadtest/engine/pipeline.py): a Population of the completer persona
(personas/completer.py) on the bench survey, EngineRun with a closed load model, the
respondents.jsonl log as on_result; no progress display and no report files. Each respondent
walks take -> submit-page ... -> survey_complete; each worker then starts the next one until
--seconds have passed or SIGINT/SIGTERM comes (respondents in flight then finish). bench/client_cost.py runs this
pinned to one core and measures its CPU time from outside; at exit it prints one JSON line with
the engine's own counts, for the cross-check against the platform's.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import sys
import tempfile
from pathlib import Path

import anyio
import orjson

from loadtest.core.fake import warm_up
from loadtest.core.flow import RespondentResult
from loadtest.core.population import PersonaEntry, Population
from loadtest.engine import event_loop
from loadtest.engine.run import EngineRun
from loadtest.gc_tuning import settle_for_load
from loadtest.results.run_files import RespondentLog
from loadtest.scenario.file import LoadModel
from loadtest.scenario.persona_loader import load_persona

ROOT = Path(__file__).resolve().parent.parent
SURVEY_ID = 900001


def build(url: str, api_key: str, seconds: float, concurrency: int, log: RespondentLog | None) -> EngineRun:
    completer = load_persona(ROOT / "personas" / "completer.py")
    # As scenario.py builds a persona's params: the scenario's pinned answers (none) and think_scale.
    entry = PersonaEntry(name="completer", cls=completer, weight=1, survey_id=SURVEY_ID,
                         params={"answers": {}, "think_scale": 0.0})
    return EngineRun(
        population=Population([entry], seed=1),
        load=LoadModel(kind="closed", concurrency=concurrency, respondents=None, duration_s=seconds),
        target_url=url, api_key=api_key, request_timeout_s=10.0,
        on_result=log.write if log is not None else None,
    )


def shallow_writer(log: RespondentLog):
    """What-if for RespondentLog.write: the same JSON line (orjson serialises the nested dataclasses
    and lists itself), without dataclasses.asdict's recursive deep copy."""
    names = tuple(f.name for f in dataclasses.fields(RespondentResult))
    dumps, out = orjson.dumps, log._file

    def write(result: RespondentResult, timings: dict[str, float]) -> None:
        doc = {name: getattr(result, name) for name in names}
        doc["timings"] = timings
        out.write(dumps(doc) + b"\n")
        out.flush()

    return write


async def drive(engine: EngineRun):
    """engine.run(), with SIGINT/SIGTERM meaning: start no more respondents, finish those in flight."""
    engine.stop = anyio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, engine.stop.set)
    return await engine.run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--api-key", default="loadtest-local-key")
    parser.add_argument("--log", default=None, help="respondents.jsonl path (default: a temp file, deleted)")
    parser.add_argument("--no-log", action="store_true", help="no respondents.jsonl at all")
    # What-ifs, to size suggested changes without touching the package:
    parser.add_argument("--asyncio-loop", action="store_true",
                        help="what-if: asyncio's own loop, not the one `loadtest run` chooses (uvloop where installed)")
    parser.add_argument("--fast-log", action="store_true",
                        help="what-if: respondents.jsonl lines built from a shallow dict instead of dataclasses.asdict")
    parser.add_argument("--profile", default=None, metavar="FILE",
                        help="cProfile the run into FILE (pstats format); distorts the CPU figure")
    args = parser.parse_args()

    warm_up({"en"})
    settle_for_load()  # as `loadtest run` does once everything is loaded
    tmp = None
    log = None
    if not args.no_log:
        if args.log is None:
            fd, tmp = tempfile.mkstemp(prefix="engine-respondents-", suffix=".jsonl")
            os.close(fd)
        log = RespondentLog(Path(args.log or tmp))
    engine = build(args.url, args.api_key, args.seconds, args.concurrency, log)
    if args.fast_log and log is not None:
        engine.on_result = shallow_writer(log)
    backend = {} if args.asyncio_loop else event_loop.chosen()[1]
    try:
        if args.profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
            metrics = anyio.run(drive, engine, backend_options=backend)
            prof.disable()
            prof.dump_stats(args.profile)
        else:
            metrics = anyio.run(drive, engine, backend_options=backend)
    finally:
        if log is not None:
            log.close()
        if tmp is not None:
            os.unlink(tmp)
    out = {
        "client": "engine",
        "requests": metrics.total_requests,
        "failed": metrics.failed_requests,
        "respondents": metrics.respondents,
        "outcomes": dict(metrics.outcomes),
        "statuses": dict(metrics.statuses),
        "unexpected": metrics.unexpected,
        "elapsed_s": round(engine.elapsed_s, 3),
    }
    sys.stdout.write("RESULT " + orjson.dumps(out).decode() + "\n")
    return 0 if metrics.failed_requests == 0 and metrics.unexpected == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
