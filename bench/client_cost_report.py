"""The report of bench/client_cost.py: totals per client over the rounds, the ratios, the goals,
and the RESULTS.md section. Split from client_cost.py, which measures; this only reads its Runs."""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field

import results
from client_cost import CLIENT_CORE, GOAL_VS_FAST, GOAL_VS_WRK, NOISY, RETRIES, SERVER_CORE, Run


@dataclass
class Total:
    client: str
    requests: int = 0
    cpu_s: float = 0.0
    sys_s: float = 0.0
    window_s: float = 0.0
    lifetime_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    other_cpu_s: float = 0.0
    ok: bool = True
    per_round: list[float] = field(default_factory=list)  # µs/request of each round

    @property
    def us(self) -> float:
        """The median round's µs/request (robust to one round disturbed by something else)."""
        return statistics.median(self.per_round) if self.per_round else float("nan")

    @property
    def spread(self) -> str:
        return f"{min(self.per_round):,.0f}-{max(self.per_round):,.0f}" if len(self.per_round) > 1 else ""


def totals(runs: list[Run]) -> dict[str, Total]:
    out: dict[str, Total] = {}
    for r in runs:
        t = out.setdefault(r.client, Total(r.client))
        t.requests += r.requests
        t.cpu_s += r.cpu_s
        t.sys_s += r.sys_s
        t.window_s += r.window_s
        t.lifetime_cpu_s += r.lifetime_cpu_s
        t.server_cpu_s += r.server_cpu_s
        t.other_cpu_s += r.other_cpu_s
        t.per_round.append(r.us_per_request)
        t.ok = t.ok and not r.problems
    return out


def ratio(t: Total, base: Total | None) -> str:
    return f"{t.us / base.us:.2f}x" if base is not None and base.requests else "-"


def table(tot: dict[str, Total]) -> list[str]:
    fast, wrk = tot.get("locust FastHttpUser"), tot.get("wrk")
    lines = [("| client | requests | CPU s | µs/request | rounds' range | kernel share | vs FastHttpUser | vs wrk "
             "| req/s | client busy | platform busy | other busy | check |"),
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for t in tot.values():
        busy = [f"{100 * x / t.window_s:.0f}%" for x in (t.cpu_s, t.server_cpu_s, t.other_cpu_s)]
        lines.append(f"| {t.client} | {t.requests:,} | {t.cpu_s:.2f} | {t.us:,.1f} | {t.spread} | "
                     f"{100 * t.sys_s / t.cpu_s:.0f}% | {ratio(t, fast)} | "
                     f"{ratio(t, wrk)} | {t.requests / t.window_s:,.0f} | {' | '.join(busy)} | "
                     f"{'ok' if t.ok else 'FAILED'} |")
    return lines


def goals(tot: dict[str, Total]) -> tuple[list[str], bool]:
    eng, fast, wrk = tot.get("engine"), tot.get("locust FastHttpUser"), tot.get("wrk")
    lines, met = [], True
    for base, goal, label in ((fast, GOAL_VS_FAST, "FastHttpUser"), (wrk, GOAL_VS_WRK, "wrk")):
        if eng is None or base is None:
            lines.append(f"- engine <= {goal:g}x {label}: not measured")
            met = False
            continue
        r = eng.us / base.us
        ok = r <= goal
        met = met and ok
        lines.append(f"- engine <= {goal:g}x {label}: {eng.us:,.1f} vs {base.us:,.1f} µs/request = "
                     f"{r:.2f}x -> **{'met' if ok else 'NOT met'}** (target <= {goal * base.us:,.1f} µs/request)")
    return lines, met


def report(runs: list[Run], args: argparse.Namespace, machine_line: str) -> tuple[str, bool]:
    tot = totals(runs)
    goal_lines, _met = goals(tot)
    ok = all(not r.problems for r in runs)
    lines = [
        *results.header("bench/client_cost.py", machine_line),
        (f"Platform (`loadtest mock`, bench/surveys/bench.toml) pinned to core {SERVER_CORE}; each client pinned to "
        f"core {CLIENT_CORE}, {args.concurrency} respondents/users/connections, loopback, no think time, walking "
        "take -> 3 x submit-page (token echoed) -> survey_complete and on to the next respondent. "
        f"{args.rounds} round(s) through all clients; per client and round a {args.seconds:g} s window after a "
        f"{args.warmup:g} s warm-up (start-up and imports excluded). CPU = the client process's utime + stime over "
        "the window (/proc/PID/stat, all threads); requests = the platform's count over the same window; "
        "µs/request = the median round's (range over rounds beside it), ratios from those; requests, CPU s, "
        "req/s and busy are over all rounds. A window during which other processes used more than "
        f"{100 * NOISY:.0f}% of a core is measured again (up to {RETRIES} tries; the quietest counts)."),
        "",
        *table(tot),
        "",
        "Goal (issue: engine <= 1/4 of FastHttpUser's CPU per request):",
        "",
        *goal_lines,
        "",
        "Clients: engine = EngineRun + Population(completer, think_scale 0) + respondents.jsonl log "
        "(bench/engine_client.py), on the event loop `loadtest run` chooses (uvloop where installed; "
        "the what-if `engine-asyncio` runs it on asyncio's own); "
        "locust = bench/locust_flow.py (FastFlow: FastHttpUser, HttpFlow: HttpUser), "
        "headless, one process; wrk = 1 thread, bench/capacity.lua stateful; aiohttp = bench/aiohttp_client.py; "
        "python floor = bench/floor_client.py (asyncio Protocol + httptools, pre-built requests, regex answers: "
        "the least a Python client on asyncio's loop can spend). "
        "The platform caps throughput, so a client below 100% busy was waiting on it; such a client handles "
        "fewer replies per event-loop wake-up, so more of its CPU goes to wake-ups and syscalls per request "
        "(this weighs most on the lightest clients, wrk and the floor: their figures fall with more concurrency). "
        "The coupling runs both ways in this closed loop: a client that spends more per request also leaves "
        "the platform less batched and slower, which in turn costs the client more wake-ups per request, so an "
        "end-to-end difference between two engine variants need not match their pure CPU difference (see the "
        "engine-logic-cost section for that). Differences within the rounds' ranges are noise (on a shared "
        "2-core VM the engine's own rounds can spread by +-20%): size a change with bench/engine_logic_cost.py. "
        "Kernel share = stime / (utime + stime). Busy = CPU seconds over window seconds (100% = one core); "
        "other = the rest of the machine's busy "
        "CPU in the window (/proc/stat): kernel work on loopback not charged to either process, plus anything "
        "else running. Whole-life CPU incl. start-up (getrusage): "
        + "; ".join(f"{t.client} {t.lifetime_cpu_s:.1f} s" for t in tot.values()) + ".",
    ]
    noisy = [f"{r.client} ({100 * r.other_cpu_s / r.window_s:.0f}%)" for r in runs
             if r.other_cpu_s / r.window_s > NOISY]
    if noisy:
        lines += ["", (f"Warning: other CPU above {100 * NOISY:.0f}% of a core during {', '.join(noisy)}: something "
                  "else was probably running on the machine. Re-run when it is quiet.")]
    if not ok:
        lines += ["", "Correctness check FAILED:"] + [f"- {r.client}: {p}" for r in runs for p in r.problems]
    else:
        lines += ["", ("Correctness (/__admin/stats per client run): only take/submit-page, all HTTP 200, replies "
                  "only success/survey_complete, one survey_complete per take, client and platform counts agree.")]
    return "\n".join(lines), ok
