"""Platform capacity: stateful take/submit-page req/s vs a static page, server on one pinned core.

    .venv/bin/python bench/platform_capacity.py [--seconds 10] [--rounds 3] [--connections 64]

Starts `loadtest mock` on bench/surveys/bench.toml pinned to core 0 and drives it with wrk
(bench/capacity.lua, one thread, pinned to core 1) over loopback. Each round measures the static
page (GET /__admin/static-page) and then the stateful flow (take -> 3 x submit-page ->
survey_complete, repeat), back to back, so the ratio compares like with like on a noisy shared
machine; the summary uses the median of the rounds. Every wrk run is bounded by --seconds.

After each run the platform's /__admin/stats is checked: only 200s, only the replies the flow
expects, and the server's request counts agree with wrk's. The server's CPU time per run (from
/proc) shows whether the server core was the bottleneck (it should be ~100% busy) rather than
the load generator. Results go to stdout and to a marked section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import results

ROOT = Path(__file__).resolve().parent.parent
SURVEY_FILE = ROOT / "bench" / "surveys" / "bench.toml"
SURVEY_ID = 900001
LUA = ROOT / "bench" / "capacity.lua"
API_KEY = "loadtest-local-key"
SERVER_CORE, LOAD_CORE = "0", "1"
GOAL = 0.40
WARMUP_S = 2
SATURATED = 0.90  # server CPU share below which a static run was not server-bound


# --- server ---------------------------------------------------------------------------------
def start_server(db: Path) -> tuple[subprocess.Popen[str], str]:
    # taskset execs the server, so proc.pid is the server's own PID (what we signal and profile).
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, str(ROOT / ".venv/bin/loadtest"), "mock",
         "--survey", str(SURVEY_FILE), "--port", "0", "--db", str(db)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()  # the base URL, printed once the server accepts
    if not url.startswith("http://127.0.0.1:"):
        stop_server(proc)
        raise SystemExit(f"server did not start (first stdout line: {url!r})")
    return proc, url


def stop_server(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()  # by PID, our own child only
        proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def admin(url: str, path: str, method: str = "GET") -> dict:
    req = urllib.request.Request(url + path, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


# --- load -----------------------------------------------------------------------------------
def wrk(url: str, mode: str, seconds: int, connections: int, survey_id: int = SURVEY_ID) -> dict[str, int]:
    cmd = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "2s",
           "-s", str(LUA), url, "--", mode, API_KEY, str(survey_id)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"wrk printed no RESULT line:\n{out}")
    result = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    bad = next((ln for ln in out.splitlines() if ln.startswith("FIRST_BAD ")), "")
    result["first_bad"] = bad  # type: ignore[assignment]
    return result


def measure(url: str, pid: int, mode: str, seconds: int, connections: int) -> dict:
    admin(url, "/__admin/reset", "POST")  # fresh counters, so the stats describe this run only
    cpu0 = cpu_seconds(pid)
    r = wrk(url, mode, seconds, connections)
    r["server_cpu"] = (cpu_seconds(pid) - cpu0) / (r["duration_us"] / 1e6)
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["stats"] = admin(url, "/__admin/stats")
    r["problems"] = check(mode, r, r["stats"], connections)
    return r


def check(mode: str, r: dict, stats: dict, connections: int) -> list[str]:
    """What is wrong with this run, according to the server's own counters (empty: all good)."""
    problems = []
    reqs = {k: v for k, v in stats["requests"].items() if not k.startswith("/__admin/reset")}
    if mode == "static":
        expected = {"/__admin/static-page"}
        allowed_replies: set[str] = set()
    else:
        expected = {"take", "submit-page"}
        allowed_replies = {"success", "survey_complete"}
    for endpoint, by_status in reqs.items():
        if endpoint not in expected or set(by_status) != {"200"}:
            problems.append(f"unexpected requests {endpoint}: {by_status}")
    if set(stats["replies"]) - allowed_replies:
        problems.append(f"unexpected replies: {stats['replies']}")
    served = sum(sum(by.values()) for by in reqs.values())
    # wrk stops with up to one request in flight per connection; the server may still answer it.
    if not r["requests"] <= served <= r["requests"] + connections:
        problems.append(f"server counted {served} requests, wrk {r['requests']}")
    errors = sum(v for k, v in r.items() if k.startswith("err_")) + r["bad"]
    if errors:
        problems.append(f"wrk errors/bad replies: {errors} {r['first_bad']}")
    if mode == "stateful":
        done = stats["replies"].get("survey_complete", 0)
        if done < r["requests"] // 5:  # 4 requests per respondent: ~1/4 of replies complete one
            problems.append(f"only {done} survey_complete replies for {r['requests']} requests")
    return problems


# --- report ---------------------------------------------------------------------------------
def row(name: str, r: dict, ratio: str = "") -> str:
    return (f"| {name} | {r['rps']:,.0f} | {ratio} | {r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} "
            f"| {100 * r['server_cpu']:.0f}% | {r['rps'] / r['server_cpu']:,.0f} "
            f"| {'ok' if not r['problems'] else 'FAILED'} |")


