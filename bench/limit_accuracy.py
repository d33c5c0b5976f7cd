"""Limit accuracy: panel callbacks at 10 req/s for 60 s through our limiter, against the reference
platform's panel (which answers 429 beyond 10 req/s per key). Goal: achieved within +-1% of the
limit, zero 429s. Then the same callbacks with limiting switched off: the platform's 429s show up
and are counted (the run must report them, and retrying still delivers every callback).

    .venv/bin/python bench/limit_accuracy.py [--seconds 60] [--no-write]

Loopback only; bounded by --seconds (plus the unlimited burst, a few seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import results  # noqa: E402  (bench/results.py: this script's folder is on sys.path)

from loadtest.control.limiter import Limiter  # noqa: E402
from loadtest.control.panel_client import PanelClient  # noqa: E402
from loadtest.control.panel_http import PanelHttp  # noqa: E402
from loadtest.core.panel import Signer  # noqa: E402
from loadtest.local_defaults import DEFAULT_PANEL_API_KEY  # noqa: E402
from loadtest.platform.embedded import embedded_platform  # noqa: E402
from loadtest.platform.theoremreach.panel_api import DEFAULT_PANEL_SECRET  # noqa: E402

RATE = 10.0


async def send(url: str, count: int, limiter: Limiter | None, prefix: str) -> tuple[PanelClient, list[float]]:
    sent_at: list[float] = []
    http = PanelHttp(limiter=limiter, backoff_s=0.1)
    client = PanelClient(url, Signer(DEFAULT_PANEL_SECRET), DEFAULT_PANEL_API_KEY, http)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def sender() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            sent_at.append(time.monotonic())
            await client.send(f"{prefix}-{i:05d}", 10)

    async with http:
        await asyncio.gather(*(sender() for _ in range(16)))  # more senders than the limit needs
    return client, sent_at


def figures(client: PanelClient, limiter: Limiter | None) -> dict[str, object]:
    s = client.summary()
    out: dict[str, object] = {"accepted": s["accepted"], "gave_up": s["gave_up"], "retries": s["retries"],
                              "429s": s["too_many_requests"], "statuses": s["http_statuses"]}
    if limiter is not None:
        a = limiter.achieved()
        out.update(granted=a["granted"], achieved=a["achieved"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    count = int(RATE * args.seconds) + 1  # n permits span (n - 1) intervals
    surveys = [ROOT / "scenarios" / "surveys" / "customer_satisfaction.toml"]
    with embedded_platform(surveys, cwd=ROOT) as platform:
        limiter = Limiter("panel", RATE)
        t0 = time.monotonic()
        limited, _ = asyncio.run(send(platform.url, count, limiter, "limited"))
        elapsed = time.monotonic() - t0
        unlimited, _ = asyncio.run(send(platform.url, 200, None, "unlimited"))
    a = figures(limited, limiter)
    b = figures(unlimited, None)
    achieved = float(a["achieved"] or 0.0)
    error = (achieved - RATE) / RATE
    ok = abs(error) <= 0.01 and a["429s"] == 0
    print(f"limited:   {a} over {elapsed:.1f}s -> {achieved:.4f} req/s ({error:+.3%}); 429s {a['429s']}")
    print(f"unlimited: {b}")
    print("PASS" if ok else "MISS")
    if args.no_write:
        return
    limited = (f"| limiter on (10 req/s, no start-up burst) | {count} | {achieved:.4f} req/s | {error:+.3%} "
               f"| {a['429s']} | {a['retries']} | {a['accepted']} |")
    body = f"""{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {results.machine()}

Command: `.venv/bin/python bench/limit_accuracy.py --seconds {args.seconds:g}`

| run | callbacks | achieved rate | vs 10 req/s | 429s from the platform | retries | delivered |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{limited}
| limiter off | 200 | (as fast as possible) | | {b['429s']} | {b['retries']} | {b['accepted']} |

Goal: within ±1% over {args.seconds:g} s and zero 429s — **{'met' if ok else 'missed'}**. The rate is
permits granted divided by the time between the first and the last; the platform allows 10
requests per second per key (a 1-second burst) and answers 429 with Retry-After beyond that.
With limiting off the same callbacks run into those 429s: the client counts them and honours
Retry-After by pausing all its requests to the panel; the last column says how many were
delivered within the retry budget (6 attempts each)."""
    results.write_section("limit-accuracy", "Limit accuracy (panel callbacks, single process)", body)


if __name__ == "__main__":
    main()
