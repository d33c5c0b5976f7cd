"""Locustfile add-on for bench/locust_user_cost.py --profile: time spent in garbage collection.

    locust -f OTHER_LOCUSTFILE,bench/locust_gc_probe.py ...   (env BENCH_GC_WINDOW="warm-up,seconds")

Times every collection (gc.callbacks) and, over a window that opens `warm-up` seconds after the
test starts and lasts `seconds`, divides the time spent collecting and the process CPU time by
Locust's request count. With BENCH_GC_FREEZE=1 it first moves everything alive at the test's start
(imports, Locust, the scenario) into the permanent generation (gc.freeze()), the what-if for a
locustfile that did so itself. At exit one line: `GC {...}`.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

import gevent
from locust import events

_clock = {"began": 0.0, "spent": 0.0}
_env: dict = {}


def _timer(phase: str, _info: dict) -> None:
    if phase == "start":
        _clock["began"] = time.perf_counter()
    else:
        _clock["spent"] += time.perf_counter() - _clock["began"]


gc.callbacks.append(_timer)


def _window(warmup: float, seconds: float) -> None:
    gevent.sleep(warmup)
    stats = _env["environment"].stats.total
    a = (_clock["spent"], stats.num_requests, time.process_time())
    gevent.sleep(seconds)
    b = (_clock["spent"], stats.num_requests, time.process_time())
    n = max(b[1] - a[1], 1)
    _env["result"] = {"requests": b[1] - a[1], "gc_us": round(1e6 * (b[0] - a[0]) / n, 1),
                      "cpu_us": round(1e6 * (b[2] - a[2]) / n, 1), "tracked": len(gc.get_objects())}


@events.init.add_listener
def _keep(environment, **_kw) -> None:
    _env["environment"] = environment


@events.test_start.add_listener
def _start(**_kw) -> None:
    if os.environ.get("BENCH_GC_FREEZE") == "1":
        gc.collect()
        gc.freeze()
    warmup, seconds = (float(x) for x in os.environ.get("BENCH_GC_WINDOW", "2,8").split(","))
    gevent.spawn(_window, warmup, seconds)


@events.quit.add_listener
def _report(**_kw) -> None:
    sys.stdout.write("GC " + json.dumps(_env.get("result")) + "\n")
    sys.stdout.flush()
