"""Scale: 100 and 100,000 respondents in flight (or any --sizes), one engine process each, side by side.

    .venv/bin/python bench/scale.py [--rate 600] [--window 20] [--sizes 100,100000] [--no-write]

An open model whose think time is stretched so that the same request rate (--rate, take +
3 submits per respondent of bench/surveys/bench.toml) is carried by N respondents in flight at
once (Little's law: N = arrivals/s x time a respondent takes). One engine per size (`loadtest
run`), all at the same time and all pinned to core 1, each against its own `loadtest mock`
(all pinned to core 0), so each engine's requests are its platform's count. Once every size has
its N walking (each run's own progress line says how many), one --window of seconds is
measured for all of them at once, so a busy spell on this shared machine hits every size alike:
- CPU per request: an engine's utime + stime over the window / requests its platform served;
- memory: the engine's RSS; per in-flight respondent = the RSS difference between the largest
  and the smallest size divided by their difference in respondents (fixed costs cancel); the
  sockets each holds are shown beside, and what one pooled connection costs is measured apart.
Goals (issue 19): CPU per request within +-15% of the smallest size's; <= 5 KB per in-flight respondent.
The ramp to N in flight takes N / (rate / 4) seconds: ~11 minutes for 100,000 at 600 req/s.
Each engine is killed (SIGKILL, its own PID) after the window: respondents still thinking would
otherwise take minutes to finish. Loopback only; every run bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import orjson
import results

ROOT = Path(__file__).resolve().parent.parent
SURVEY = ROOT / "bench" / "surveys" / "bench.toml"
REQUESTS_PER_RESPONDENT = 4  # take + 3 submit-page
THINK_PER_PAGE_S = 0.55  # the completer's mean think for a one-question page (Uniform(0.3, 0.8))
WALKING = re.compile(r"\((\d+) walking\)")


def scenario(tmp: Path, size: int, rate: float, window: float, longest_walk_s: float) -> tuple[Path, float]:
    arrivals = rate / REQUESTS_PER_RESPONDENT
    walk_s = size / arrivals  # how long a respondent must take for `size` to be in flight
    think_scale = walk_s / (3 * THINK_PER_PAGE_S)
    text = f"""[scenario]
name = "scale-{size}"
seed = 1
target = "embedded"
surveys = ["{SURVEY}"]
survey_id = 900001
think_scale = {think_scale:.4f}
personas_dir = "{ROOT / 'personas'}"
request_timeout_s = 30

[load]
model = "open"
arrival_rate = {arrivals}
duration_s = {longest_walk_s * 1.5 + window + 60:.0f}
max_in_flight = {size * 3}

[data_check]
enabled = false

