"""What `loadtest locust` adds to Locust's command line from the scenario, unless given: the
number of users (the scenario's closed-model concurrency), a spawn rate that reaches it in about
ten seconds, and, when it serves the embedded platform it started itself, a web UI bound to
127.0.0.1 (Locust's default is every interface: anyone on the network could start load).
Locust's web UI opens with these in its form (and the host `--host` names), not 1 user at 1/s.
A scenario with [[load.stages]] leaves users and spawn rate to the stage plan."""

from __future__ import annotations

import math

from loadtest.scenario.file import Scenario

__all__ = ["RAMP_S", "scenario_defaults"]

RAMP_S = 10.0  # the default spawn rate reaches the scenario's concurrency in about this long


def _given(args: list[str], *names: str) -> bool:
    return any(a in names or a.startswith(tuple(f"{n}=" for n in names if n.startswith("--"))) for a in args)


def scenario_defaults(sc: Scenario, args: list[str], embedded: bool) -> list[str]:
    """Options to append to `args` (Locust's, as given); `embedded`: we started the platform."""
    out: list[str] = []
    if "--worker" in args:  # a worker takes its users and rate from its master
        return out
    if sc.load.kind == "closed" and not sc.load.stages:
        users = sc.load.concurrency
        if not _given(args, "-u", "--users"):
            out += ["--users", str(users)]
        if not _given(args, "-r", "--spawn-rate"):
            out += ["--spawn-rate", f"{max(1, math.ceil(users / RAMP_S))}"]
    if embedded and not _given(args, "--web-host"):
        out += ["--web-host", "127.0.0.1"]
    return out
