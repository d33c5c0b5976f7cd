"""Scale: 100, 1,000 and 10,000 respondents in flight in one engine process, same request rate.

    .venv/bin/python bench/scale.py [--rate 400] [--window 20] [--sizes 100,1000,10000] [--no-write]

An open model whose think time is stretched so that the same request rate (--rate, take +
3 submits per respondent of bench/surveys/bench.toml) is carried by N respondents in flight at
once (Little's law: N = arrivals/s x time a respondent takes). The platform (`loadtest mock`) is
pinned to core 0, the engine (`loadtest run`) to core 1. Once N respondents are walking (the
run's own progress line says how many) a --window of seconds is measured:
- CPU per request: the engine's utime + stime over the window / requests the platform served;
- memory: the engine's RSS; per in-flight respondent = the RSS difference between two sizes
  divided by their difference in respondents (fixed costs cancel); the sockets it holds are
  shown beside (the pool keeps what bursts opened, so they grow with N and are in that figure).
Goals (issue 8): CPU per request within +-15% across the sizes; <= 10 KB per in-flight respondent.
Each engine run is killed (SIGKILL, its own PID) after its window: respondents still thinking
would otherwise take minutes to finish. Loopback only; every run bounded.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import signal
import subprocess
import sys
import tempfile
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


def scenario(tmp: Path, size: int, rate: float, window: float) -> tuple[Path, float]:
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
duration_s = {walk_s * 1.5 + window + 30:.0f}
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


def run_size(url: str, tmp: Path, size: int, args: argparse.Namespace) -> dict:
    sc, walk_s = scenario(tmp, size, args.rate, args.window)
    cmd = ["taskset", "-c", "1", str(ROOT / ".venv/bin/loadtest"), "run", str(sc), "--target", url,
           "--reports", str(tmp / "reports")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "LOADTEST_API_KEY": "loadtest-local-key"})
    walking = 0
    deadline = time.monotonic() + walk_s * 3 + 120
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # plain progress lines every 5 s (not a terminal)
            m = WALKING.search(line)
            if m:
                walking = int(m[1])
            if walking >= size * 0.97 or time.monotonic() > deadline:
                break
        if walking < size * 0.9:
            raise SystemExit(f"size {size}: only {walking} in flight before the deadline")
        cpu0, req0, t0 = cpu_s(proc.pid), admin_requests(url), time.monotonic()
        rss, socks = [], []
        while time.monotonic() - t0 < args.window:
            rss.append(rss_kb(proc.pid))
            socks.append(sockets(proc.pid))
            time.sleep(1.0)  # sampling interval of a measurement, not a wait for something to happen
        cpu1, req1, t1 = cpu_s(proc.pid), admin_requests(url), time.monotonic()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    served = req1 - req0
    return {"size": size, "walking": walking, "requests": served, "req_s": served / (t1 - t0),
            "cpu_us": (cpu1 - cpu0) / max(served, 1) * 1e6, "rss_kb": sorted(rss)[len(rss) // 2],
            "sockets": max(socks), "think_scale": walk_s / (3 * THINK_PER_PAGE_S)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=400.0, help="requests per second, the same for every size")
    ap.add_argument("--window", type=float, default=20.0, help="seconds measured once the size is in flight")
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    started = datetime.datetime.now(datetime.timezone.utc)
    with tempfile.TemporaryDirectory(prefix="loadtest-scale-") as tmp_name:
        tmp = Path(tmp_name)
        platform = subprocess.Popen(["taskset", "-c", "0", str(ROOT / ".venv/bin/loadtest"), "mock", "--port", "0",
                                     "--survey", str(SURVEY), "--db", str(tmp / "db.sqlite")],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        try:
            assert platform.stdout is not None
            url = platform.stdout.readline().strip()
            rows = []
            for size in sizes:
                print(f"size {size} ...", file=sys.stderr, flush=True)
                rows.append(run_size(url, tmp, size, args))
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
        finally:
            platform.send_signal(signal.SIGTERM)
            platform.wait(timeout=30)
    body = report(rows, args, started)
    print(body)
    if not args.no_write:
        results.write_section("scale", "Scale: 100 / 1,000 / 10,000 respondents in flight, one engine process", body)


def report(rows: list[dict], args: argparse.Namespace, started: datetime.datetime) -> str:
    base = rows[0]
    lines = ["| in flight (target / seen) | requests in window | req/s | engine CPU µs/request | vs smallest | RSS MB | "
             "sockets | think scale |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['size']:,} / {r['walking']:,} | {r['requests']:,} | {r['req_s']:.0f} | {r['cpu_us']:.1f} | "
                     f"{r['cpu_us'] / base['cpu_us']:.2f}x | {r['rss_kb'] / 1024:.1f} | {r['sockets']} | "
                     f"{r['think_scale']:.1f} |")
    spread = max(r["cpu_us"] for r in rows) / min(r["cpu_us"] for r in rows) - 1
    big, small = rows[-1], rows[0]
    per_kb = (big["rss_kb"] - small["rss_kb"]) / max(big["walking"] - small["walking"], 1)
    cpu_ok, mem_ok = spread <= 0.15, per_kb <= 10
    return (f"Run {started:%Y-%m-%d %H:%M} UTC; {results.machine()}.\n\n```\n.venv/bin/python bench/scale.py --rate "
            f"{args.rate:g} --window {args.window:g} --sizes {args.sizes}\n```\n\n"
            f"`loadtest mock` (bench/surveys/bench.toml) on core 0; `loadtest run`, open model, completers whose think "
            f"time is stretched so {args.rate:g} req/s are carried by each size, on core 1; measured for {args.window:g} s "
            f"once that many were walking, then the engine is killed.\n\n" + "\n".join(lines) +
            f"\n\nCPU per request across the sizes: spread {spread:+.1%} (goal within ±15%): **{'met' if cpu_ok else 'NOT met'}**. "
            f"Memory per in-flight respondent: ({big['rss_kb']:,} - {small['rss_kb']:,} KB) / "
            f"({big['walking']:,} - {small['walking']:,}) = **{per_kb:.1f} KB** (goal <= 10 KB): "
            f"**{'met' if mem_ok else 'NOT met'}**. Sockets are the most the engine held in the window: the pool keeps "
            f"every connection a burst of requests opened, so more respondents in flight leave more connections open; "
            f"their memory is inside the per-respondent figure.\n")


if __name__ == "__main__":
    main()