def served(rounds: list[tuple[dict, dict]], mode: int) -> str:
    """Server-side counts summed over the rounds, e.g. 'take 200: 7,400; ...'."""
    counts: dict[str, int] = {}
    for pair in rounds:
        stats = pair[mode]["stats"]
        for endpoint, by_status in stats["requests"].items():
            for status, n in by_status.items():
                if not endpoint.startswith("/__admin/reset"):
                    counts[f"{endpoint} {status}"] = counts.get(f"{endpoint} {status}", 0) + n
        for reply, n in stats["replies"].items():
            counts[f"reply {reply}"] = counts.get(f"reply {reply}", 0) + n
    return "; ".join(f"{k}: {v:,}" for k, v in sorted(counts.items()))


def report(rounds: list[tuple[dict, dict]], args: argparse.Namespace) -> tuple[str, bool]:
    static_rps = statistics.median(s["rps"] for s, _ in rounds)
    stateful_rps = statistics.median(f["rps"] for _, f in rounds)
    ratio = stateful_rps / static_rps
    ok = all(not s["problems"] and not f["problems"] for s, f in rounds)
    db_parent = args.db_dir or tempfile.gettempdir()
    lines = [
        *results.header("bench/platform_capacity.py", results.machine()),
        f"Server (`loadtest mock`, granian RSGI, one process) pinned to core {SERVER_CORE}; wrk 1 thread, "
        f"{args.connections} keep-alive connections, pinned to core {LOAD_CORE}; loopback; "
        f"{args.seconds} s per run after a {WARMUP_S} s warm-up of each. Stateful = respondents looping "
        "take -> 3 x submit-page -> survey_complete on bench/surveys/bench.toml "
        f"(SQLite file in a new temp dir under {db_parent}). Latency is wrk's, closed loop.",
        "",
        "| run | req/s | ratio | p50 ms | p99 ms | server CPU | req per CPU-s | check |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for i, (s, f) in enumerate(rounds, 1):
        lines += [row(f"{i} static page", s), row(f"{i} stateful", f, f"{100 * f['rps'] / s['rps']:.0f}%")]
    lines += [
        "",
        f"**Median static {static_rps:,.0f} req/s, stateful {stateful_rps:,.0f} req/s: "
        f"ratio {100 * ratio:.0f}% (goal >= {100 * GOAL:.0f}%: {'met' if ratio >= GOAL else 'NOT met'}).** "
        "Absolute figures are context only (shared machine); the ratio is measured within each run.",
        "",
        "Server CPU is the server process's CPU time over the run's wall time (100% = its core fully busy, "
        "so the server, not wrk, was the bottleneck); req per CPU-s is req/s divided by it (a run "
        "under 100% had the event loop waiting, e.g. on file I/O). "
        "Server-side counts (/__admin/stats, all rounds):",
        "",
        f"- static: {served(rounds, 0)}.",
        f"- stateful: {served(rounds, 1)}.",
    ]
    idle = [i for i, (s, _) in enumerate(rounds, 1) if s["server_cpu"] < SATURATED]
    if idle:
        # The static page is the baseline: if its server core was not busy, something else (wrk's
        # core shared with another job, say) limited it, and the ratio is flattering.
        lines += ["", f"Warning: static runs {idle} left the server core under {100 * SATURATED:.0f}% busy; "
                  "the machine was probably busy with something else. Re-run."]
    if not ok:
        lines += ["", "Correctness check FAILED:"] + [
            f"- round {i} {m}: {p}" for i, pair in enumerate(rounds, 1)
            for m, r in zip(("static", "stateful"), pair, strict=True) for p in r["problems"]
        ]
    return "\n".join(lines), ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each measured run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="static+stateful pairs (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--db-dir", default=None, metavar="DIR",
                        help="where the temporary SQLite file goes (default: the system temp dir)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    if os.cpu_count() < 2 or not shutil.which("wrk"):
        sys.exit("needs 2 cores and wrk on PATH")

    tmp = Path(tempfile.mkdtemp(prefix="bench-capacity-", dir=args.db_dir))
    proc = None
    try:
        proc, url = start_server(tmp / "bench.db")
        print(f"server pid {proc.pid} at {url}, pinned to core {SERVER_CORE}", flush=True)
        for mode in ("static", "stateful"):  # warm caches, page renders, the SQLite file
            wrk(url, mode, WARMUP_S, args.connections)
        rounds = []
        for i in range(1, args.rounds + 1):
            pair = (measure(url, proc.pid, "static", args.seconds, args.connections),
                    measure(url, proc.pid, "stateful", args.seconds, args.connections))
            rounds.append(pair)
            print(f"round {i}: static {pair[0]['rps']:,.0f} req/s, stateful {pair[1]['rps']:,.0f} req/s "
                  f"({100 * pair[1]['rps'] / pair[0]['rps']:.0f}%)", flush=True)
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)

    body, ok = report(rounds, args)
    print()
    print(body)
    if not args.no_write:
        results.write_section("platform-capacity", "Platform capacity", body)
        print(f"\nwrote {results.RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
