"""Client CPU per request for the respondent flow, our engine next to Locust, wrk and aiohttp.

    .venv/bin/python bench/client_cost.py [--seconds 10] [--concurrency 64] [--rounds 3] [--clients ...]

One `loadtest mock` on bench/surveys/bench.toml, pinned to core 0, serves every client in turn;
each client is pinned to core 1 and walks respondents (take -> submit-page with the token echoed
-> ... -> survey_complete, then the next respondent, no think time) over loopback:

- engine: loadtest.engine.run.EngineRun with the completer persona (bench/engine_client.py)
- locust FastHttpUser / locust HttpUser: a hand-written locustfile (bench/locust_flow.py),
  headless, one process
- wrk: one thread, bench/capacity.lua in its stateful mode
- aiohttp: a hand-written asyncio loop (bench/aiohttp_client.py)
- python floor: the least a Python asyncio client can do for the flow (bench/floor_client.py):
  Protocol + httptools, pre-built requests, regex answers; what the engine could at best reach
  on asyncio's own event loop
- what-ifs (only when named in --clients): the engine with a suggested change applied from outside

The figure is client CPU time (utime + stime of the client process, all threads, from
/proc/PID/stat) per request completed, over a measured window that starts once the client is
sending and has warmed up (so interpreter start-up and imports are left out) and ends before it
stops. Requests in the window are counted by the platform (/__admin/stats before and after), the
same way for every client. Each figure is the median of --rounds rounds through all clients; a
window during which other processes used the machine is measured again. The platform (a few
thousand req/s on one core) caps throughput, so clients that need less than a core leave some of
theirs idle: CPU per request, not req/s, is what compares.

Correctness: the platform's counters are reset before each client and checked after it: only
take and submit-page, all HTTP 200, replies only success / survey_complete, about one
survey_complete per take, and the client's own request count agreeing with the platform's.

Results go to stdout and to the client-cost section of bench/RESULTS.md. Goals (issue "engine
<= 1/4 of FastHttpUser's CPU per request"): engine <= 0.25 x FastHttpUser and <= 3 x wrk.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import results

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = str(ROOT / ".venv" / "bin" / "python")
SURVEY_FILE = BENCH / "surveys" / "bench.toml"
SURVEY_ID = 900001
API_KEY = "loadtest-local-key"
SERVER_CORE, CLIENT_CORE = "0", "1"
GOAL_VS_FAST, GOAL_VS_WRK = 0.25, 3.0
STARTUP_S = 8.0  # the most a client may take from launch to its first request
TAIL_S = 5.0  # margin: a client is told to stop when the window closes, and stops by itself after this
FLOW = ("take", "submit-page")
NOISY = 0.10  # other busy CPU (share of one core) in a window above which the run is redone, then flagged
RETRIES = 4


# --- clients ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Client:
    name: str
    stop_signal: int = signal.SIGINT  # how to end it gracefully once the window has closed
    # Exit codes of a client this bench stopped itself: loadtest's drivers mark a run a signal
    # stopped as interrupted (exit 4), which here is the expected end, not a problem.
    stopped_exits: tuple[int, ...] = (0,)

    def command(self, url: str, run_s: float, c: int) -> list[str]:
        raise NotImplementedError


@dataclass(frozen=True)
class Engine(Client):
    what_if: tuple[str, ...] = ()  # bench/engine_client.py flags sizing a suggested change

    def command(self, url: str, run_s: float, c: int) -> list[str]:
        return [PY, str(BENCH / "engine_client.py"), url, "--seconds", f"{run_s:g}", "--concurrency", str(c),
                *self.what_if]


@dataclass(frozen=True)
class Locust(Client):
    user_class: str = "FastFlow"

    def command(self, url: str, run_s: float, c: int) -> list[str]:
        return [str(ROOT / ".venv" / "bin" / "locust"), "-f", str(BENCH / "locust_flow.py"), "--headless",
                "-u", str(c), "-r", str(c), "-t", f"{int(run_s + 0.999)}s", "--host", url, "--only-summary",
                "--stop-timeout", "0", "--loglevel", "WARNING", self.user_class]


@dataclass(frozen=True)
class Wrk(Client):
    def command(self, url: str, run_s: float, c: int) -> list[str]:
        return ["wrk", "-t1", f"-c{c}", f"-d{int(run_s + 0.999)}s", "--timeout", "2s",
                "-s", str(BENCH / "capacity.lua"), url, "--", "stateful", API_KEY, str(SURVEY_ID)]


@dataclass(frozen=True)
class Script(Client):
    script: str = ""  # a bench/ client taking URL --seconds --concurrency
    flags: tuple[str, ...] = ()

    def command(self, url: str, run_s: float, c: int) -> list[str]:
        return [PY, str(BENCH / self.script), url, "--seconds", f"{run_s:g}", "--concurrency", str(c), *self.flags]


CLIENTS: dict[str, Client] = {c.name: c for c in (
    Engine("engine"),
    Locust("locust FastHttpUser", stop_signal=signal.SIGTERM, user_class="FastFlow"),
    Wrk("wrk"),
    Script("aiohttp", script="aiohttp_client.py"),
    Script("python floor", script="floor_client.py"),
    Script("python floor, uvloop", script="floor_client.py", flags=("--uvloop",)),
    Locust("locust HttpUser", stop_signal=signal.SIGTERM, user_class="HttpFlow"),
    # What-ifs (only with --clients): the engine with one suggested change applied from outside.
    Engine("engine, no respondent log", what_if=("--no-log",)),
    Engine("engine, shallow log", what_if=("--fast-log",)),
    Engine("engine, asyncio's loop", what_if=("--asyncio-loop",)),
)}
KEYS = {"engine": "engine", "fast": "locust FastHttpUser", "wrk": "wrk", "aiohttp": "aiohttp",
        "http": "locust HttpUser", "floor": "python floor", "floor-uvloop": "python floor, uvloop",
        "engine-nolog": "engine, no respondent log", "engine-fastlog": "engine, shallow log",
        "engine-asyncio": "engine, asyncio's loop"}


# --- server and /proc -------------------------------------------------------------------------
def start_server(db: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(  # taskset execs the server: proc.pid is the server itself
        ["taskset", "-c", SERVER_CORE, str(ROOT / ".venv" / "bin" / "loadtest"), "mock",
         "--survey", str(SURVEY_FILE), "--port", "0", "--db", str(db)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        stop(proc)
        raise SystemExit(f"server did not start (first stdout line: {url!r})")
    return proc, url


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()  # by PID, our own child only
        proc.wait(timeout=10)


def cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) of the whole process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def machine_busy_s() -> float:
    """CPU seconds all cores have spent busy since boot, from /proc/stat (everything but idle and iowait)."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = f[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_quiet(server_pid: int, limit_s: float) -> float:
    """Wait (up to limit_s) until the machine, less our idle platform, is near idle for a second; seconds waited."""
    began = time.monotonic()
    while True:
        all0, srv0, t0 = machine_busy_s(), cpu_seconds(server_pid), time.monotonic()
        time.sleep(1.0)
        other = (machine_busy_s() - all0) - (cpu_seconds(server_pid) - srv0)
        if other / (time.monotonic() - t0) < 0.05 or time.monotonic() - began > limit_s:
            return time.monotonic() - began


