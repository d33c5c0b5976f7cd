"""Bench client: the respondent loop hand-written on aiohttp, for bench/client_cost.py.

    .venv/bin/python bench/aiohttp_client.py URL --seconds 13 [--concurrency 32]

`--concurrency` workers share one ClientSession (keep-alive pool of that many connections); each
walks respondents of the bench survey one after another until --seconds have passed (or SIGINT): take, then
submit each page (first answer of each single-choice question, keyed from formParam) with the
latest token echoed, until survey_complete. Prints one `RESULT {...}` line at exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

import aiohttp

SURVEY_ID = 900001
BASE = f"/a/api/v2/surveys/{SURVEY_ID}"
MAX_PAGES = 50


def answers(questions: list[dict]) -> dict[str, str]:
    form = {}
    for q in questions:
        spec = q["json"]
        if isinstance(spec, str):
            spec = json.loads(spec)
        fp = spec["formParam"]
        if fp["paramPrefix"] != "u_" or fp["paramIdType"] != "questionId":
            raise ValueError(f"question {spec['id']}: not single choice ({fp})")
        form[f"u_{spec['id']}"] = str(spec["answers"][0]["id"])
    return form


async def respondent(session: aiohttp.ClientSession, url: str, headers: dict[str, str], counts: dict) -> None:
    resp = await session.get(f"{url}{BASE}/take", headers=headers)
    for _ in range(MAX_PAGES):
        async with resp:
            counts["requests"] += 1
            if resp.status != 200:
                raise ValueError(f"HTTP {resp.status}")
            page = (await resp.json())["response"]
            token = resp.headers.get("x-survey-token")
        if page["status"] == "survey_complete":
            return
        if page["status"] != "success" or not token:
            raise ValueError(f"status {page['status']}")
        resp = await session.post(f"{url}{BASE}/submit-page", json=answers(page["questions"]),
                                  headers={**headers, "x-survey-token": token})
    raise ValueError(f"no survey_complete after {MAX_PAGES} pages")


async def run(url: str, seconds: float, concurrency: int, api_key: str) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    stop = asyncio.Event()  # SIGINT/SIGTERM: start no more respondents
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    counts = {"requests": 0, "respondents": 0, "unexpected": 0, "first_unexpected": ""}
    headers = {"api-key": api_key, "accept": "application/json"}
    timeout = aiohttp.ClientTimeout(total=10)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout) as session:
        async def worker() -> None:
            while loop.time() < deadline and not stop.is_set():
                try:
                    await respondent(session, url, headers, counts)
                    counts["respondents"] += 1
                except (TimeoutError, ValueError, KeyError, aiohttp.ClientError) as exc:
                    counts["unexpected"] += 1
                    counts["first_unexpected"] = counts["first_unexpected"] or repr(exc)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--api-key", default="loadtest-local-key")
    args = parser.parse_args()
    counts = asyncio.run(run(args.url.rstrip("/"), args.seconds, args.concurrency, args.api_key))
    sys.stdout.write("RESULT " + json.dumps({"client": "aiohttp", **counts}) + "\n")
    return 0 if counts["unexpected"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
