"""What the processes of `loadtest mock --workers N` share beyond the rows, through the database.

The rows, quota counts and panel results are shared by being in SQLite (storage.py says how a
row moved by two processes is moved once). Three more things live in each process's memory
and must agree across them:

- Configuration changed at run time (survey states, panel quota cells, the fault plan, a reset):
  the process that changes it commits the change and bumps `generation` in `meta`, then a
  counter in a small file beside the database (`<db>-changes`), mmapped by every process. Each
  reads that counter before each request (a memory read: a SQL statement per request cost the
  flow ~5% of its CPU) and, when it moved, reloads (`Platform` says what reloading means).
  The counter moves only after the commit, so a process that saw it move reads the change.
- Figures of /__admin/stats and /__admin/faults (requests by endpoint and status, faults
  injected): each process writes its own into `worker_figures` as they change (at most every
  FLUSH_S, and whenever it answers such a call), and the process that answers sums them all.
  So another process's figures are at most FLUSH_S old; at rest they are exact.
- The panel API's per-key rate bucket: its state is a row of `rate_limits`, read and advanced
  in one write transaction, so 10 req/s is 10 req/s across all processes.
"""

from __future__ import annotations

import fcntl
import itertools
import mmap
import os
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from loadtest.core.limits import TokenBucket
from loadtest.platform.storage import Store

__all__ = ["FLUSH_S", "Figures", "Sharing", "counted"]

FLUSH_S = 0.25

_SCHEMA = """
CREATE TABLE IF NOT EXISTS worker_figures (worker TEXT PRIMARY KEY, body TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rate_limits (key TEXT PRIMARY KEY, tat REAL NOT NULL);
"""

Figures = dict[str, list[list[Any]]]  # name -> [[key parts..., count], ...]
_instances = itertools.count()
_COUNTER = struct.Struct("<Q")


class Sharing:
    """One process's view of what it shares with the others (used from its event-loop thread)."""

    def __init__(self, store: Store) -> None:
        self._db = db = store.connection
        self._written = store.transaction  # one write transaction, as the store's own writes take
        self._changes_fd = os.open(store.path + "-changes", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if os.fstat(self._changes_fd).st_size < _COUNTER.size:
            os.ftruncate(self._changes_fd, _COUNTER.size)  # zeros; to the same size if a rival got here first
        self._changes = mmap.mmap(self._changes_fd, _COUNTER.size)
        self._counter_seen = self._counter()
        # The PID names the process; a second platform in one process (a test's) gets a suffix.
        n = next(_instances)
        self.worker = str(os.getpid()) if n == 0 else f"{os.getpid()}.{n}"
        db.executescript(_SCHEMA)
        db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', 0)")
        self._seen = self._generation()
        self._flushed_at = 0.0
        self._flushed: bytes | None = None

    def close(self) -> None:
        self._changes.close()
        os.close(self._changes_fd)

    def _counter(self) -> int:
        return int(_COUNTER.unpack_from(self._changes)[0])

    def _bump_counter(self) -> None:
        fcntl.flock(self._changes_fd, fcntl.LOCK_EX)  # read-add-write, one process at a time
        try:
            _COUNTER.pack_into(self._changes, 0, self._counter() + 1)
        finally:
            fcntl.flock(self._changes_fd, fcntl.LOCK_UN)

    def _generation(self) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    # --- configuration --------------------------------------------------------------------------
    def changed(self, **payload: Any) -> None:
        """This process changed shared configuration: the others reload before their next request.
        `payload` (JSON) is kept in `meta` under its keys for them to read."""
        with self._written():  # one transaction: the bump is never seen without its payload
            for key, value in payload.items():
                self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                 (f"shared:{key}", orjson.dumps(value)))
            self._db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
        self._bump_counter()
        # What was seen stays: this process reloads its own change too (reloading is idempotent),
        # and so never skips another process's change committed just before this one.

    def stale(self) -> bool:
        """Whether configuration changed since this process last looked (then it has looked:
        the caller reloads now)."""
        now = self._counter()
        if now == self._counter_seen:
            return False
        self._counter_seen = now
        self._seen = self._generation()  # read after the counter: it includes the change
        return True

    def payload(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (f"shared:{key}",)).fetchone()
        return orjson.loads(row[0]) if row else None

    # --- figures ----------------------------------------------------------------------------------
    def flush(self, figures: Callable[[], Figures], force: bool = False) -> bool:
        """Write this process's figures if they changed (and FLUSH_S has passed, unless `force`).
        False, writing nothing, when configuration changed since this process last reloaded:
        figures counted before a reset must not land after it. Reload, then flush again."""
        now = time.monotonic()
        if not force and now - self._flushed_at < FLUSH_S:
            return True
        body = orjson.dumps(figures(), option=orjson.OPT_SORT_KEYS)
        if body == self._flushed:
            return True
        with self._written():
            if self._generation() != self._seen:
                self._seen = self._generation()
                return False
            self._db.execute("INSERT INTO worker_figures (worker, body, at) VALUES (?, ?, ?) ON CONFLICT (worker) "
                             "DO UPDATE SET body = excluded.body, at = excluded.at", (self.worker, body, time.time()))
        self._flushed, self._flushed_at = body, now
        return True

    def summed(self, name: str) -> Counter[tuple[Any, ...]]:
        """One figure summed over every process that has written its figures."""
        total: Counter[tuple[Any, ...]] = Counter()
        for (body,) in self._db.execute("SELECT body FROM worker_figures"):
            for *key, n in orjson.loads(body).get(name, []):
                total[tuple(key)] += n
        return total

    def per_worker(self, name: str) -> dict[str, int]:
        """One figure's total for each process (by PID): how the load spread over them."""
        return {worker: sum(row[-1] for row in orjson.loads(body).get(name, []))
                for worker, body in self._db.execute("SELECT worker, body FROM worker_figures ORDER BY worker")}

    def forget_figures(self) -> None:
        """After a reset: every process's figures start again from nothing."""
        self._db.execute("DELETE FROM worker_figures")
        self._flushed = None

    # --- the panel's rate limit -----------------------------------------------------------------
    def try_take(self, key: str, rate: float, burst: int, now: float) -> float:
        """TokenBucket.try_take on the bucket all processes share for `key`."""
        with self._written():
            row = self._db.execute("SELECT tat FROM rate_limits WHERE key = ?", (key,)).fetchone()
            bucket = TokenBucket.resumed(rate, burst, row[0] if row else None)
            wait = bucket.try_take(now)
            if wait == 0.0:
                self._db.execute("INSERT INTO rate_limits (key, tat) VALUES (?, ?) "
                                 "ON CONFLICT (key) DO UPDATE SET tat = excluded.tat", (key, bucket.tat))
        return wait

    def forget_buckets(self) -> None:
        self._db.execute("DELETE FROM rate_limits")


def counted(counter: Iterable[tuple[tuple[Any, ...], int]]) -> list[list[Any]]:
    """A Counter's items as JSON rows for `flush`."""
    return [[*key, n] for key, n in counter]
