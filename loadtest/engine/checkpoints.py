"""`loadtest run`'s checkpoints: the run's figures beside respondents.jsonl every CHECKPOINT_S,
so a run killed outright (SIGKILL, the OOM killer, a lost machine) leaves what `loadtest report
RUN_DIR` rebuilds its report from (results/checkpoint.py says what is in them and why the
export runs in a worker thread)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from loadtest.engine.run import EngineRun
from loadtest.results.checkpoint import CHECKPOINT_S, Checkpointer
from loadtest.results.run_files import RespondentLog, write_error
from loadtest.scenario.file import Scenario

__all__ = ["EngineCheckpoints"]


class EngineCheckpoints:
    def __init__(self, run_dir: Path, sc: Scenario, target: str, log: RespondentLog,
                 extra: Callable[[], dict[str, Any]], on_error: Callable[[str], None] | None = None) -> None:
        self._t0 = time.monotonic()
        self._log = log
        self._extra = extra  # limits and callbacks so far, read on the event loop's thread
        self._on_error = on_error  # a checkpoint the disk refused: one line, and the run stops
        self.writer = Checkpointer(run_dir, {
            "driver": "engine", "scenario_file": str(sc.path), "scenario": sc.name, "seed": sc.seed,
            "target": target, "load": dataclasses.asdict(sc.load), "run_dir": str(run_dir),
            "started_at": round(time.time(), 3)})

    async def now(self, engine: EngineRun) -> None:
        try:
            self._log.flush()  # no respondent counted in the checkpoint is missing from the log
            snap, open_seconds = self.writer.take(engine.metrics)
            extra = {**self._extra(), "elapsed_s": round(time.monotonic() - self._t0, 3),
                     "started": engine.started, "finished": engine.finished}
            await anyio.to_thread.run_sync(self.writer.write, snap, open_seconds, extra)
        except OSError as exc:
            line = write_error(exc)
            if line is None or self._on_error is None:
                raise
            self._on_error(line)

    async def every(self, engine: EngineRun, period: float = CHECKPOINT_S) -> None:
        while True:
            await self.now(engine)
            await anyio.sleep(period)

    def close(self) -> None:
        self.writer.close(remove=True)
