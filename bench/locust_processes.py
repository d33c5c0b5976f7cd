"""`loadtest locust --processes 2` against `--processes 1`: throughput, CPU per request, and the
master's summed figures against what each worker process reported.

    .venv/bin/python bench/locust_processes.py [--seconds 20] [--users 32] [--no-write]

One `loadtest mock` on bench/surveys/bench.toml (its own db per run, so every run's transactions
are fresh), then for N in 1, 2 (and again, round-robin, --rounds times): `loadtest locust
bench/scenarios/bench_completer.toml --host URL --headless -u USERS -r USERS -t SECONDS
--processes N`. Locust's --processes forks N worker processes under one master; our locustfile
gives each worker its share of every limit and the master sums their HDR histograms,
respondents and callbacks into the one run folder. Nothing is pinned: the point is to let the
workers use every core (on a 2-core machine they share them with the platform, which then caps
throughput).

Per run: requests and req/s from summary.json, the platform's own count of what it served
(/__admin/stats), whole-life CPU of the Locust process tree (getrusage of reaped children:
loadtest locust, the master and its forked workers, start-up included) per request, and the
check that summary.json's totals equal the sum of summary.workers.received (requests,
respondents); beside the summary's completes, the survey_complete replies the platform sent (a
reply in flight when -t stops the users can be sent and never counted).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import client_cost
import results as bench_results

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "bench" / "scenarios" / "bench_completer.toml"


def stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/__admin/stats", timeout=10) as resp:
        return dict(json.loads(resp.read()))


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def one_run(processes: int, seconds: float, users: int, tmp: Path, k: int) -> dict[str, Any]:
    server, url = client_cost.start_server(tmp / f"run{k}.db")
    try:
        reports = tmp / f"reports{k}"
        before_served, before_cpu = client_cost.served(stats(url)), children_cpu()
        cmd = [str(ROOT / ".venv" / "bin" / "loadtest"), "locust", str(SCENARIO), "--host", url, "--headless",
               "-u", str(users), "-r", str(users), "-t", f"{seconds:g}s", "--processes", str(processes),
               "--reports", str(reports), "--no-preflight"]
        out = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=seconds + 120, check=False)
        cpu = children_cpu() - before_cpu
        after = stats(url)
        platform_served = client_cost.served(after) - before_served
        platform_completes = after["replies"].get("survey_complete", 0)
    finally:
        client_cost.stop(server)
    summaries = list(reports.glob("*/summary.json"))
    if out.returncode != 0 or len(summaries) != 1:
        raise SystemExit(f"--processes {processes}: exit {out.returncode}\n{out.stderr[-3000:]}")
    summary = json.loads(summaries[0].read_text())
    requests = sum(s["count"] for s in summary["requests"].values())
    received = summary["workers"]["received"].values()
    sums = {"requests": sum(w["requests"] for w in received), "respondents": sum(w["respondents"] for w in received)}
    completes = summary["outcomes"].get("survey_complete", 0)
    return {
        "processes": processes, "requests": requests, "respondents": summary["respondents"],
        "req_s": requests / summary["duration_s"], "cpu_us": 1e6 * cpu / max(requests, 1),
        "workers": len(received), "platform_served": platform_served,
        "sums_equal": sums == {"requests": requests, "respondents": summary["respondents"]},
        "completes": completes, "platform_completes": platform_completes, "passed": summary["passed"],
        "failures": sum(s["failures"] for s in summary["requests"].values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-processes-"))
    runs: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for n in (1, 2):
            run = one_run(n, args.seconds, args.users, tmp, len(runs))
            runs.append(run)
            print(f"round {r + 1}, --processes {n}: {run['requests']:,} requests, {run['req_s']:,.0f} req/s, "
                  f"{run['cpu_us']:.0f} µs CPU/request, workers {run['workers']}, sums equal {run['sums_equal']}, "
                  f"platform served {run['platform_served']:,}", flush=True)
    by = {n: [r for r in runs if r["processes"] == n] for n in (1, 2)}
    med = {n: {k: statistics.median(r[k] for r in rs) for k in ("req_s", "cpu_us")} for n, rs in by.items()}
    ok = all(r["sums_equal"] and r["workers"] == r["processes"] and r["failures"] == 0 for r in runs)
    lines = [
        *bench_results.header("bench/locust_processes.py", bench_results.machine(('locust',))),
        (f"`loadtest locust bench/scenarios/bench_completer.toml --host URL --headless -u {args.users} -r {args.users} "
         f"-t {args.seconds:g}s --processes N` against one `loadtest mock` (fresh db per run), nothing pinned, "
         f"{args.rounds} rounds taken in turn. CPU is the whole Locust process tree's over its life (start-up "
         "included), per request. \"Sums\": summary.json's requests and respondents equal the sum of what each "
         "worker process reported (`workers.received`)."),
        "",
        "| --processes | round | requests | req/s | µs CPU/request | workers | sums equal | platform served "
        "| completes (platform sent) |",
        "|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        *(f"| {r['processes']} | {i // 2 + 1} | {r['requests']:,} | {r['req_s']:,.0f} | {r['cpu_us']:.0f} | "
          f"{r['workers']} | {'yes' if r['sums_equal'] else '**no**'} | {r['platform_served']:,} | "
          f"{r['completes']:,} ({r['platform_completes']:,}) |"
          for i, r in enumerate(runs)),
        "",
        (f"Median: 2 processes {med[2]['req_s']:,.0f} req/s against {med[1]['req_s']:,.0f} "
         f"({med[2]['req_s'] / med[1]['req_s']:.2f}x), {med[2]['cpu_us']:.0f} against {med[1]['cpu_us']:.0f} µs CPU "
         f"per request. Figures summed exactly, every worker accounted for, no failed request: "
         f"**{'yes' if ok else 'NO'}**."),
    ]
    print("\n".join(lines[-1:]))
    if not args.no_write:
        bench_results.write_section("locust-processes", "Locust: --processes 2 against 1", "\n".join(lines))
        print("wrote bench/RESULTS.md")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