[personas.completer]
weight = 1
"""
    path = tmp / f"scale-{size}.toml"
    path.write_text(text)
    return path, walk_s


def admin_requests(url: str) -> int:
    stats = orjson.loads(urllib.request.urlopen(f"{url}/__admin/stats", timeout=10).read())
    return sum(n for endpoint, per in stats["requests"].items() if endpoint in ("take", "submit-page")
               for n in per.values())


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def sockets(pid: int) -> int:
    n = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            n += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return n


class Engine:
    """One size's `loadtest run`; its progress is read on a thread (all sizes ramp up at once)."""

    def __init__(self, url: str, tmp: Path, size: int, args: argparse.Namespace, longest_walk_s: float) -> None:
        self.url, self.size = url, size
        sc, self.walk_s = scenario(tmp, size, args.rate, args.window, longest_walk_s)
        cmd = ["taskset", "-c", "1", str(ROOT / ".venv/bin/loadtest"), "run", str(sc), "--target", url,
               "--reports", str(tmp / f"reports-{size}")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                     env={**os.environ, "LOADTEST_API_KEY": "loadtest-local-key"})
        self.walking = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # plain progress lines every 5 s (not a terminal)
            m = WALKING.search(line)
            if m:
                self.walking = int(m[1])

    @property
    def ready(self) -> bool:
        return self.walking >= self.size * 0.97

    def sample(self) -> tuple[float, int]:
        return cpu_s(self.proc.pid), admin_requests(self.url)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def start_platform(tmp: Path, size: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(["taskset", "-c", "0", str(ROOT / ".venv/bin/loadtest"), "mock", "--port", "0",
                             "--survey", str(SURVEY), "--db", str(tmp / f"db-{size}.sqlite")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def measure(engines: list[Engine], args: argparse.Namespace) -> list[dict]:
    """The shared window: every engine's CPU, requests, RSS and sockets over the same seconds."""
    deadline = time.monotonic() + max(e.walk_s for e in engines) * 3 + 120
    while not all(e.ready for e in engines):
        if time.monotonic() > deadline or any(e.proc.poll() is not None for e in engines):
            raise SystemExit("not every size reached its respondents in flight: " +
                             ", ".join(f"{e.size}: {e.walking}" for e in engines))
        time.sleep(1.0)  # polling what the reader threads collect
    first = [e.sample() for e in engines]
    t0 = time.monotonic()
    rss: dict[int, list[int]] = {e.size: [] for e in engines}
    socks: dict[int, list[int]] = {e.size: [] for e in engines}
    while time.monotonic() - t0 < args.window:
        for e in engines:
            rss[e.size].append(rss_kb(e.proc.pid))
            socks[e.size].append(sockets(e.proc.pid))
        time.sleep(1.0)  # sampling interval of a measurement, not a wait for something to happen
    last = [e.sample() for e in engines]
    t1 = time.monotonic()
    rows = []
    for e, (cpu0, req0), (cpu1, req1) in zip(engines, first, last, strict=True):
        served = req1 - req0
        rows.append({"size": e.size, "walking": e.walking, "requests": served, "req_s": served / (t1 - t0),
                     "cpu_us": (cpu1 - cpu0) / max(served, 1) * 1e6,
                     "rss_kb": sorted(rss[e.size])[len(rss[e.size]) // 2], "sockets": max(socks[e.size]),
                     "think_scale": e.walk_s / (3 * THINK_PER_PAGE_S)})
    return rows


def connection_cost(url: str, n: int = 400) -> float:
    """RSS KB of one pooled connection of the engine's transport (Connection, httptools parser,
    asyncio transport, socket object), opened by n requests at once; kernel buffers not included."""
    from loadtest.core.flow import Request
    from loadtest.transport.http import HttpTransport

    async def run() -> float:
        transport = HttpTransport(url, max_connections=n)
        request = Request(step="stats", method="GET", url="/__admin/stats", headers=())
        await transport.send(request)  # first-use costs before the baseline
        before = rss_kb(os.getpid())
        await asyncio.gather(*(transport.send(request) for _ in range(n)))
        after, opened = rss_kb(os.getpid()), transport.connections_opened - 1
        await transport.aclose()
        return (after - before) / max(opened, 1)

    return asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=600.0, help="requests per second, the same for every size")
    ap.add_argument("--window", type=float, default=20.0, help="seconds measured once every size is in flight")
    ap.add_argument("--sizes", default="100,100000")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    started = datetime.datetime.now(datetime.UTC)
    longest_walk_s = max(sizes) / (args.rate / REQUESTS_PER_RESPONDENT)
    with tempfile.TemporaryDirectory(prefix="loadtest-scale-") as tmp_name:
        tmp = Path(tmp_name)
        platforms: list[subprocess.Popen] = []
        engines: list[Engine] = []
        try:
            urls = {}
            for size in sizes:
                proc, urls[size] = start_platform(tmp, size)
                platforms.append(proc)
            print(f"sizes {sizes}: ramping up together (~{longest_walk_s:.0f} s) ...", file=sys.stderr, flush=True)
            engines = [Engine(urls[size], tmp, size, args, longest_walk_s) for size in sizes]
            rows = measure(engines, args)
            for e in engines:
                e.kill()
            rows[0]["connection_kb"] = connection_cost(urls[sizes[0]])
            for r in rows:
                print(f"  {r}", file=sys.stderr, flush=True)
        finally:
            for e in engines:
                e.kill()
            for proc in platforms:
                proc.send_signal(signal.SIGTERM)
            for proc in platforms:
                proc.wait(timeout=30)
    body = report(rows, args, started)
    print(body)
    if not args.no_write:
        title = " / ".join(f"{n:,}" for n in sizes)
        results.write_section("scale", f"Scale: {title} respondents in flight, one engine process each", body)


def report(rows: list[dict], args: argparse.Namespace, started: datetime.datetime) -> str:
    base = rows[0]
    lines = ["| in flight (target / seen) | requests in window | req/s | engine CPU µs/request | vs smallest "
             "| RSS MB | sockets | think scale |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['size']:,} / {r['walking']:,} | {r['requests']:,} | {r['req_s']:.0f} | {r['cpu_us']:.1f} | "
                     f"{r['cpu_us'] / base['cpu_us']:.2f}x | {r['rss_kb'] / 1024:.1f} | {r['sockets']} | "
                     f"{r['think_scale']:.1f} |")
    spread = max(abs(r["cpu_us"] / rows[0]["cpu_us"] - 1) for r in rows)
    big, small = rows[-1], rows[0]
    per_kb = (big["rss_kb"] - small["rss_kb"]) / max(big["walking"] - small["walking"], 1)
    cpu_ok, mem_ok = spread <= 0.15, per_kb <= 5
    connection_kb = base.get("connection_kb", float("nan"))
    return (f"Run {started:%Y-%m-%d %H:%M} UTC; {results.machine()}.\n\n```\n.venv/bin/python bench/scale.py --rate "
            f"{args.rate:g} --window {args.window:g} --sizes {args.sizes}\n```\n\n"
            f"One `loadtest run` per size, all at once on core 1 (open model, completers whose think time is "
            f"stretched so {args.rate:g} req/s are carried by each size), each against its own `loadtest mock` "
            f"(bench/surveys/bench.toml), all on core 0; one shared {args.window:g} s window once every size had its "
            f"respondents walking, then the engines are killed.\n\n" + "\n".join(lines) +
            f"\n\nCPU per request against the smallest size's: at most {spread:.1%} apart (goal within ±15%): "
            f"**{'met' if cpu_ok else 'NOT met'}**. "
            f"Memory per in-flight respondent: ({big['rss_kb']:,} - {small['rss_kb']:,} KB) / "
            f"({big['walking']:,} - {small['walking']:,}) = **{per_kb:.1f} KB** (goal <= 5 KB): "
            f"**{'met' if mem_ok else 'NOT met'}**. Sockets are the most each engine held in the window (the pool "
            f"keeps what bursts of requests opened); one pooled connection costs **{connection_kb:.1f} "
            f"KB** of RSS (400 opened at once in the bench process; kernel socket buffers not included), and those "
            f"held in the window are inside the per-respondent figure.\n")


if __name__ == "__main__":
    main()
