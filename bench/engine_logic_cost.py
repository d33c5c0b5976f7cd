"""The engine's per-request CPU without sockets: EngineRun driving completers against recorded replies.

    .venv/bin/python bench/engine_logic_cost.py [--requests 40000]

Starts `loadtest mock` on bench/surveys/bench.toml just long enough to record one respondent's
four replies (take, 2 x success, survey_complete), stops it, then runs the real EngineRun +
Population(completer, think_scale 0) + respondents.jsonl log in this process, pinned to core 1,
with EngineRun's transport a replay of those replies (no sockets, no event loop I/O: `send`
returns at once). CPU time per request (time.process_time) is then the cost of
everything above the transport: flow, page parsing, persona, answers, metrics, the log, the
engine's own loop. Set beside bench/client_cost.py's end-to-end figure, the difference is the
transport + event loop + kernel. Variants size suggested changes by patching from outside.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import random
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import ClassVar

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
import client_cost
import engine_client
import results as bench_results

from loadtest.core.flow import Reply, Request
from loadtest.gc_tuning import settle_for_load
from loadtest.results.run_files import RespondentLog

BASE = f"/a/api/v2/surveys/{client_cost.SURVEY_ID}"


def record(url: str) -> list[tuple[int, dict[str, str], bytes]]:
    """One respondent's replies: take, then submit-page (first answer of each question) to the end."""
    replies = []
    headers = {"api-key": client_cost.API_KEY, "accept": "application/json"}
    req = urllib.request.Request(f"{url}{BASE}/take", headers=headers)
    for _ in range(10):
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
            h = {k.lower(): v for k, v in resp.headers.items()}
            replies.append((resp.status, h, body))
        page = json.loads(body)["response"]
        if page["status"] == "survey_complete":
            return replies
        form = {f"u_{q['json']['id']}": str(q["json"]["answers"][0]["id"]) for q in page["questions"]}
        req = urllib.request.Request(f"{url}{BASE}/submit-page", data=json.dumps(form).encode(), method="POST",
                                     headers={**headers, "content-type": "application/json",
                                              "x-survey-token": h["x-survey-token"]})
    raise SystemExit("no survey_complete after 10 pages")


class ReplayTransport:
    """Stands in for loadtest.transport.http.HttpTransport: reply k of the recording for the k-th
    request of a respondent, told apart by the token it echoes ("r1", "r2", ...)."""

    replies: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, request: Request) -> Reply:
        self.sent += 1
        if request.step == "take":
            k = 0
        else:
            token = next(v for n, v in request.headers if n == "x-survey-token")
            k = int(token[1:])
        status, headers, body = self.replies[k]
        return Reply(status=status, headers={**headers, "x-survey-token": f"r{k + 1}"}, body=body, elapsed_s=0.001)

    async def aclose(self) -> None:
        pass


VARIANTS = {
    "as is": set(),
    "no respondent log": {"no log"},
    "without the parsed-question cache": {"no question cache"},
    "a Mersenne Twister per respondent": {"mt"},
    "default GC thresholds (700, 10, 10)": {"default gc"},
}


@contextlib.contextmanager
def patched(changes: set[str]):
    """The what-ifs: this session's changes undone one at a time, from outside the package."""
    from loadtest.core import page, population

    saved = (page._question, population.RespondentRandom, gc.get_threshold())
    if "no question cache" in changes:
        build = page._build_question
        page._question = lambda entry: build(entry.get("json") if isinstance(entry, dict) else None)
    if "mt" in changes:
        population.RespondentRandom = random.Random  # type: ignore[misc,assignment]
    if "default gc" in changes:
        gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        page._question, population.RespondentRandom = saved[0], saved[1]
        gc.set_threshold(*saved[2])


def measure(requests: int, variant: str) -> tuple[float, int]:
    changes = VARIANTS[variant]
    fd, path = tempfile.mkstemp(prefix="engine-logic-", suffix=".jsonl")
    os.close(fd)
    log = None if "no log" in changes else RespondentLog(Path(path))
    respondents = requests // len(ReplayTransport.replies)
    engine = engine_client.build("http://127.0.0.1:9", client_cost.API_KEY, 600.0, 32, log)
    engine = dataclasses.replace(engine, load=dataclasses.replace(engine.load, respondents=respondents),
                                 transport=ReplayTransport())
    try:
        with patched(changes):
            t0 = time.process_time()
            metrics = anyio.run(engine.run)
            cpu = time.process_time() - t0
    finally:
        if log is not None:
            log.close()
        os.unlink(path)
    assert metrics.outcomes == {"survey_complete": respondents}, metrics.outcomes
    return cpu, metrics.total_requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=40000)
    parser.add_argument("--repeat", type=int, default=5, help="best of this many (default 5)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    os.sched_setaffinity(0, {int(client_cost.CLIENT_CORE)})

    tmp = Path(tempfile.mkdtemp(prefix="bench-logic-"))
    server, url = client_cost.start_server(tmp / "bench.db")
    try:
        ReplayTransport.replies = record(url)
    finally:
        client_cost.stop(server)
    print(f"recorded {len(ReplayTransport.replies)} replies per respondent; "
          f"{args.requests:,} requests per measurement, best of {args.repeat}")
    engine_client.warm_up({"en"})
    settle_for_load()  # as `loadtest run` does once everything is loaded
    for variant in VARIANTS:
        measure(4000, variant)  # warm caches, first-call costs
    runs: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(args.repeat):  # round-robin, so a busy spell on the machine touches every variant
        for variant in VARIANTS:
            cpu, n = measure(args.requests, variant)
            runs[variant].append(1e6 * cpu / n)
    results = {v: min(us) for v, us in runs.items()}
    for variant, us in results.items():
        print(f"{variant:<40} {us:7.1f} µs CPU per request", flush=True)
    base = results["as is"]
    lines = [
        *bench_results.header("bench/engine_logic_cost.py", client_cost.machine()),
        ("EngineRun + Population(completer, think_scale 0) + respondents.jsonl in one process pinned to core "
        f"{client_cost.CLIENT_CORE}, 32 workers, with the transport replaced by a replay of one recorded respondent "
        "(take, 2 x success, survey_complete; no sockets, `send` returns at once): the CPU per request of "
        "everything above the transport. bench/client_cost.py's end-to-end engine figure minus this is "
        "transport + event loop + kernel. Each variant undoes one change from outside the package (or drops "
        "the log) to size it; +N means the variant costs N µs/request more, i.e. the change saves that. "
        f"Best of {args.repeat} runs of {args.requests:,} requests each, the variants taken in turn."),
        "",
        "| variant | µs CPU/request | vs as is |",
        "|---|---:|---:|",
        *(f"| {v} | {us:.1f} | {us - base:+.1f} |" if v != "as is" else f"| {v} | {us:.1f} | |"
          for v, us in results.items()),
    ]
    if not args.no_write:
        bench_results.write_section("engine-logic-cost", "Engine CPU per request above the transport", "\n".join(lines))
        print("wrote bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
