"""The server's configuration and its thread-safe counters."""

from __future__ import annotations

import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["COUNTERS", "ServerConfig", "Stats", "StatsSnapshot"]


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (the bound one is in RunningServer.url)
    api_key: str = "independent-key"
    survey_id: int = 987654321
    # More than this many requests in any 1-second window per api-key answer 429 (0: no limit).
    rate_limit_per_second: int = 30
    # 503 bursts: of every `burst_every` requests (past auth and rate limit) the last `burst_length`
    # answer 503; the first of each burst carries `Retry-After: 1`. 0 turns bursts off.
    burst_every: int = 0
    burst_length: int = 1
    chunked_every: int = 4  # every N-th reply goes out with Transfer-Encoding: chunked (0: never)
    close_every: int = 9  # every N-th reply carries Connection: close and the socket closes (0: never)
    quota_limit: int = 5  # completes allowed in the limited quota cell ("north")
    text_min_length: int = 5  # a non-empty answer to the text question must be at least this long
    outside_host: str = "127.0.0.2"  # the counting listener redirects point at
    outside_port: int = 0
    keepalive_timeout_s: float = 60.0
    # A gateway in front: requests without this header and value answer 403 (None: no gateway).
    gateway_header: tuple[str, str] | None = None
    # Serve HTTPS with this context (a certificate the test made); None: plain HTTP.
    tls: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    # The rate limiter's clock (seconds, monotonic); tests pass a fake one to move time by hand.
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)


COUNTERS = (
    "sent_429", "sent_503", "completes", "terminates", "quota_full", "validation_errors",
    "already_completed", "internal_errors", "outside_hits",
)


@dataclass(frozen=True)
class StatsSnapshot:
    requests_by_path: dict[str, int]
    sent_429: int
    sent_503: int
    completes: int
    terminates: int
    quota_full: int
    validation_errors: int
    already_completed: int
    internal_errors: int
    outside_hits: int
    completes_by_cell: dict[str, int]
    transactions_completed: frozenset[str]
    outside_paths: tuple[str, ...]

    @property
    def requests(self) -> int:
        return sum(self.requests_by_path.values())


class Stats:
    """Counters the server thread writes and a test thread reads, under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._paths: Counter[str] = Counter()
        self._cells: Counter[str] = Counter()
        self._tids: set[str] = set()
        self._outside: list[str] = []

    def add(self, name: str, n: int = 1) -> None:
        assert name in COUNTERS, name
        with self._lock:
            self._counts[name] += n

    def request(self, path: str) -> None:
        with self._lock:
            self._paths[path] += 1

    def outside(self, target: str) -> None:
        with self._lock:
            self._counts["outside_hits"] += 1
            self._outside.append(target)

    def complete(self, cell: str, transaction_id: str | None) -> None:
        with self._lock:
            self._counts["completes"] += 1
            self._cells[cell] += 1
            if transaction_id:
                self._tids.add(transaction_id)

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            c = self._counts
            return StatsSnapshot(
                requests_by_path=dict(self._paths),
                sent_429=c["sent_429"], sent_503=c["sent_503"], completes=c["completes"],
                terminates=c["terminates"], quota_full=c["quota_full"],
                validation_errors=c["validation_errors"], already_completed=c["already_completed"],
                internal_errors=c["internal_errors"], outside_hits=c["outside_hits"],
                completes_by_cell=dict(self._cells), transactions_completed=frozenset(self._tids),
                outside_paths=tuple(self._outside),
            )
