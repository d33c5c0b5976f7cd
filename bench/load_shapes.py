"""Load shapes: does the engine follow a plan of stages? Two runs against the reference platform:

- uniform: 50/s for 5 s, a ramp from 50 to 250/s over 20 s, 250/s for 10 s (5,750 arrivals);
- poisson: the same stages with seeded poisson arrivals.

    .venv/bin/python bench/load_shapes.py [--scale 1.0] [--no-write]

Achieved = respondents whose actual start (respondents.jsonl `start_s`, not the intended one)
falls in the stage or second. Goals (issue 17): per stage, uniform within ±1% of the plan's
integral, poisson inside the 99% interval of a Poisson count with the integral as its mean; the
ramp's per-second bins within ±2% of the plan's integral over that second, once past the run's
first second. The engine (`loadtest run`) is pinned to core 1, `loadtest mock` to core 0; the
persona is a completer of bench/surveys/bench.toml (take + 3 submits) with short think times.
Loopback only; each run bounded (the plan's 35 s and the respondents' walk after it).
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import results  # noqa: E402  (bench/results.py: this script's folder is on sys.path)

from loadtest.core.stages import Stage, StagePlan  # noqa: E402

SURVEY = ROOT / "bench" / "surveys" / "bench.toml"
STAGES = (("warm", 5.0, 50.0), ("ramp", 20.0, 250.0), ("hold", 10.0, 250.0))
START = 50.0


def scenario(tmp: Path, arrivals: str, scale: float) -> Path:
    stages = "".join(f'\n[[load.stages]]\nname = "{n}"\nduration_s = {d * scale:g}\ntarget = {t:g}\n'
                     for n, d, t in STAGES)
    text = f"""[scenario]
name = "shapes-{arrivals}"
seed = 17
target = "embedded"
surveys = ["{SURVEY}"]
survey_id = 900001
think_scale = 0.3
personas_dir = "{ROOT / 'personas'}"
request_timeout_s = 30

[load]
model = "open"
arrivals = "{arrivals}"
start_target = {START:g}
max_in_flight = 20000
{stages}
[data_check]
enabled = false

[personas.completer]
weight = 1
"""
    path = tmp / f"shapes-{arrivals}.toml"
    path.write_text(text)
    return path


def poisson_interval(mean: float, level: float = 0.99) -> tuple[int, int]:
    """The central `level` interval of a Poisson count with this mean, from its exact CDF."""
    tail = (1 - level) / 2
    k, cdf = 0, 0.0
    low = None
    log_p = -mean
    while True:
        p = math.exp(log_p)
        cdf += p
        if low is None and cdf > tail:
            low = k
        if cdf >= 1 - tail:
            return low or 0, k
        k += 1
        log_p += math.log(mean) - math.log(k)


def run(tmp: Path, arrivals: str, scale: float, url: str) -> Path:
    reports = tmp / f"reports-{arrivals}"
    cmd = ["taskset", "-c", "1", str(ROOT / ".venv/bin/loadtest"), "run", str(scenario(tmp, arrivals, scale)),
           "--target", url, "--reports", str(reports), "--no-preflight"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600,
                         env={**os.environ, "LOADTEST_API_KEY": "loadtest-local-key"})
    if out.returncode not in (0, 3):
        raise SystemExit(f"{arrivals}: loadtest run exited {out.returncode}: {out.stderr[-2000:]}")
    (folder,) = list(reports.iterdir())
    return folder


def figures(folder: Path, plan: StagePlan, arrivals: str) -> tuple[list[dict], list[dict], bool]:
    starts = [orjson.loads(line)["timings"]["start_s"] for line in (folder / "respondents.jsonl").read_bytes()
              .splitlines() if line.strip()]
    stages, ok = [], True
    for i, stage in enumerate(plan.stages):
        t0, t1 = plan.bounds(i)
        achieved = sum(t0 <= s < t1 for s in starts)
        mean = plan.integral(t1) - plan.integral(t0)
        if arrivals == "uniform":
            error = (achieved - mean) / mean
            met = abs(error) <= 0.01
            goal = f"{error:+.2%} (±1%)"
        else:
            low, high = poisson_interval(mean)
            met = low <= achieved <= high
            goal = f"99% interval {low}..{high}"
        ok &= met
        stages.append({"stage": stage.name, "planned": round(mean, 1), "achieved": achieved, "goal": goal,
                       "met": met})
    bins = []
    t0, t1 = plan.bounds(1)  # the ramp
    for sec in range(max(1, math.ceil(t0)), math.floor(t1)):
        planned = plan.integral(sec + 1) - plan.integral(sec)
        achieved = sum(sec <= s < sec + 1 for s in starts)
        bins.append({"second": sec, "planned": planned, "achieved": achieved, "error": (achieved - planned) / planned})
    return stages, bins, ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="stretch every stage's duration (1.0: 35 s)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    plan = StagePlan(tuple(Stage(n, d * args.scale, t) for n, d, t in STAGES), START)
    started = datetime.datetime.now(datetime.UTC)
    out: dict[str, tuple[list[dict], list[dict], bool]] = {}
    with tempfile.TemporaryDirectory(prefix="loadtest-shapes-") as tmp_name:
        tmp = Path(tmp_name)
        mock = subprocess.Popen(["taskset", "-c", "0", str(ROOT / ".venv/bin/loadtest"), "mock", "--port", "0",
                                 "--survey", str(SURVEY), "--db", str(tmp / "db.sqlite")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        try:
            assert mock.stdout is not None
            url = mock.stdout.readline().strip()
            for arrivals in ("uniform", "poisson"):
                out[arrivals] = figures(run(tmp, arrivals, args.scale, url), plan, arrivals)
        finally:
            mock.terminate()
            mock.wait(timeout=30)
    uniform_bins = out["uniform"][1]
    worst = max(uniform_bins, key=lambda b: abs(b["error"]))
    bins_ok = all(abs(b["error"]) <= 0.02 for b in uniform_bins)
    for arrivals, (stages, _, ok) in out.items():
        print(arrivals, stages, "PASS" if ok else "MISS")
    print(f"ramp bins: worst {worst} -> {'PASS' if bins_ok else 'MISS'}")
    if args.no_write:
        return
    rows = "\n".join(f"| {a} | {s['stage']} | {s['planned']:,} | {s['achieved']:,} | {s['goal']} | "
                     f"{'met' if s['met'] else 'NOT met'} |" for a, (stages, _, _) in out.items() for s in stages)
    bins = ", ".join(f"{b['second']}s {b['achieved']}/{b['planned']:.1f}" for b in uniform_bins)
    stages_ok = all(ok for _, _, ok in out.values())
    body = f"""{started:%Y-%m-%d %H:%M} UTC; {results.machine()}

Command: `.venv/bin/python bench/load_shapes.py --scale {args.scale:g}`

Stages: {", ".join(f"{n} {d * args.scale:g} s to {t:g}/s" for n, d, t in STAGES)} (from {START:g}/s); achieved =
respondents whose actual start falls in the stage (or second).

| arrivals | stage | plan's integral | achieved | against the goal | |
| --- | --- | ---: | ---: | --- | --- |
{rows}

Per stage (uniform within ±1%, poisson inside its 99% interval): **{'met' if stages_ok else 'NOT met'}**.
The ramp's per-second bins (uniform; achieved/planned): {bins}. Worst {worst['error']:+.2%} at second
{worst['second']} (goal ±2% past the first second): **{'met' if bins_ok else 'NOT met'}**."""
    results.write_section("load-shapes", "Load shapes: arrivals against the plan (engine, open model)", body)


if __name__ == "__main__":
    main()
