"""The scenario's [load] table: the load model and its plan.

Flat forms (one stage, as they always were):

    [load]                                   [load]
    model = "closed"                         model = "open"
    concurrency = 50                         arrival_rate = 20      # respondents per second
    respondents = 200   # and/or duration_s  duration_s = 30
                                             max_in_flight = 2000
                                             arrivals = "uniform"   # or "poisson"

Stages (a target that moves linearly from the previous stage's to its own over each stage):

    [load]
    model = "open"                           # target: respondents per second
    start_target = 0                         # the target before the first stage (default 0)
    [[load.stages]]
    name = "ramp"                            # optional; stage1, stage2... otherwise
    duration_s = 60
    target = 20

In the closed model a stage's target is respondents in flight; `respondents` may cap the run
but never below the stages' peak (that peak could then never be in flight).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from loadtest.core.stages import Stage, StagePlan
from loadtest.core.toml_reader import MISSING, TomlReader

__all__ = ["ARRIVALS", "LoadModel", "parse_load"]

ARRIVALS = ("uniform", "poisson")
_CLOSED = ("model", "concurrency", "respondents", "duration_s", "allow_lost_workers")
_OPEN = ("model", "arrival_rate", "duration_s", "max_in_flight", "arrivals", "allow_lost_workers")
_STAGED_CLOSED = ("model", "stages", "start_target", "respondents", "allow_lost_workers")
_STAGED_OPEN = ("model", "stages", "start_target", "max_in_flight", "arrivals", "allow_lost_workers")
_STAGE = ("name", "duration_s", "target")


@dataclass(frozen=True)
class LoadModel:
    kind: str  # "closed" | "open"
    concurrency: int = 10  # closed: respondents in flight at once
    respondents: int | None = None  # closed: how many in all (None: until duration_s)
    duration_s: float = 60.0  # closed: cap on starting new respondents; open: the arrival window
    arrival_rate: float = 0.0  # open: respondents starting per second
    max_in_flight: int = 10_000  # open: arrivals beyond this are dropped, and counted
    arrivals: str = "uniform"  # open: "uniform" (evenly spaced) or "poisson" (seeded exponential gaps)
    # [[load.stages]]; empty for the flat forms, which are one stage. With stages, duration_s is
    # their sum (a --duration override cuts the plan there, or holds its last target until then).
    stages: tuple[Stage, ...] = ()
    start_target: float = 0.0  # with stages: the target before the first one
    allow_lost_workers: bool = False  # Locust: a worker whose heartbeat is lost does not fail the run

    def plan(self) -> StagePlan:
        if self.stages:
            return StagePlan(self.stages, self.start_target).with_duration(self.duration_s)
        target = float(self.concurrency if self.kind == "closed" else self.arrival_rate)
        return StagePlan((Stage("stage1", self.duration_s, target),), start=target)

    def planned_respondents(self) -> int | None:
        """How many respondents the plan starts, where that is known before the run (a progress bar's total)."""
        if self.kind == "closed":
            return self.respondents
        plan = self.plan()
        return plan.uniform_total if self.arrivals == "uniform" else round(plan.total)


def _positive(r: TomlReader, key: str, default: object) -> float:
    value = r.number(key, default)
    if value <= 0:
        raise r.fail(key, f"a number > 0 (got {value})")
    return float(value)


def _not_negative(r: TomlReader, key: str, default: object) -> float:
    value = r.number(key, default)
    if value < 0:
        raise r.fail(key, f"a number >= 0 (got {value})")
    return float(value)


def parse_load(r: TomlReader) -> LoadModel:
    model = _parse_load(r)
    if r.bool("allow_lost_workers", False):
        model = dataclasses.replace(model, allow_lost_workers=True)
    return model


def _parse_load(r: TomlReader) -> LoadModel:
    r.only(dict.fromkeys((*_CLOSED, *_OPEN, *_STAGED_CLOSED, *_STAGED_OPEN)))
    kind = r.str("model", choices=("closed", "open"))
    if "stages" in r.data:
        return _staged(r, kind)
    r.only(_CLOSED if kind == "closed" else _OPEN, note=f' for model = "{kind}"')
    if kind == "closed":
        respondents = r.int("respondents", None, minimum=1)
        return LoadModel(
            kind=kind,
            concurrency=r.int("concurrency", 10, minimum=1),
            respondents=respondents,
            duration_s=_positive(r, "duration_s", 600.0 if respondents else MISSING),
        )
    return LoadModel(
        kind=kind,
        arrival_rate=_positive(r, "arrival_rate", MISSING),
        duration_s=_positive(r, "duration_s", MISSING),
        max_in_flight=r.int("max_in_flight", 10_000, minimum=1),
        arrivals=r.str("arrivals", "uniform", choices=ARRIVALS),
    )


def _staged(r: TomlReader, kind: str) -> LoadModel:
    for key in ("concurrency", "arrival_rate", "duration_s"):
        if key in r.data:  # a flat form's key beside stages: which one would hold?
            unit = "respondents in flight" if kind == "closed" else "respondents per second"
            raise r.error(r.source, r._join(key), "", said=f"not with [[load.stages]] (each stage's duration_s and "
                          f"target say it: {unit})")
    r.only(_STAGED_CLOSED if kind == "closed" else _STAGED_OPEN, note=f' with [[load.stages]] for model = "{kind}"')
    stages: list[Stage] = []
    for i, t in enumerate(r.tables("stages")):
        t.only(_STAGE)
        name = t.str("name", f"stage{i + 1}")
        if any(s.name == name for s in stages):
            raise t.fail("name", f"a name no other stage has ({name!r} is taken)")
        stages.append(Stage(name, _positive(t, "duration_s", MISSING), _not_negative(t, "target", MISSING)))
    start = _not_negative(r, "start_target", 0.0)
    plan = StagePlan(tuple(stages), start)
    if plan.peak <= 0:
        raise r.fail("stages", "at least one stage with a target > 0")
    if kind == "closed":
        respondents = r.int("respondents", None, minimum=1)
        peak = math.floor(plan.peak + 0.5)  # workers wanted at the peak: the target rounded (core/stages.py)
        if respondents is not None and respondents < peak:
            busiest = max(stages, key=lambda s: s.target)
            raise r.fail("respondents", f"at least the stages' peak of {peak} in flight (with {respondents} "
                         f"respondents in all, stage {busiest.name!r} can never have {peak} in flight)")
        return LoadModel(kind=kind, concurrency=max(peak, 1), respondents=respondents, duration_s=plan.duration_s,
                         stages=tuple(stages), start_target=start)
    return LoadModel(kind=kind, arrival_rate=plan.peak, duration_s=plan.duration_s,
                     max_in_flight=r.int("max_in_flight", 10_000, minimum=1),
                     arrivals=r.str("arrivals", "uniform", choices=ARRIVALS), stages=tuple(stages), start_target=start)