def admin(url: str, path: str, method: str = "GET") -> dict:
    for attempt in range(3):  # a platform starved by other work on a shared machine can be slow to answer
        try:
            req = urllib.request.Request(url + path, method=method)
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.load(resp)
        except (TimeoutError, urllib.error.URLError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def served(stats: dict) -> int:
    return sum(sum(stats["requests"].get(ep, {}).values()) for ep in FLOW)


# --- one client run ---------------------------------------------------------------------------
@dataclass
class Run:
    client: str
    requests: int = 0  # platform-counted, inside the window
    cpu_s: float = 0.0  # client CPU inside the window
    sys_s: float = 0.0  # of which in the kernel (stime)
    window_s: float = 0.0
    lifetime_cpu_s: float = 0.0  # the client's whole life, start-up included (getrusage)
    server_cpu_s: float = 0.0  # the platform's CPU inside the window
    other_cpu_s: float = 0.0  # all other busy CPU on the machine inside the window (noise, kernel)
    client_requests: int | None = None  # what the client says it sent, whole run
    stats: dict = field(default_factory=dict)  # the platform's counters for the whole run
    problems: list[str] = field(default_factory=list)

    @property
    def us_per_request(self) -> float:
        return 1e6 * self.cpu_s / self.requests if self.requests else float("nan")


def measure(client: Client, url: str, server_pid: int, seconds: float, warmup: float, concurrency: int,
            out_dir: Path, quiet_s: float = 0.0) -> Run:
    run = Run(client.name)
    if quiet_s > 0:
        waited = wait_quiet(server_pid, quiet_s)
        if waited > 1.5:
            print(f"  (waited {waited:.0f} s for the machine to be quiet)", flush=True)
    admin(url, "/__admin/reset", "POST")
    run_s = STARTUP_S + warmup + seconds + TAIL_S
    cmd = ["taskset", "-c", CLIENT_CORE, *client.command(url, run_s, concurrency)]
    log = out_dir / f"{client.name.replace(' ', '-')}.log"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            launched = time.monotonic()
            while served(admin(url, "/__admin/stats")) == 0:  # until the client is sending
                if proc.poll() is not None or time.monotonic() - launched > STARTUP_S:
                    raise RuntimeError(f"{client.name} sent nothing within {STARTUP_S:g} s (see {log})")
                time.sleep(0.05)
            time.sleep(warmup)
            s0 = served(admin(url, "/__admin/stats"))
            t0, cpu0, srv0, all0 = time.monotonic(), cpu_times(proc.pid), cpu_seconds(server_pid), machine_busy_s()
            time.sleep(seconds)
            t1, cpu1, srv1, all1 = time.monotonic(), cpu_times(proc.pid), cpu_seconds(server_pid), machine_busy_s()
            s1 = served(admin(url, "/__admin/stats"))
            if proc.poll() is not None:
                raise RuntimeError(f"{client.name} exited before the window closed (see {log})")
            proc.send_signal(client.stop_signal)  # each client's graceful stop; its run time bounds it anyway
            stdout, _ = proc.communicate(timeout=run_s + 30)
        finally:
            if proc.poll() is None:
                stop(proc, signal.SIGINT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.requests, run.window_s = s1 - s0, t1 - t0
    run.sys_s = cpu1[1] - cpu0[1]
    run.cpu_s = (cpu1[0] - cpu0[0]) + run.sys_s
    run.server_cpu_s = srv1 - srv0
    run.other_cpu_s = max(0.0, (all1 - all0) - run.cpu_s - run.server_cpu_s)
    run.lifetime_cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    run.stats = admin(url, "/__admin/stats")
    run.client_requests = client_count(client, stdout)
    if proc.returncode not in client.stopped_exits:
        run.problems.append(f"exit code {proc.returncode} (see {log})")
    run.problems += check(run, concurrency)
    return run


def client_count(client: Client, stdout: str) -> int | None:
    for line in stdout.splitlines():
        if line.startswith("RESULT {"):
            return int(json.loads(line[len("RESULT "):])["requests"])
        if line.startswith("RESULT requests="):  # wrk (bench/capacity.lua)
            fields = dict(kv.split("=") for kv in line.split()[1:])
            return int(fields["requests"])
    return None


def check(run: Run, concurrency: int) -> list[str]:
    """What is wrong with this run, by the platform's own counters (empty: all good)."""
    problems = []
    stats = run.stats
    for endpoint, by_status in stats["requests"].items():
        if endpoint.startswith("/__admin/"):
            continue
        if endpoint not in FLOW or set(by_status) != {"200"}:
            problems.append(f"unexpected requests {endpoint}: {by_status}")
    replies = stats["replies"]
    if set(replies) - {"success", "survey_complete"}:
        problems.append(f"unexpected replies: {replies}")
    takes = sum(stats["requests"].get("take", {}).values())
    if not takes - concurrency <= replies.get("survey_complete", 0) <= takes:
        problems.append(f"{replies.get('survey_complete', 0)} survey_complete for {takes} takes")
    total = served(stats)
    if run.client_requests is None:
        problems.append("the client printed no request count")
    elif not run.client_requests <= total <= run.client_requests + concurrency:
        # A client stopped mid-request may not count a request the platform answered.
        problems.append(f"platform counted {total} requests, the client {run.client_requests}")
    if run.requests < 1000:
        problems.append(f"only {run.requests} requests in the window")
    return problems


# --- report -----------------------------------------------------------------------------------
def machine() -> str:
    return f"{results.machine(('granian', 'locust', 'aiohttp'))}; {source()}"


def source() -> str:
    """Which loadtest the platform and the engine import (PYTHONPATH can point elsewhere), and its git state."""
    probe = "import loadtest, os; print(os.path.dirname(os.path.dirname(loadtest.__file__)))"
    where = subprocess.run([PY, "-c", probe], capture_output=True, text=True, cwd=BENCH, check=False).stdout.strip()
    if Path(where).resolve() != ROOT:
        return f"loadtest imported from {where}"
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                          check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "loadtest", "personas"], capture_output=True,
                           text=True, cwd=ROOT, check=False).stdout.strip()
    return f"loadtest at git {head}" + (" with uncommitted changes" if dirty else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10, help="measured window per client run (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up before each window (default 2)")
    parser.add_argument("--concurrency", type=int, default=64, help="respondents/users/connections (default 64)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times through all clients; each figure is the median round's (default 3)")
    parser.add_argument("--clients", default="engine,fast,wrk,floor,aiohttp,http",
                        help=f"comma-separated, from {','.join(KEYS)} (default: %(default)s)")
    parser.add_argument("--wait-quiet", type=float, default=120, metavar="S",
                        help="before each client, wait up to S s for the machine to be idle (default 120; 0: don't)")
    parser.add_argument("--db-dir", default=None, metavar="DIR", help="where the temporary SQLite file goes")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2 or not shutil.which("wrk") or not shutil.which("taskset"):
        sys.exit("needs 2 cores, wrk and taskset")
    try:
        chosen = [CLIENTS[KEYS[k.strip()]] for k in args.clients.split(",") if k.strip()]
    except KeyError as exc:
        sys.exit(f"--clients: unknown client {exc}; choose from {','.join(KEYS)}")

    out_dir = BENCH / "out" / "client_cost"
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-client-cost-", dir=args.db_dir))
    runs: list[Run] = []
    server = None
    machine_line = machine()  # before the platform starts: the loadtest it runs is the one described
    try:
        server, url = start_server(tmp / "bench.db")
        print(f"platform pid {server.pid} at {url}, core {SERVER_CORE}; clients on core {CLIENT_CORE}", flush=True)
        for rnd in range(1, args.rounds + 1):
            for client in chosen:
                tries: list[Run] = []
                for attempt in range(1, RETRIES + 1):
                    tries.append(measure(client, url, server.pid, args.seconds, args.warmup, args.concurrency,
                                         out_dir, args.wait_quiet))
                    noise = tries[-1].other_cpu_s / tries[-1].window_s
                    if noise <= NOISY or attempt == RETRIES or not args.wait_quiet:
                        break
                    print(f"  {client.name}: other CPU {100 * noise:.0f}% during the window (something else "
                          "ran); again", flush=True)
                r = min(tries, key=lambda t: t.other_cpu_s / t.window_s)  # the quietest try
                runs.append(r)
                print(f"round {rnd} {client.name:<20} {r.requests:>7,} req  {r.cpu_s:6.2f} CPU s  "
                      f"{r.us_per_request:8.1f} µs/req ({100 * r.sys_s / max(r.cpu_s, 1e-9):.0f}% sys)  "
                      f"client {100 * r.cpu_s / r.window_s:3.0f}%  "
                      f"platform {100 * r.server_cpu_s / r.window_s:3.0f}%  "
                      f"other {100 * r.other_cpu_s / r.window_s:3.0f}%"
                      + (f"  PROBLEMS: {r.problems}" if r.problems else ""), flush=True)
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(tmp, ignore_errors=True)

    from client_cost_report import report  # here, not at the top: it imports this module's names

    body, ok = report(runs, args, machine_line)
    print()
    print(body)
    if not args.no_write:
        results.write_section("client-cost", "Client CPU per request (respondent flow)", body)
        print(f"\nwrote {results.RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1  # correctness only; the goal check is in the text


if __name__ == "__main__":
    sys.exit(main())
