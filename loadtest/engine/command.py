"""`loadtest run`: the command line of the anyio engine; the pipeline itself is pipeline.py."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["EXAMPLES", "add_parser", "main"]

EXAMPLES = """examples:
  loadtest run scenarios/smoke.toml                       the reference platform, started and stopped for you
  loadtest run x/scenario.toml -u 20 --duration 120       20 respondents at once for two minutes
  loadtest run steady.toml --arrival-rate 50              open model: 50 new respondents a second
  LOADTEST_API_KEY=... loadtest run s.toml --target https://staging.example.com
  loadtest run s.toml --seed 7 --record rec.jsonl         the same respondents as any run with seed 7
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run a scenario with the anyio engine (headless) and write reports/<run-id>/",
                         description="Run a scenario with the anyio engine (headless) and write reports/<run-id>/. "
                         "Before any load, one take (and one DIY API call, with a panel) checks the target.",
                         epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("scenario", type=Path, metavar="SCENARIO")
    run.add_argument("--target", default=None, metavar="URL",
                     help="base URL of the survey API (default: the scenario's; 'embedded' starts the reference "
                          "platform)")
    run.add_argument("--respondents", type=int, default=None, metavar="N", help="closed model: respondents in all")
    run.add_argument("-u", "--concurrency", type=int, default=None, metavar="N",
                     help="closed model: respondents in flight at once (the scenario's load.concurrency)")
    run.add_argument("--arrival-rate", type=float, default=None, metavar="R",
                     help="open model: respondents starting per second (the scenario's load.arrival_rate)")
    run.add_argument("--duration", type=float, default=None, metavar="S", dest="duration_s",
                     help="closed: stop starting respondents after S seconds; open: the arrival window")
    run.add_argument("--seed", type=int, default=None, metavar="N", help="scenario seed (same seed, same respondents)")
    run.add_argument("--record", type=Path, default=None, metavar="FILE",
                     help="write every request and reply (secrets redacted) as JSON lines, for replay")
    run.add_argument("--reports", type=Path, default=Path("reports"), metavar="DIR", help="where run folders go")
    run.add_argument("--no-preflight", action="store_false", dest="preflight",
                     help="skip the take (and DIY API call) that checks the target before any load")
    run.add_argument("--prometheus-port", type=int, default=None, metavar="N",
                     help="serve live metrics for Prometheus at http://HOST:N/metrics while the run goes")
    run.add_argument("--prometheus-host", default="127.0.0.1", metavar="HOST",
                     help="the address /metrics binds (default 127.0.0.1; 0.0.0.0 for a Prometheus elsewhere)")
    run.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from loadtest.engine.pipeline import RunOptions, run

    return run(RunOptions(scenario=args.scenario, target=args.target, respondents=args.respondents,
                          duration_s=args.duration_s, seed=args.seed, record=args.record, reports=args.reports,
                          concurrency=args.concurrency, arrival_rate=args.arrival_rate, preflight=args.preflight,
                          prometheus_port=args.prometheus_port, prometheus_host=args.prometheus_host))


