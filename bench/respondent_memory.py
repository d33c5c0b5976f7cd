"""Memory per respondent in flight, by what holds it: the engine's own objects, no sockets.

    .venv/bin/python bench/respondent_memory.py [--sizes 2000,20000] [--no-write]

For each size N, one engine over the in-process platform (bench/surveys/bench.toml) starts N
completers whose think time is stretched so that none finishes, waits until all N are thinking
after their first page, and takes a tracemalloc snapshot of everything allocated but the
platform's own objects. The cost of one respondent in flight is the slope between the sizes
(fixed costs cancel); the lines of code that hold the most per respondent are listed. Python
objects only: bench/scale.py measures the RSS of real runs over sockets, which adds the
allocator's slack and the connections. Each size runs in its own process; bounded by --timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import results

ROOT = Path(__file__).resolve().parent.parent
SURVEY = ROOT / "bench" / "surveys" / "bench.toml"
TOP = 12


def _where(frame: tracemalloc.Frame) -> str:
    path = Path(frame.filename)
    return f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{frame.lineno}"


def measure(n: int) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    from loadtest.core.population import Population
    from loadtest.engine.run import EngineRun
    from loadtest.platform.in_process import HOST, InProcessPlatform
    from loadtest.scenario.file import load_scenario
    from loadtest.scenario.load import LoadModel
    from loadtest.survey.file import load_survey

    sc = load_scenario(ROOT / "scenarios" / "smoke.toml")
    entries = [dataclasses.replace(e, params={**e.params, "think_scale": 10_000.0}, survey_id=900001)
               for e in sc.personas if e.name == "completer"]
    ticks = iter(range(1_700_000_000, 1_900_000_000, 60))  # a minute a call: nobody is a speeder
    out: dict[str, object] = {}

    async def main() -> None:
        with InProcessPlatform([load_survey(SURVEY)], clock=lambda: float(next(ticks)), quotas_fill=False) as p:
            engine = EngineRun(population=Population(entries, sc.seed), target_url=f"http://{HOST}",
                               load=LoadModel(kind="open", arrival_rate=5000.0, duration_s=n / 5000.0,
                                              max_in_flight=2 * n),
                               api_key=p.api_key, transport=p, on_result=lambda r, t: None)
            walk = asyncio.create_task(engine.run())
            while engine.started < n or engine.metrics.total_requests < n:  # every one past its take
                await asyncio.sleep(0.05)
            snap = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, "*/loadtest/platform/*"), tracemalloc.Filter(False, tracemalloc.__file__)])
            lines = snap.statistics("lineno")
            out["started"] = engine.started
            out["bytes"] = sum(s.size for s in lines)
            out["lines"] = {_where(s.traceback[0]): s.size for s in lines[:200]}
            walk.cancel()

    tracemalloc.start()
    asyncio.run(main())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2000,20000")
    ap.add_argument("--timeout", type=float, default=900, help="seconds each size may take")
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, measured in this process
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(","))
    got = {}
    for n in sizes:
        done = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True,
                              timeout=args.timeout, check=True)
        got[n] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{n:>7} in flight: {got[n]['bytes'] / 1024:,.0f} KB traced", flush=True)
    small, large = sizes[0], sizes[-1]
    per = (got[large]["bytes"] - got[small]["bytes"]) / (large - small)
    rows = []
    for where, size in got[large]["lines"].items():
        slope = (size - got[small]["lines"].get(where, 0)) / (large - small)
        if slope >= 40:
            rows.append((slope, where))
    rows.sort(reverse=True)
    lines = [*results.header("bench/respondent_memory.py", results.machine(())),
             f"Python objects per respondent in flight (thinking after its first page), slope from {small:,} "
             f"to {large:,}: **{per:,.0f} bytes** ({per / 1024:.2f} KB). What holds the most of it:", "",
             "| bytes / respondent | allocated at |", "|---:|---|"]
    lines += [f"| {slope:,.0f} | `{where}` |" for slope, where in rows[:TOP]]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        results.write_section("respondent-memory", "Memory per respondent in flight, by what holds it", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
