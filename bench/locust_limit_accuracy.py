"""Distributed limit accuracy: the `panel` limit (10 req/s) shared by a Locust master among 3 workers.

    .venv/bin/python bench/locust_limit_accuracy.py [--seconds 60] [--drain 5] [--phases both] [--no-write]

One `loadtest mock` (scenarios/surveys/customer_satisfaction.toml; it answers 429 to panel requests
beyond 10 a second per key, with a 10-request burst), one Locust master and three workers, all
`python -m locust -f loadtest/locust_driver/locustfile.py --scenario bench/scenarios/limit_panel.toml`
(master: `--master --headless --expect-workers 3 -t SECONDS`; workers: `--worker`), each under
`timeout`. The scenario's respondents end quickly (screenouts, speeders, a completer) so that about
15 completion callbacks a second are asked for, all the time: the shared limit, not demand, sets
their rate. At the stop each worker may drain its queue for --drain seconds (the rest is counted
as undelivered).

- `--phases steady`: all three workers for the whole run;
- `--phases leave`: the same, and halfway through one worker is sent SIGTERM (by PID): the master
  must share the limit among the two left ("limits shared among 2 workers" in its log);
- `--phases both` (the default): one, then the other, each with its own platform.

Figures come from the master's reports/<run-id>/summary.json (`limits.panel`: permits granted,
achieved rate between the first and the last permit across all processes, processes, shares;
`callbacks`: 429s the workers got) and, independently, from the platform: /__admin/stats polled
every 0.25 s gives its panel 2xx and 429 counts over time, hence the rate it saw before and after
the worker left. Goal: achieved within +-2% of 10 req/s and zero 429s.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import results
from client_cost import source  # which loadtest, and its git state

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
LOCUSTFILE = ROOT / "loadtest" / "locust_driver" / "locustfile.py"
SCENARIO = ROOT / "bench" / "scenarios" / "limit_panel.toml"
SURVEY = ROOT / "scenarios" / "surveys" / "customer_satisfaction.toml"
RATE, TOLERANCE, WORKERS, USERS = 10.0, 0.02, 3, 30
SHARED = re.compile(r"^\[(?P<at>[^\]]+)\].*limits shared among (?P<n>\d+ workers)(?: \((?P<leaving>\d+) more "
                    r"leaving\))?: (?P<shares>.*)$")


@dataclass
class Phase:
    name: str
    kill: bool
    summary: dict = field(default_factory=dict)
    timeline: list[tuple[float, int, int]] = field(default_factory=list)  # (s since launch, panel 2xx, 429)
    first_s: float | None = None  # first panel callback the platform saw
    kill_s: float | None = None
    shared: list[str] = field(default_factory=list)  # the master's "limits shared among" lines
    exit_codes: list[int | None] = field(default_factory=list)
    platform_429: int = 0

    def rate(self, a: float, b: float) -> float | None:
        """Panel 2xx a second the platform answered between a and b seconds after launch."""
        pts = [p for p in self.timeline if a <= p[0] <= b]
        if len(pts) < 2 or pts[-1][0] - pts[0][0] < 2:
            return None
        return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def panel_counts(url: str) -> tuple[int, int]:
    with urllib.request.urlopen(url + "/__admin/stats", timeout=10) as resp:
        by_status = json.load(resp)["requests"].get("panel", {})
    return sum(n for s, n in by_status.items() if s.startswith("2")), by_status.get("429", 0)


def child_of(pid: int) -> int:
    """The command `timeout` runs (its only child), so a signal reaches Locust itself."""
    for _ in range(100):
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if kids:
            return int(kids[0])
        time.sleep(0.05)
    raise RuntimeError(f"no child under timeout pid {pid}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # timeout passes it on to its command
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()  # our own `timeout` process, by PID
            proc.wait()


def run_phase(phase: Phase, seconds: float, drain: float, out: Path) -> None:
    bound = str(int(seconds + drain + 90))  # timeout for every process: run + drain + start-up and grace
    tmp = Path(tempfile.mkdtemp(prefix="bench-locust-limit-"))
    logs = out / re.sub(r"[^a-z0-9]+", "-", phase.name).strip("-")
    logs.mkdir(parents=True, exist_ok=True)
    platform = subprocess.Popen(["timeout", "-k", "5", bound, str(ROOT / ".venv" / "bin" / "loadtest"), "mock",
                                 "--port", "0", "--db", str(tmp / "platform.db"), "--survey", str(SURVEY)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs: list[subprocess.Popen] = []
    try:
        assert platform.stdout is not None
        url = platform.stdout.readline().strip()
        if not url.startswith("http://"):
            raise SystemExit(f"the platform did not start ({url!r})")
        port = str(free_port())
        common = [PY, "-m", "locust", "-f", str(LOCUSTFILE), "--scenario", str(SCENARIO), "--panel-drain", f"{drain:g}"]
        master = ["--master", "--headless", "--expect-workers", str(WORKERS), "--expect-workers-max-wait", "30",
                  "-u", str(USERS), "-r", str(USERS), "-t", f"{int(seconds)}s", "--host", url,
                  "--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--reports", str(tmp / "reports")]
        worker = ["--worker", "--master-host", "127.0.0.1", "--master-port", port]
        launched = time.monotonic()
        for i, extra in enumerate([master] + [worker] * WORKERS):
            with open(logs / ("master.log" if i == 0 else f"worker{i}.log"), "w") as err:
                procs.append(subprocess.Popen(["timeout", "-k", "5", bound, *common, *extra], cwd=ROOT,
                                              stdout=err, stderr=subprocess.STDOUT))
        victim = child_of(procs[1].pid) if phase.kill else None
        while procs[0].poll() is None:
            ok, refused = panel_counts(url)
            now = time.monotonic() - launched
            phase.timeline.append((now, ok, refused))
            if phase.first_s is None and ok > 3:  # the set-up's few DIY calls come first
                phase.first_s = now
            if victim and phase.first_s is not None and phase.kill_s is None and now - phase.first_s >= seconds / 2:
                os.kill(victim, signal.SIGTERM)  # one worker, by its PID
                phase.kill_s = now
            time.sleep(0.25)
        for p in procs[1:]:
            try:
                p.wait(timeout=drain + 40)
            except subprocess.TimeoutExpired:
                stop(p)
        phase.exit_codes = [p.returncode for p in procs]
        phase.platform_429 = panel_counts(url)[1]
        runs = sorted((tmp / "reports").glob("*/summary.json"))
        if runs:
            shutil.copy(runs[-1], logs / "summary.json")
            phase.summary = json.loads(runs[-1].read_text())
        phase.shared = [f"{m['at']}: {m['n']}"
                        + (f" + {m['leaving']} leaving" if m["leaving"] not in (None, "0") else "")
                        + f", {m['shares']}"
                        for ln in (logs / "master.log").read_text().splitlines() if (m := SHARED.match(ln))]
    finally:
        for p in procs:
            stop(p)
        stop(platform)
        shutil.rmtree(tmp, ignore_errors=True)


# --- report ---------------------------------------------------------------------------------------
def fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def row(p: Phase, seconds: float) -> tuple[str, bool]:
    lim = p.summary.get("limits", {}).get("panel", {})
    cb = p.summary.get("callbacks") or {}
    achieved = lim.get("achieved")
    err = (achieved - RATE) / RATE if achieved else None
    client_429 = cb.get("too_many_requests")
    ok = err is not None and abs(err) <= TOLERANCE and client_429 == 0 and p.platform_429 == 0
    f = p.first_s or 0.0
    if p.kill_s is None:
        seen = f"{fmt(p.rate(f + 2, f + seconds - 2), '.2f')}"
    else:
        seen = (f"{fmt(p.rate(f + 2, p.kill_s), '.2f')} before, {fmt(p.rate(p.kill_s, p.kill_s + 8), '.2f')} "
                f"in the 8 s after, {fmt(p.rate(p.kill_s + 8, f + seconds - 2), '.2f')} later")
    wk = p.summary.get("workers", {})
    line = (f"| {p.name} | {lim.get('granted', '-')} | {fmt(achieved, '.4f')} req/s | {fmt(err, '+.2%')} | {seen} | "
            f"{client_429} / {p.platform_429} | {cb.get('accepted', '-')} | {cb.get('undelivered', '-')} | "
            f"{lim.get('processes', '-')} | {', '.join(f'{s:.3f}' for s in lim.get('shares', []))} | "
            f"{wk.get('final_reports', '-')}/{wk.get('count', '-')} | {'ok' if ok else 'MISSED'} |")
    return line, ok


def report(phases: list[Phase], args: argparse.Namespace) -> tuple[str, bool]:
    rows, oks = zip(*(row(p, args.seconds) for p in phases), strict=True)
    lines = [
        (f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {results.machine(('locust', 'gevent'))}; "
        f"{source()}."),
        "", "```", shlex.join([".venv/bin/python", "bench/locust_limit_accuracy.py", *sys.argv[1:]]), "```", "",
        (f"`loadtest mock` + Locust master + {WORKERS} workers (`-f loadtest/locust_driver/locustfile.py --scenario "
         f"bench/scenarios/limit_panel.toml`, master `--master --headless --expect-workers {WORKERS} -u {USERS} "
         f"-t {int(args.seconds)}s`, `--panel-drain {args.drain:g}` everywhere), every process under `timeout`, "
         f"loopback, 2 cores shared. {USERS} users of screenouts, speeders and completers ask for ~15 completion "
         "callbacks a second, so the `panel` limit (10 req/s, shared by the master) sets their rate; callbacks "
         f"still queued when the {args.drain:g} s drain ends are counted as undelivered."),
        "",
        ("| phase | permits granted | achieved (summary.json) | vs 10 req/s | platform saw (2xx/s) | 429s: workers / "
         "platform | accepted | undelivered | processes | shares (req/s) | final reports | goal |"),
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---|",
        *rows,
        "",
        (f"Goal: achieved within ±{TOLERANCE:.0%} of {RATE:g} req/s and zero 429s: "
         + "; ".join(f"{p.name} **{'met' if ok else 'NOT met'}**" for p, ok in zip(phases, oks, strict=True))
         + ". Achieved = (permits - 1) / (last permit - first permit) across all workers (summary.json "
         "`limits.panel`); the platform column is its own count of panel 2xx answers over time (/__admin/stats "
         "every 0.25 s), between 2 s after the first callback and 2 s before the test's end; "
         "shares = the last share each process reported."),
    ]
    for p in phases:
        rec = p.summary.get("reconciliation") or {}
        t0 = p.kill_s if p.kill_s is not None else (p.first_s or 0.0)
        refused = [f"{b[0] - t0:+.1f} s" for a, b in itertools.pairwise(p.timeline) if b[2] > a[2]]
        lines += ["", f"{p.name}: master log " + "; ".join(f"`{s}`" for s in p.shared)
                  + (f"; one worker sent SIGTERM {p.kill_s - (p.first_s or 0):.1f} s after the first callback"
                     if p.kill_s is not None else "")
                  + (f"; platform 429s at {', '.join(refused)} (0.25 s polls) from the "
                     + ("SIGTERM" if p.kill_s is not None else "first callback") if refused else "")
                  + f"; respondents {p.summary.get('respondents', '-')}, of which incomplete at a stop "
                  f"{p.summary.get('outcomes', {}).get('incomplete', '-')}; reconciliation missing "
                  f"{(rec.get('problems') or {}).get('missing', 0)}; exit codes master, workers: {p.exit_codes}."]
    return "\n".join(lines), all(oks)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--seconds", type=float, default=60, help="the master's -t (default 60)")
    ap.add_argument("--drain", type=float, default=5, help="--panel-drain for every process (default 5)")
    ap.add_argument("--phases", choices=("both", "steady", "leave"), default="both")
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = ap.parse_args()
    out = ROOT / "bench" / "out" / "locust_limit_accuracy"
    phases = [Phase("steady, 3 workers", kill=False), Phase("one of 3 workers leaves halfway", kill=True)]
    phases = {"both": phases, "steady": phases[:1], "leave": phases[1:]}[args.phases]
    for p in phases:
        print(f"phase: {p.name} ({args.seconds:g} s) ...", flush=True)
        run_phase(p, args.seconds, args.drain, out)
    body, ok = report(phases, args)
    print("\n" + body)
    if not args.no_write:
        results.write_section("locust-limit-accuracy", "Limit accuracy, distributed (Locust master + 3 workers)", body)
        print(f"\nwrote {results.RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
