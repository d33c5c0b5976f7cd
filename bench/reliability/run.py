"""Reliability campaign: a few thousand respondents against a platform that fails on purpose.

5% 5xx on every endpoint, 2% connection resets (half of them after the platform did the work),
1% hangs, a few garbled replies and missing tokens (bench/reliability/campaign.toml), and the
platform killed with SIGKILL once, mid-run, then restarted on the same port and database. What
must hold: responses lost 0 (read-back: every completion stored as answered), duplicate callbacks
0 (panel reconciliation), every respondent accounted for. Writes its section of bench/RESULTS.md.

    .venv/bin/python bench/reliability/run.py [--respondents 2000] [--no-write]

Loopback only; bounded by the run's own limits (every respondent bounded, the run's duration cap).
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import results  # noqa: E402

from loadtest.local_defaults import DEFAULT_API_KEY, DEFAULT_PANEL_API_KEY  # noqa: E402
from loadtest.platform.app import DEFAULT_DATA_TOKEN  # noqa: E402
from loadtest.platform.embedded import embedded_platform  # noqa: E402
from loadtest.platform.theoremreach.panel_api import DEFAULT_PANEL_SECRET  # noqa: E402

HERE = Path(__file__).resolve().parent
SURVEYS = [ROOT / "scenarios" / "surveys" / "customer_satisfaction.toml",
           ROOT / "scenarios" / "surveys" / "store_visit.toml"]


def scenario(tmp: Path, respondents: int) -> Path:
    """smoke.toml, scaled up, with the read-back on and outage-sized thresholds."""
    text = (ROOT / "scenarios" / "smoke.toml").read_text()
    text = text.replace('"surveys/customer_satisfaction.toml", "surveys/store_visit.toml"',
                        ", ".join(f'"{s}"' for s in SURVEYS))
    text = text.replace("[scenario]\n", f'[scenario]\npersonas_dir = "{ROOT / "personas"}"\n', 1)
    text = text.replace("concurrency = 50", "concurrency = 150")
    text = text.replace("respondents = 200", f"respondents = {respondents}")
    text = text.replace("duration_s = 120", "duration_s = 600").replace("error_ratio = 0.0", "error_ratio = 0.2")
    text = text.replace("[load]", "[data_check]\nenabled = true\n\n[load]", 1)
    out = tmp / "reliability.toml"
    out.write_text(text)
    return out


def finished(reports: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in reports.glob("*/respondents.jsonl"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--respondents", type=int, default=2000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    env = {**os.environ, "LOADTEST_API_KEY": DEFAULT_API_KEY, "LOADTEST_DATA_TOKEN": DEFAULT_DATA_TOKEN,
           "LOADTEST_PANEL_API_KEY": DEFAULT_PANEL_API_KEY, "LOADTEST_PANEL_SECRET": DEFAULT_PANEL_SECRET}
    started = datetime.datetime.now(datetime.UTC)
    with tempfile.TemporaryDirectory(prefix="loadtest-reliability-") as tmp_name:
        tmp = Path(tmp_name)
        sc, reports, db = scenario(tmp, args.respondents), tmp / "reports", tmp / "platform.db"
        extra = ("--faults", str(HERE / "campaign.toml"))
        injected: dict[str, int] = {}
        with embedded_platform(SURVEYS, db=db, extra=extra, cwd=ROOT) as first:
            cmd = [sys.executable, "-m", "loadtest.cli", "run", str(sc), "--target", first.url,
                   "--reports", str(reports)]
            run = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 600
                while finished(reports) < args.respondents * 0.4:  # kill at 40% done
                    if run.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("the run ended (or stalled) before the platform could be killed")
                    time.sleep(0.5)
                killed_at = finished(reports)
                injected_before = _journal(first.url)
                first.proc.kill()  # SIGKILL, by our own PID
                first.proc.wait()
                with embedded_platform(SURVEYS, db=db, port=first.port, extra=extra, cwd=ROOT) as second:
                    run.communicate(timeout=1200)
                    injected = _add(injected_before, _journal(second.url))
            finally:
                if run.poll() is None:
                    run.kill()
                    run.wait()
        (run_dir,) = reports.iterdir()
        s = orjson.loads((run_dir / "summary.json").read_bytes())
        lines = [orjson.loads(x) for x in (run_dir / "respondents.jsonl").read_bytes().splitlines()]
    body = _section(args, s, lines, injected, killed_at, run.returncode, started)
    print(body)
    if not args.no_write:
        results.write_section("reliability", "Reliability: a fault campaign and a platform kill", body)


def _journal(url: str) -> dict[str, int]:
    import httpx

    return dict(httpx.get(f"{url}/__admin/faults", timeout=10).json()["injected"])


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in sorted(set(a) | set(b))}


def _section(args: argparse.Namespace, s: dict, lines: list[dict], injected: dict[str, int], killed_at: int,
             code: int, started: datetime.datetime) -> str:
    dc, rec, cb = s["data_check"], s["reconciliation"], s["callbacks"]
    by_kind: dict[str, int] = {}
    for key, n in injected.items():
        kind = key.split(" ", 1)[1] if " " in key else key
        by_kind[kind] = by_kind.get(kind, 0) + n
    lost = dc["problems"]["missing"] + dc["problems"]["mismatched"]
    duplicated = rec["problems"].get("duplicated", 0)
    rows = [
        ("respondents (all accounted for in respondents.jsonl)", f"{s['respondents']} ({len(lines)} lines)"),
        ("outcomes", ", ".join(f"{k} {v}" for k, v in s["outcomes"].items() if v)),
        ("unexpected respondents", s["unexpected"]),
        ("errors by blame (respondents that ended in an error)", s["errors_by_blame"] or "none"),
        ("requests / genuine failures / tagged injected", f"{sum(x['count'] for x in s['requests'].values())} / "
                                                           f"{sum(x['failures'] for x in s['requests'].values())} / "
                                                           f"{sum(x['injected'] for x in s['requests'].values())}"),
        ("faults injected by kind (platform journal, both lives)", ", ".join(f"{k} {v}" for k, v in by_kind.items())),
        ("platform killed (SIGKILL) after respondents finished", killed_at),
        ("recoveries by how", ", ".join(f"{k} {v}" for k, v in s["recoveries"].items())),
        ("read-back: completions checked / stored records read", f"{dc['respondents_checked']} / {dc['records_read']}"),
        ("**responses lost** (missing + mismatched; must be 0)", f"**{lost}**"),
        ("unconfirmed (gave up not knowing; stored, not lost)", dc.get("unconfirmed", 0)),
        ("callbacks accepted / verified after a lost reply / gave up",
         f"{cb['accepted']} / {cb.get('verified_after_lost_reply', 0)} / {cb['gave_up']}"),
        ("**duplicate callbacks** (must be 0)", f"**{duplicated}**"),
        ("other reconciliation problems", {k: v for k, v in rec["problems"].items() if k != "duplicated"} or "none"),
        ("run exit code", code),
    ]
    table = "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    met = lost == 0 and duplicated == 0 and s["respondents"] == len(lines) == args.respondents
    verdict = "met" if met else "NOT met"
    return (f"Run {started:%Y-%m-%d %H:%M} UTC; {results.machine()}.\n\n```\n.venv/bin/python bench/reliability/run.py "
            f"--respondents {args.respondents}\n```\n\nFaults: bench/reliability/campaign.toml (5% 5xx on every "
            f"endpoint, 1% resets before and 1% after the work, 1% hangs of 2 s, 0.5% cut bodies, 0.5% garbled "
            f"replies, 0.5% missing tokens), and the platform killed once at 40% and restarted on the same port and "
            f"database. The scenario is smoke.toml scaled to {args.respondents} respondents, 150 at a time, read-back "
            f"on.\n\n{table}\n\n"
            f"Goal (responses lost 0, duplicate callbacks 0, every respondent accounted for): **{verdict}**.\n")


if __name__ == "__main__":
    main()
