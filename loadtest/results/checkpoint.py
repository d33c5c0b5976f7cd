"""A run's figures so far, beside respondents.jsonl, so that a run killed outright can be reported.

Two files, both written so that a kill at any instant leaves them readable:
- checkpoint.json: what summary.json is built from (Metrics.export(): HDR histograms encoded,
  counters; the limits and callbacks so far; the run's scenario, seed, target and load), replaced
  atomically (a temporary file, then os.replace) every CHECKPOINT_S while the load runs;
- checkpoint-timeline.jsonl: the per-second timeline (requests.csv and the report's charts),
  one whole line appended per second once no more samples can land in it; the seconds still
  open are in checkpoint.json.

`loadtest report RUN_DIR` rebuilds summary.json, junit.xml and report.html from them when there
is no summary.json (report/recover.py). Once a run has written its own summary.json the two
files are removed: the folder then holds what any finished run holds.

Cost: an export is ~10 ms for a dozen step histograms, 80% of it zlib, which releases the GIL;
so `write` may run in a worker thread, after `take` (the timeline's new seconds, ~1 ms) on the
driver's own thread.
Writes are not fsynced: what a kill leaves is in the page cache, as for respondents.jsonl.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from loadtest.results.metrics import Metrics

__all__ = ["CHECKPOINT", "CHECKPOINT_S", "CHECKPOINT_TIMELINE", "Checkpointer", "read_checkpoint"]

CHECKPOINT = "checkpoint.json"
CHECKPOINT_TIMELINE = "checkpoint-timeline.jsonl"
CHECKPOINT_S = 2.0  # so the newest checkpoint is at most ~2 s (and a write) old
VERSION = 1


def _bytes_as_text(value: Any) -> Any:
    if isinstance(value, bytes):  # Metrics.export()'s encoded histograms: base64 already
        return value.decode("ascii")
    raise TypeError(f"cannot write {type(value).__name__} into a checkpoint")


class Checkpointer:
    """`settle_s`: seconds after which a timeline second gets no more samples (a driver that
    records as replies arrive: 2; a Locust master, whose workers report every few seconds: more)."""

    def __init__(self, run_dir: Path, meta: dict[str, Any], settle_s: int = 2) -> None:
        self.run_dir = run_dir
        self.meta = meta
        self.settle_s = settle_s
        self._written_up_to = -(1 << 62)  # timeline seconds below this are in the .jsonl already
        self._timeline: IO[bytes] | None = None
        self.writes = 0
        self.failures = 0  # snapshots that met the driver changing the figures under them (retried next time)

    def take(self, metrics: Metrics) -> tuple[Metrics, dict[str, Any]]:
        """On the driver's thread: append the settled timeline seconds, and return a shallow copy
        of the figures without their timeline (shared with the running figures: only read it)
        and the seconds still open."""
        open_seconds = self._append_settled(metrics)
        snap = copy.copy(metrics)
        snap.timeline = {}
        return snap, open_seconds

    def write(self, snap: Metrics, open_seconds: dict[str, Any], extra: dict[str, Any]) -> bool:
        """Replace checkpoint.json; may run in a worker thread. False when the figures changed
        under the export (a new step or persona appearing mid-export): the next write will do."""
        try:
            data = snap.export()
        except RuntimeError:  # "dictionary changed size during iteration"
            self.failures += 1
            return False
        doc = {"version": VERSION, "written_at": round(time.time(), 3), **self.meta, **extra,
               "metrics": data, "timeline_open": open_seconds}
        tmp = self.run_dir / (CHECKPOINT + ".tmp")
        try:
            tmp.write_bytes(orjson.dumps(doc, default=_bytes_as_text))
        except OSError as exc:  # a full disk: the last whole checkpoint stays, and no half one beside it
            tmp.unlink(missing_ok=True)
            exc.filename = exc.filename or str(self.run_dir / CHECKPOINT)
            raise
        os.replace(tmp, self.run_dir / CHECKPOINT)
        self.writes += 1
        return True

    def _append_settled(self, metrics: Metrics) -> dict[str, Any]:
        timeline = metrics.timeline
        seconds = sorted(timeline)
        if not seconds:
            return {}
        settled = seconds[-1] - self.settle_s
        lines = []
        open_seconds: dict[str, Any] = {}
        for sec in seconds:
            if sec < self._written_up_to:
                continue  # a sample that came after its second was written: only the summary has it
            entry = {step: [b[0], b[1], {str(k): v for k, v in b[2].items()}] for step, b in timeline[sec].items()}
            if sec < settled:
                lines.append(orjson.dumps({"s": sec, "steps": entry}) + b"\n")
            else:
                open_seconds[str(sec)] = entry
        if lines:
            if self._timeline is None:
                self._timeline = (self.run_dir / CHECKPOINT_TIMELINE).open("ab", buffering=0)
            try:
                self._timeline.write(b"".join(lines))  # one write of whole lines (a torn one is skipped on read)
            except OSError as exc:
                exc.filename = exc.filename or str(self.run_dir / CHECKPOINT_TIMELINE)
                raise
            self._written_up_to = settled
        return open_seconds

    def close(self, remove: bool = True) -> None:
        """After the run's own summary.json is written the checkpoint has done its work."""
        if self._timeline is not None:
            self._timeline.close()
            self._timeline = None
        if remove:
            for name in (CHECKPOINT, CHECKPOINT + ".tmp", CHECKPOINT_TIMELINE):
                (self.run_dir / name).unlink(missing_ok=True)


def _timeline_lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    for line in path.read_bytes().split(b"\n"):
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # an empty last line, or one cut by a kill mid-write


def read_checkpoint(run_dir: Path) -> tuple[dict[str, Any], Metrics]:
    """The checkpoint's own fields and the figures it holds, timeline included. Raises OSError
    or orjson.JSONDecodeError for a missing or unreadable checkpoint.json."""
    doc: dict[str, Any] = orjson.loads((run_dir / CHECKPOINT).read_bytes())
    data = doc["metrics"]
    timeline: dict[str, dict[str, list[Any]]] = {}
    seconds = [(str(line["s"]), line["steps"]) for line in _timeline_lines(run_dir / CHECKPOINT_TIMELINE)]
    for sec, steps in [*seconds, *doc.get("timeline_open", {}).items()]:
        mine = timeline.setdefault(sec, {})
        for step, (count, failed, latencies) in steps.items():
            bucket = mine.setdefault(step, [0, 0, {}])
            bucket[0] += count
            bucket[1] += failed
            for us, n in latencies.items():
                bucket[2][us] = bucket[2].get(us, 0) + n
    metrics = Metrics()
    metrics.absorb({**data, "timeline": timeline})
    return doc, metrics
