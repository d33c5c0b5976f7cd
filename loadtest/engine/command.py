"""`loadtest run`: the command line of the anyio engine; the pipeline itself is pipeline.py."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "main"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run a scenario with the anyio engine (headless) and write reports/<run-id>/")
    run.add_argument("scenario", type=Path, metavar="SCENARIO")
    run.add_argument("--target", default=None, metavar="URL",
                     help="base URL of the survey API (default: the scenario's; 'embedded' starts the reference platform)")
    run.add_argument("--respondents", type=int, default=None, metavar="N", help="closed model: respondents in all")
    run.add_argument("--duration", type=float, default=None, metavar="S", dest="duration_s",
                     help="closed: stop starting respondents after S seconds; open: the arrival window")
    run.add_argument("--seed", type=int, default=None, metavar="N", help="scenario seed (same seed, same respondents)")
    run.add_argument("--record", type=Path, default=None, metavar="FILE",
                     help="write every request and reply (secrets redacted) as JSON lines, for replay")
    run.add_argument("--reports", type=Path, default=Path("reports"), metavar="DIR", help="where run folders go")
    run.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from loadtest.engine.pipeline import RunOptions, run

    return run(RunOptions(scenario=args.scenario, target=args.target, respondents=args.respondents,
                          duration_s=args.duration_s, seed=args.seed, record=args.record, reports=args.reports))


