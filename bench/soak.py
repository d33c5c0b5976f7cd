"""Soak: `loadtest run` at a steady open rate against the embedded platform for a long while,
sampling both processes each minute: resident memory, open file descriptors and sockets. What
must hold: after the warm-up no figure grows by more than 10%. Resident memory: the last sample
against the first after the warm-up (a leak grows with the run; a bounded cache stops growing).
Descriptors and sockets go up and down with the respondents in flight, so for them it is the
highest sample of the window's second half against the highest of its first half. Writes its section of bench/RESULTS.md
and the samples to bench/out/soak-<time>.json.

    .venv/bin/python bench/soak.py [--minutes 30] [--rate 20] [--warmup 5] [--sample-s 60] [--no-write]

Bounded: the run is `loadtest run --duration` with the engine's own hard deadline after it, and
this script kills what it started if the run outlives that. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench")]

import results  # noqa: E402

SCENARIO = ROOT / "scenarios" / "steady.toml"
FIGURES = ("rss_mb", "fds", "sockets")
TOLERANCE = 0.10
# What the bench found when it was written, kept under its figures (the same command, 2026-12-01).
FOUND = """Found with it: before the platform dropped idle sessions from memory
(platform/questionpro/sessions.py), every abandoner's session stayed live until the 100,000 cap,
and the platform grew 18.4% over minutes 5 to 30 (53.9 to 63.8 MB; engine 7.9%). Since, the
platform is flat once its first sessions pass the 10-minute idle limit. The engine still grows
by ~0.17 MB a minute: the per-second timeline (results/metrics.py) that requests.csv and the
report's charts are drawn from is kept whole in memory, so memory grows with the run's length
(within 10% over 30 minutes; about 100 MB over 10 hours at this rate)."""


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _platform_of(run_pid: int) -> int | None:
    for child in _children(run_pid):
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"mock" in cmd and b"loadtest.cli" in cmd:
            return child
    return None


def _sample(pid: int) -> dict[str, float] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    sockets = 0
    for fd in fds:
        try:
            sockets += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            continue  # closed between the listing and the look
    return {"rss_mb": round(rss_kb / 1024, 1), "fds": len(fds), "sockets": sockets}


def _drift(samples: list[dict[str, Any]], who: str, warmup_min: float) -> dict[str, float]:
    """Growth of each figure over the post-warm-up window (see the module docstring)."""
    after = [s[who] for s in samples if s["minute"] >= warmup_min and s.get(who)]
    if len(after) < 2:
        return {}
    first, second = after[: len(after) // 2], after[len(after) // 2:]
    out = {"rss_mb": round((after[-1]["rss_mb"] - after[0]["rss_mb"]) / after[0]["rss_mb"], 4)}
    for figure in ("fds", "sockets"):
        ref = max(max(s[figure] for s in first), 1)
        out[figure] = round((max(s[figure] for s in second) - ref) / ref, 4)
    return out


def soak(minutes: float, rate: float, warmup: float, sample_s: float, reports: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "loadtest.cli", "run", str(SCENARIO), "--duration", str(minutes * 60),
           "--arrival-rate", str(rate), "--reports", str(reports), "--no-preflight"]
    log = (reports / "soak-run.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    deadline = started + minutes * 60 + 300  # the run's own hard deadline is 120 s after its window
    platform: int | None = None
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            platform = platform or _platform_of(proc.pid)
            elapsed = time.monotonic() - started
            row = {"minute": round(elapsed / 60, 2), "engine": _sample(proc.pid),
                   "platform": _sample(platform) if platform else None}
            samples.append(row)
            print(f"[{row['minute']:6.2f} min] engine {row['engine']}  platform {row['platform']}", flush=True)
            next_at = started + len(samples) * sample_s
            while proc.poll() is None and time.monotonic() < next_at:
                try:
                    proc.wait(timeout=max(0.0, next_at - time.monotonic()))
                except subprocess.TimeoutExpired:
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        log.close()
    during = [s for s in samples if s["minute"] <= minutes]
    drift = {who: _drift(during, who, warmup) for who in ("engine", "platform")}
    summaries = list(reports.glob("*/summary.json"))
    summary = orjson.loads(summaries[0].read_bytes()) if summaries else {}
    return {"minutes": minutes, "rate": rate, "warmup_min": warmup, "sample_s": sample_s, "exit_code": proc.returncode,
            "samples": samples, "drift": drift,
            "flat": all(v <= TOLERANCE for d in drift.values() for v in d.values()) and all(drift.values()),
            "respondents": summary.get("respondents"), "dropped_arrivals": summary.get("dropped_arrivals"),
            "requests": sum(s["count"] for s in summary.get("requests", {}).values()),
            "passed": summary.get("passed")}


def _section(out: dict[str, Any], started: datetime.datetime, argv: str) -> str:
    def table(who: str) -> str:
        rows = [f"| {s['minute']:.1f} | {s[who]['rss_mb']} | {s[who]['fds']} | {s[who]['sockets']} |"
                for s in out["samples"] if s.get(who)]
        return "| minute | RSS MB | fds | sockets |\n| --- | --- | --- | --- |\n" + "\n".join(rows)

    drift = ", ".join(f"{who}: " + ", ".join(f"{k} {v:.1%}" for k, v in d.items()) for who, d in out["drift"].items())
    command = f".venv/bin/python bench/soak.py {argv}"
    return (f"Run {started:%Y-%m-%d %H:%M} UTC; {results.machine()}.\n\n```\n{command}\n```\n\n"
            f"{out['minutes']:g} minutes at {out['rate']:g} respondents/s (scenarios/steady.toml), sampled every "
            f"{out['sample_s']:g} s: {out['respondents']} respondents, {out['requests']} requests, "
            f"{out['dropped_arrivals']} arrivals dropped, exit {out['exit_code']}. Growth after the "
            f"{out['warmup_min']:g}-minute warm-up (memory: last sample against the first; descriptors and "
            f"sockets: the second half's highest against the first half's): {drift}. "
            f"{'Flat (within 10%)' if out['flat'] else 'NOT flat'}.\n\n"
            f"{FOUND}\n\nEngine (`loadtest run`):\n\n{table('engine')}\n\nPlatform (`loadtest mock`):\n\n"
            f"{table('platform')}\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=20.0, help="respondents arriving per second")
    ap.add_argument("--warmup", type=float, default=5.0, help="minutes before the figures must stay flat")
    ap.add_argument("--sample-s", type=float, default=60.0)
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = ap.parse_args()
    started = datetime.datetime.now(datetime.UTC)
    out_dir = ROOT / "bench" / "out"
    reports = out_dir / f"soak-{started:%Y%m%d-%H%M%S}"
    reports.mkdir(parents=True)
    out = soak(args.minutes, args.rate, args.warmup, args.sample_s, reports)
    (out_dir / f"soak-{started:%Y%m%d-%H%M%S}.json").write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))
    print(f"drift after warm-up: {out['drift']}; {'flat' if out['flat'] else 'NOT flat'}")
    if not args.no_write:
        argv = " ".join(sys.argv[1:])
        results.write_section("soak", "Soak: memory, descriptors and sockets over a long steady run",
                              _section(out, started, argv))
    return 0 if out["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
