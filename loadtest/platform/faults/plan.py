"""Application-level faults the reference platform injects, per endpoint, seeded and repeatable.

    [faults]                        # in a scenario, `loadtest mock --faults FILE`, or PUT /__admin/faults (JSON)
    seed = 7
    [faults.submit-page]            # an endpoint: take, submit-page, previous-page, responses, panel,
    error = 0.05                    #   respondent-data, or "*" for every one without its own table
    error_status = 503              # 5xx answered before the request is processed
    throttle = 0.01                 # 429 with Retry-After (retry_after_s), before processing
    malformed = 0.01                # after processing: the reply's JSON is cut and garbled
    truncated = 0.01                # after processing: the reply's JSON ends halfway
    no_token = 0.01                 # after processing: the x-survey-token header is left out
    wrong_token = 0.01              # after processing: a token that is not the session's
    latency = "lognormal"           # "fixed" (latency_ms), "uniform" (latency_ms..latency_max_ms),
    latency_ms = 20                 #   "lognormal" (median latency_ms, latency_sigma)

Faults "before processing" leave the platform untouched (the request never happened); faults
"after processing" are the nasty kind a client must survive: the work was done, the reply is lost.
Request number n of an endpoint always gets the same decision for the same seed (Random seeded
with seed:endpoint:n), so a campaign repeats. Every injected fault is tagged on the reply
(`x-loadtest-fault: KIND`) and counted in the journal (GET /__admin/faults), so a report can
tell injected failures from genuine ones. Connection-level faults (`[faults.connection]`: resets,
hangs, cut bodies, slow closes, refused connections) are proxy.py's, parsed here too.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

from loadtest.core.toml_reader import TomlError, TomlReader
from loadtest.platform.faults.proxy import KINDS as CONNECTION_KINDS
from loadtest.platform.faults.proxy import ConnectionFaults

__all__ = ["ENDPOINTS", "FAULT_HEADER", "Decision", "EndpointFaults", "FaultPlan", "FaultsError", "parse_faults"]

ENDPOINTS = ("take", "submit-page", "previous-page", "responses", "panel", "respondent-data", "*")
BEFORE = ("error", "throttle")
AFTER = ("malformed", "truncated", "no_token", "wrong_token")
LATENCIES = ("none", "fixed", "uniform", "lognormal")
FAULT_HEADER = "x-loadtest-fault"


class FaultsError(TomlError):
    """A fault table that cannot be used; str() is one line."""


@dataclass(frozen=True)
class EndpointFaults:
    error: float = 0.0
    error_status: int = 503
    throttle: float = 0.0
    retry_after_s: float = 1.0
    malformed: float = 0.0
    truncated: float = 0.0
    no_token: float = 0.0
    wrong_token: float = 0.0
    latency: str = "none"
    latency_ms: float = 0.0
    latency_max_ms: float = 0.0
    latency_sigma: float = 0.5


@dataclass(frozen=True, slots=True)
class Decision:
    before: str | None = None  # error | throttle: answer this instead of processing
    after: str | None = None  # malformed | truncated | no_token | wrong_token: spoil the real reply
    delay_s: float = 0.0


NO_FAULT = Decision()


@dataclass
class FaultPlan:
    seed: int = 0
    endpoints: dict[str, EndpointFaults] = field(default_factory=dict)
    journal: Counter[tuple[str, str]] = field(default_factory=Counter)  # (endpoint, kind) -> injected
    connection: ConnectionFaults | None = None  # proxy.py's part, when the plan has one
    _counts: Counter[str] = field(default_factory=Counter)

    @property
    def active(self) -> bool:
        return bool(self.endpoints)

    def decide(self, endpoint: str) -> Decision:
        rules = self.endpoints.get(endpoint) or self.endpoints.get("*")
        if rules is None:
            return NO_FAULT
        n = self._counts[endpoint]
        self._counts[endpoint] = n + 1
        rng = random.Random(f"{self.seed}:{endpoint}:{n}")
        roll = rng.random()
        before = after = None
        for kind in (*BEFORE, *AFTER):  # one fault at most: probabilities stack along [0, 1)
            p = getattr(rules, kind)
            if roll < p:
                before, after = (kind, None) if kind in BEFORE else (None, kind)
                break
            roll -= p
        delay = _latency(rules, rng)
        for injected in (before, after):
            if injected:
                self.journal[(endpoint, injected)] += 1
        if delay > 0:
            self.journal[(endpoint, "latency")] += 1
        return Decision(before, after, delay)

    def describe(self) -> dict[str, Any]:
        injected = {f"{e} {k}": n for (e, k), n in sorted(self.journal.items())}
        out: dict[str, Any] = {"seed": self.seed, "injected": injected,
                               "endpoints": {name: {f.name: getattr(r, f.name) for f in fields(r)}
                                             for name, r in self.endpoints.items()}}
        if self.connection is not None:
            c = self.connection
            keys = ("seed", *CONNECTION_KINDS, "refuse", "hang_s", "slow_close_s")
            out["connection"] = {k: getattr(c, k) for k in keys}
            injected.update({f"connection {k}": n for k, n in sorted(c.journal.items())})
        return out


def _latency(rules: EndpointFaults, rng: random.Random) -> float:
    if rules.latency == "fixed":
        return rules.latency_ms / 1000
    if rules.latency == "uniform":
        return rng.uniform(rules.latency_ms, max(rules.latency_ms, rules.latency_max_ms)) / 1000
    if rules.latency == "lognormal":
        return rules.latency_ms * math.exp(rng.gauss(0.0, rules.latency_sigma)) / 1000
    return 0.0


def parse_faults(doc: Any, source: str) -> FaultPlan:
    """A FaultPlan from the `[faults]` table (a dict from TOML or JSON). FaultsError, one line, if bad."""
    top = TomlReader(source, doc, "faults", FaultsError)
    if not isinstance(doc, dict):
        raise top.fail("", "a table")
    seed = top.int("seed", 0)
    endpoints: dict[str, EndpointFaults] = {}
    connection = None
    for name in doc:
        if name == "seed":
            continue
        if name == "connection":
            connection = _connection(top.table(name), seed)
            continue
        if name not in ENDPOINTS:
            raise top.fail(name, f"an endpoint: one of {', '.join(ENDPOINTS)} (or seed, connection)")
        r = top.table(name)
        values = _checked(r, {f.name for f in fields(EndpointFaults)}, exclusive=(*BEFORE, *AFTER), others=(),
                          durations=("retry_after_s", "latency_ms", "latency_max_ms", "latency_sigma"),
                          defaults=EndpointFaults)
        status = r.int("error_status", 503)
        if not 500 <= status <= 599:
            raise r.fail("error_status", f"a 5xx status (got {status})")
        endpoints[name] = EndpointFaults(**values, error_status=status,
                                         latency=r.str("latency", "none", choices=LATENCIES))
    return FaultPlan(seed=seed, endpoints=endpoints, connection=connection)


def _connection(r: TomlReader, seed: int) -> ConnectionFaults:
    values = _checked(r, {"seed", *CONNECTION_KINDS, "refuse", "hang_s", "slow_close_s"}, exclusive=CONNECTION_KINDS,
                      others=("refuse",), durations=("hang_s", "slow_close_s"), defaults=ConnectionFaults)
    return ConnectionFaults(seed=r.int("seed", seed), **values)


def _checked(r: TomlReader, known: set[str], exclusive: tuple[str, ...], others: tuple[str, ...],
             durations: tuple[str, ...], defaults: type) -> dict[str, float]:
    """The table's keys all known; its probabilities from 0 to 1, the `exclusive` ones (one fault
    per request at most) adding up to at most 1; its durations >= 0."""
    for key in r.data:
        if key not in known:
            raise r.fail(key, f"one of {', '.join(sorted(known))}")
    values: dict[str, float] = {}
    for kind in (*exclusive, *others):
        p = r.number(kind, 0.0)
        if not 0 <= p <= 1:
            raise r.fail(kind, f"a probability from 0 to 1 (got {p})")
        values[kind] = p
    if sum(values[k] for k in exclusive) > 1:
        raise r.fail(exclusive[0], "probabilities that add up to at most 1")
    for key in durations:
        v = r.number(key, getattr(defaults, key))
        if v < 0:
            raise r.fail(key, f"a number >= 0 (got {v})")
        values[key] = v
    return values
