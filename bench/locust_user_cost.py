"""Client CPU per request of our Locust RespondentUser next to a hand-written FastHttpUser.

    .venv/bin/python bench/locust_user_cost.py [--rounds 3] [--seconds 8] [--concurrency 64] [--no-write]
    .venv/bin/python bench/locust_user_cost.py --together   # both at once: for a busy machine
    .venv/bin/python bench/locust_user_cost.py --profile    # then both once more under py-spy

Both clients are one headless Locust process walking the same respondents on the bench survey
(bench/surveys/bench.toml: take -> 3 x submit-page with the token echoed -> survey_complete, the
next respondent at once) against `loadtest mock`, in the same run: one after the other in each
round against one platform (the order alternates between rounds), or with --together both at the
same time, each against its own platform, so that other work on the machine weighs on both alike:

- hand-written: bench/locust_flow.py FastFlow, a plain FastHttpUser with fixed answers (first
  answer of each question) and no bookkeeping beyond Locust's own;
- ours: loadtest/locust_driver/locustfile.py's RespondentUser with bench/scenarios/bench_completer.toml
  (completer persona, think_scale 0, no panel, no limits): RespondentFlow + persona, our HDR
  metrics, respondents.jsonl and summary.json, as `loadtest locust` runs it. bench/locust_flow.py is
  loaded beside it (`-f A,B RespondentUser`) only for its exit line with Locust's request count.

Platforms are pinned to core 0, clients to core 1 (taskset). The figure is the client process's
CPU time (utime + stime from /proc/PID/stat) over a window that opens once it is sending and
warmed up, divided by the requests its platform counted in that window; the machinery is
bench/client_cost.py's (same window and correctness checks; one after the other, also its
quiet-machine wait and re-runs of a disturbed window).
Goal (issue): ours <= 1.2 x the hand-written FastHttpUser's CPU per request.

With --profile, each client runs once more under py-spy (`.venv/bin/pip install -e '.[bench]'`)
and the report gains a table of where the CPU per request goes, side by side (raw stacks in
bench/out/locust_user_cost/); then once more each with bench/locust_gc_probe.py for the time
spent in garbage collection, and ours with gc.freeze() at the test's start.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import client_cost as cc  # bench/client_cost.py: server, /proc readings, one measured client run
import client_cost_report  # its totals over rounds
import results

ROOT, BENCH = cc.ROOT, cc.BENCH
LOCUST = str(ROOT / ".venv" / "bin" / "locust")
LOCUSTFILE = ROOT / "loadtest" / "locust_driver" / "locustfile.py"
SCENARIO = BENCH / "scenarios" / "bench_completer.toml"
GOAL = 1.2
FAST, OURS = "hand-written FastHttpUser", "our RespondentUser"


@dataclass(frozen=True)
class OurUser(cc.Client):
    """`locust -f locustfile.py,bench/locust_flow.py --scenario ... RespondentUser`."""

    reports: str = ""
    stopped_exits: tuple[int, ...] = (0, 4)  # 4: loadtest's "interrupted", for the SIGTERM that ends the window

    def command(self, url: str, run_s: float, c: int) -> list[str]:
        return [LOCUST, "-f", f"{LOCUSTFILE},{BENCH / 'locust_flow.py'}", "--scenario", str(SCENARIO),
                "--reports", self.reports, "--headless", "-u", str(c), "-r", str(c), "-t", f"{int(run_s + 0.999)}s",
                "--host", url, "--only-summary", "--stop-timeout", "0", "--loglevel", "WARNING", "RespondentUser"]


def measure(client: cc.Client, url: str, server_pid: int, args: argparse.Namespace, out: Path) -> cc.Run:
    """One window (client_cost.measure), measured again while other processes disturb it."""
    tries: list[cc.Run] = []
    for attempt in range(1, cc.RETRIES + 1):
        tries.append(cc.measure(client, url, server_pid, args.seconds, args.warmup, args.concurrency, out,
                                args.wait_quiet))
        noise = tries[-1].other_cpu_s / tries[-1].window_s
        if noise <= cc.NOISY or attempt == cc.RETRIES or not args.wait_quiet:
            break
        print(f"  {client.name}: other CPU {100 * noise:.0f}% of a core during the window; again", flush=True)
    return min(tries, key=lambda t: t.other_cpu_s / t.window_s)


def measure_together(clients: tuple[cc.Client, ...], servers: list[tuple[subprocess.Popen, str]],
                     args: argparse.Namespace, out: Path) -> list[cc.Run]:
    """--together: both clients at once (both on core 1, each with its own platform on core 0), so
    whatever else runs on the machine weighs on both alike; same window for both."""
    run_s = cc.STARTUP_S + args.warmup + args.seconds + cc.TAIL_S
    runs = [cc.Run(c.name) for c in clients]
    procs: list[subprocess.Popen] = []
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [cc.stop(p, signal.SIGINT) for p in procs])  # only if still running
        for client, (_, url) in zip(clients, servers, strict=True):
            cc.admin(url, "/__admin/reset", "POST")
            log = stack.enter_context(open(out / f"{client.name.replace(' ', '-')}.log", "w"))
            command = ["taskset", "-c", cc.CLIENT_CORE, *client.command(url, run_s, args.concurrency)]
            procs.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True))
        for _, url in servers:  # until both are sending
            for _ in range(int(cc.STARTUP_S / 0.05)):
                if cc.served(cc.admin(url, "/__admin/stats")):
                    break
                time.sleep(0.05)
        time.sleep(args.warmup)

        def snap() -> list:
            return [time.monotonic(), cc.machine_busy_s(), *(cc.cpu_times(p.pid) for p in procs),
                    *(cc.served(cc.admin(url, "/__admin/stats")) for _, url in servers),
                    *(cc.cpu_seconds(srv.pid) for srv, _ in servers)]

        a = snap()
        time.sleep(args.seconds)
        b = snap()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        stdouts = [p.communicate(timeout=run_s + 30)[0] for p in procs]
    n = len(clients)
    for i, (r, p, (_, url)) in enumerate(zip(runs, procs, servers, strict=True)):
        (u0, s0), (u1, s1) = a[2 + i], b[2 + i]
        r.window_s, r.sys_s, r.cpu_s = b[0] - a[0], s1 - s0, (u1 - u0) + (s1 - s0)
        r.requests = b[2 + n + i] - a[2 + n + i]
        r.server_cpu_s = b[2 + 2 * n + i] - a[2 + 2 * n + i]
        r.stats, r.client_requests = cc.admin(url, "/__admin/stats"), cc.client_count(clients[i], stdouts[i])
        r.problems = ([f"exit code {p.returncode}"] if p.returncode not in clients[i].stopped_exits else []) \
            + cc.check(r, args.concurrency)
    others = (b[1] - a[1]) - sum(r.cpu_s + r.server_cpu_s for r in runs)
    for r in runs:
        r.other_cpu_s = max(0.0, others)  # the rest of the machine, the same for both
    return runs


# --- py-spy -------------------------------------------------------------------------------------
RATE_HZ = 250
BUCKETS = {  # where a CPU sample goes: the innermost of these functions on its stack decides
    fn: where for where, fns in {
        "Locust's HTTP client (geventhttpclient, cookies, Locust stats)": (
            "FastHttpSession.request", "ResponseContextManager.__exit__"),
        "the page loop: reply JSON, answers, next request": (
            "RespondentLoop.respondent", "RespondentFlow.receive", "RespondentFlow.start"),
        "the user's own loop (headers, clocks, checks)": ("RespondentUser.respondent",),
        "our HDR metrics per request": ("Metrics.request",),
        "per respondent: persona, RNG, flow, log line": (
            "Population.respondent", "RespondentFlow.__init__", "TestRun.finished"),
        "Locust task scheduling": ("User.start.<locals>.run_user",),
    }.items() for fn in fns
}
OTHER, STARTUP = "Locust runner, gevent hub, everything else", "start-up and stop (imports, report files): left out"


def bucket(stack: list[str]) -> str:
    names = [f.split(" (")[0] for f in stack]
    for name in reversed(names):
        if name in BUCKETS:
            return BUCKETS[name]
    return STARTUP if any(n in ("<module>", "_find_and_load", "Runner.quit") for n in names) else OTHER


def profile(client: cc.Client, url: str, seconds: float, concurrency: int, out: Path) -> dict[str, float]:
    """One run of the client under py-spy (raw collapsed stacks): each bucket's share of the samples
    taken after start-up. (py-spy on the same core counts a preempted thread as busy too, so only
    the shares are used; the table scales them by the CPU per request measured without py-spy.)"""
    pyspy = shutil.which("py-spy", path=str(ROOT / ".venv" / "bin")) or shutil.which("py-spy")
    if pyspy is None:
        sys.exit("--profile needs py-spy: .venv/bin/pip install -e '.[bench]'")
    raw = out / f"{client.name.split()[0]}.collapsed"
    cmd = ["taskset", "-c", cc.CLIENT_CORE, pyspy, "record", "--format", "raw", "--rate", str(RATE_HZ),
           "--nonblocking", "-o", str(raw), "--", *client.command(url, seconds, concurrency)]
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 60,
                   check=False)
    samples: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            samples[bucket(stack.split(";"))] += int(n)
    samples.pop(STARTUP, None)
    total = sum(samples.values()) or 1
    return {b: n / total for b, n in samples.items()}


def gc_time(client: cc.Client, url: str, args: argparse.Namespace, freeze: bool = False) -> dict:
    """One run with bench/locust_gc_probe.py added: µs per request spent in garbage collection."""
    cmd = client.command(url, args.warmup + args.seconds + 4, args.concurrency)
    cmd[cmd.index("-f") + 1] += f",{BENCH / 'locust_gc_probe.py'}"
    env = {**os.environ, "BENCH_GC_WINDOW": f"{args.warmup:g},{args.seconds:g}", "BENCH_GC_FREEZE": str(int(freeze))}
    out = subprocess.run(["taskset", "-c", cc.CLIENT_CORE, *cmd], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=args.warmup + args.seconds + 60, check=False).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("GC ")), "GC null")
    return json.loads(line[3:]) or {}


def profile_table(shares: list[dict[str, float]], us: list[float]) -> list[str]:
    """Each bucket's share of the py-spy samples times the client's measured µs/request."""
    rows = ["| where (py-spy: innermost listed frame) | hand-written µs/req | ours µs/req | extra |",
            "|---|---:|---:|---:|"]
    for b in [*dict.fromkeys(BUCKETS.values()), OTHER]:
        f, o = (share.get(b, 0.0) * u for share, u in zip(shares, us, strict=True))
        rows.append(f"| {b} | {f:.1f} | {o:.1f} | {o - f:+.1f} |")
    rows.append(f"| **total** (measured) | **{us[0]:.1f}** | **{us[1]:.1f}** | **{us[1] - us[0]:+.1f}** |")
    return rows


# --- report ---------------------------------------------------------------------------------------
def report(runs: list[cc.Run], args: argparse.Namespace, machine_line: str,
           profiles: list[dict]) -> tuple[str, bool]:
    tot = client_cost_report.totals(runs)
    fast, ours = tot[FAST], tot[OURS]
    ratio = ours.us / fast.us
    per_round = [o / f for f, o in zip(fast.per_round, ours.per_round, strict=True)]
    met = ratio <= GOAL
    ok = all(not r.problems for r in runs)
    rows = [("| client | requests | CPU s | µs/request | rounds' range | kernel share | vs hand-written | req/s "
            "| client busy | platform busy | other busy | check |"),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for t in (fast, ours):
        busy = " | ".join(f"{100 * x / t.window_s:.0f}%" for x in (t.cpu_s, t.server_cpu_s, t.other_cpu_s))
        rows.append(f"| {t.client} | {t.requests:,} | {t.cpu_s:.2f} | {t.us:,.1f} | {t.spread} | "
                    f"{100 * t.sys_s / t.cpu_s:.0f}% | {t.us / fast.us:.2f}x | {t.requests / t.window_s:,.0f} | "
                    f"{busy} | {'ok' if t.ok else 'FAILED'} |")
    lines = [
        *results.header("bench/locust_user_cost.py", machine_line),
        (("Both clients at the same time (--together), each against its own `loadtest mock` (bench/surveys/"
          f"bench.toml), both platforms pinned to core {cc.SERVER_CORE}, both clients to core {cc.CLIENT_CORE}"
          if args.together else
          f"`loadtest mock` (bench/surveys/bench.toml) pinned to core {cc.SERVER_CORE}, the clients one after the "
          f"other (order alternating) pinned to core {cc.CLIENT_CORE}")
         + f"; each client one headless Locust process, {args.concurrency} users, no wait, walking take -> 3 x "
         "submit-page (token echoed) -> survey_complete. Hand-written = bench/locust_flow.py FastFlow (plain "
         "FastHttpUser, fixed answers); ours = loadtest/locust_driver/locustfile.py RespondentUser on "
         "bench/scenarios/bench_completer.toml (completer, think_scale 0, no panel or limits; it also keeps our HDR "
         f"metrics and writes respondents.jsonl). {args.rounds} round(s), both clients in each, "
         f"a {args.seconds:g} s window after a {args.warmup:g} s warm-up per run. CPU = the client's utime + stime "
         "over the window (/proc/PID/stat); requests = the platform's count over it; µs/request = the median round's, "
         "range beside it; other busy = the rest of the machine (loopback kernel work, other processes)."),
        "",
        *rows,
        "",
        (f"Per-round ratio ours / hand-written ({'same window' if args.together else 'consecutive windows'}): "
         f"{', '.join(f'{r:.2f}x' for r in per_round)}; median {statistics.median(per_round):.2f}x."),
        "",
        (f"Goal (issue: ours <= {GOAL:g}x the hand-written FastHttpUser's CPU per request): {ours.us:,.1f} vs "
         f"{fast.us:,.1f} µs/request = **{ratio:.2f}x -> {'met' if met else 'NOT met'}** "
         f"(target <= {GOAL * fast.us:,.1f} µs/request)."),
    ]
    if profiles:
        gc_f, gc_o, gc_z = profiles[2:]
        lines += ["", (f"Where the CPU goes (--profile: one more {args.warmup + args.seconds + 4:g} s run of each "
                       f"under py-spy at {RATE_HZ} Hz; each bucket's share of the samples after start-up, times the "
                       "µs/request measured above):"), "", *profile_table(profiles[:2], [fast.us, ours.us]), "",
                  (f"Garbage collection (one more run of each with bench/locust_gc_probe.py, gc.callbacks timed over "
                   f"the same window; py-spy charges it to whatever line allocated): hand-written "
                   f"{gc_f.get('gc_us', '-')} µs/request ({gc_f.get('tracked', '-')} objects tracked), ours "
                   f"{gc_o.get('gc_us', '-')} µs/request ({gc_o.get('tracked', '-')} tracked); ours with gc.freeze() "
                   f"at the test's start {gc_z.get('gc_us', '-')} µs/request (CPU {gc_o.get('cpu_us', '-')} -> "
                   f"{gc_z.get('cpu_us', '-')} µs/request in those two runs).")]
    noisy = [f"{r.client} ({100 * r.other_cpu_s / r.window_s:.0f}%)" for r in runs
             if r.other_cpu_s / r.window_s > cc.NOISY]
    if noisy:
        lines += ["", f"Warning: other CPU above {100 * cc.NOISY:.0f}% of a core during {', '.join(noisy)}."]
    if ok:
        lines += ["", ("Correctness (/__admin/stats per run): only take/submit-page, all HTTP 200, replies only "
                       "success/survey_complete, one survey_complete per take, Locust's and the platform's counts "
                       "agree.")]
    else:
        lines += ["", "Correctness check FAILED:"] + [f"- {r.client}: {p}" for r in runs for p in r.problems]
    return "\n".join(lines), ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--seconds", type=float, default=8, help="measured window per client run (default 8)")
    ap.add_argument("--warmup", type=float, default=2, help="warm-up before each window (default 2)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, both clients in each (default 3)")
    ap.add_argument("--concurrency", type=int, default=64, help="Locust users (default 64)")
    ap.add_argument("--wait-quiet", type=float, default=60, metavar="S",
                    help="one after the other: first wait up to S s for an idle machine (default 60; 0: don't)")
    ap.add_argument("--together", action="store_true",
                    help="run both clients at the same time, each with its own platform (robust to a busy machine)")
    ap.add_argument("--profile", action="store_true",
                    help="afterwards, run each client once under py-spy and add where its CPU goes to the report")
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = ap.parse_args()
    if (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        sys.exit("needs 2 cores and taskset")

    out = BENCH / "out" / "locust_user_cost"
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-locust-user-"))
    fast = cc.Locust(FAST, stop_signal=signal.SIGTERM, user_class="FastFlow")
    ours = OurUser(OURS, stop_signal=signal.SIGTERM, reports=str(tmp / "reports"))
    machine_line = f"{results.machine(('granian', 'locust', 'gevent', 'geventhttpclient'))}; {cc.source()}"
    runs: list[cc.Run] = []
    profiles: list[dict] = []  # --profile: py-spy shares of both, then GC figures (both, ours frozen)
    servers: list[tuple[subprocess.Popen, str]] = []
    try:
        for i in range(2 if args.together else 1):
            servers.append(cc.start_server(tmp / f"bench{i}.db"))
        server, url = servers[0]
        print(f"platform(s) {[s.pid for s, _ in servers]} on core {cc.SERVER_CORE}; clients on core {cc.CLIENT_CORE}",
              flush=True)
        for rnd in range(1, args.rounds + 1):
            pair = (fast, ours) if rnd % 2 else (ours, fast)
            done = measure_together(pair, servers, args, out) if args.together else []
            for client in pair:
                r = done.pop(0) if args.together else measure(client, url, server.pid, args, out)
                runs.append(r)
                print(f"round {rnd} {client.name:<26} {r.requests:>7,} req {r.cpu_s:6.2f} CPU s "
                      f"{r.us_per_request:7.1f} µs/req  client {100 * r.cpu_s / r.window_s:3.0f}%  "
                      f"platform {100 * r.server_cpu_s / r.window_s:3.0f}%  "
                      f"other {100 * r.other_cpu_s / r.window_s:3.0f}%"
                      + (f"  PROBLEMS: {r.problems}" if r.problems else ""), flush=True)
        if args.profile:
            span = args.warmup + args.seconds + 4
            profiles = [profile(c, url, span, args.concurrency, out) for c in (fast, ours)]
            profiles += [gc_time(fast, url, args), gc_time(ours, url, args), gc_time(ours, url, args, freeze=True)]
    finally:
        for srv, _ in servers:
            cc.stop(srv)
        shutil.rmtree(tmp, ignore_errors=True)

    body, ok = report(runs, args, machine_line, profiles)
    print("\n" + body)
    if not args.no_write:
        results.write_section("locust-user-cost",
                              "Locust: our RespondentUser's CPU per request vs a plain FastHttpUser", body)
        print(f"\nwrote {results.RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1  # correctness only; the goal is in the text


if __name__ == "__main__":
    sys.exit(main())
