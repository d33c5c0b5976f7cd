"""Progress while a run goes: a rich progress bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["show_progress"]

PLAIN_EVERY_S = 5.0


def _outcomes(outcomes: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1])[:6])


async def show_progress(snapshot: Callable[[], dict[str, Any]], total: int | None, duration_s: float,
                        stream: TextIO | None = None) -> None:
    """Runs until cancelled. `total` respondents if known, else the run's duration is the bar."""
    stream = stream or sys.stderr  # looked up now, not at import: a replaced sys.stderr (tests) is honoured
    if stream.isatty():
        await _rich(snapshot, total, duration_s, stream)
    else:
        await _plain(snapshot, total, stream)


async def _plain(snapshot: Callable[[], dict[str, Any]], total: int | None, stream: TextIO) -> None:
    t0 = time.monotonic()
    last_requests, last_t = 0, t0
    while True:
        await asyncio.sleep(PLAIN_EVERY_S)
        s, now = snapshot(), time.monotonic()
        rate = (s["requests"] - last_requests) / max(now - last_t, 1e-9)
        last_requests, last_t = s["requests"], now
        of = f"/{total}" if total else ""
        print(f"[{now - t0:6.1f}s] respondents {s['finished']}{of} done ({s['started'] - s['finished']} walking), "
              f"{s['requests']} requests, {rate:.1f} req/s; {_outcomes(s['outcomes'])}", file=stream, flush=True)


async def _rich(snapshot: Callable[[], dict[str, Any]], total: int | None, duration_s: float,
                stream: TextIO) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("[bold]respondents"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                        console=Console(file=stream), transient=False)
    t0 = time.monotonic()
    last_requests, last_t = 0, t0
    with progress:
        task = progress.add_task("run", total=total or duration_s, info="")
        try:
            while True:
                await asyncio.sleep(0.5)
                s, now = snapshot(), time.monotonic()
                rate = (s["requests"] - last_requests) / max(now - last_t, 1e-9)
                last_requests, last_t = s["requests"], now
                done = s["finished"] if total else min(duration_s, now - t0)
                info = f"{rate:7.1f} req/s  {_outcomes(s['outcomes'])}"
                progress.update(task, completed=done, info=info)
        finally:
            s = snapshot()
            progress.update(task, completed=s["finished"] if total else duration_s)
