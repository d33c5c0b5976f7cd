"""Locust users for bench/client_cost.py: the respondent loop written by hand, the plain Locust way.

    locust -f bench/locust_flow.py --headless -u 32 -r 32 -t 13s --host URL --only-summary FastFlow
    locust -f bench/locust_flow.py --headless -u 32 -r 32 -t 13s --host URL --only-summary HttpFlow

Each task is one respondent of the bench survey (bench/surveys/bench.toml): take, then submit
each page with the token of the previous reply echoed, until survey_complete. Answers are built
from formParam in the simplest correct way: each question's first answer, for the kinds the bench
survey has (single choice: paramPrefix "u_" with paramIdType "questionId"). No think time.
FastFlow uses FastHttpUser (geventhttpclient), HttpFlow uses HttpUser (requests).

At exit one line `RESULT {...}` gives Locust's own request count and failures, for the
cross-check against the platform's counters.
"""

from __future__ import annotations

import json
import os
import sys

from locust import HttpUser, constant, events, task
from locust.contrib.fasthttp import FastHttpUser

SURVEY_ID = int(os.environ.get("BENCH_SURVEY_ID", "900001"))
API_KEY = os.environ.get("BENCH_API_KEY", "loadtest-local-key")
BASE = f"/a/api/v2/surveys/{SURVEY_ID}"
MAX_PAGES = 50  # a respondent never submits more than this (bounded loop)

unexpected = {"count": 0, "first": ""}


class UnexpectedReply(Exception):
    pass


def answers(questions: list[dict]) -> dict[str, str]:
    """First answer of every question on the page, keyed from its formParam."""
    form = {}
    for q in questions:
        spec = q["json"]
        if isinstance(spec, str):  # the API may send questions[].json as a JSON string
            spec = json.loads(spec)
        fp = spec["formParam"]
        if fp["paramPrefix"] != "u_" or fp["paramIdType"] != "questionId":
            raise UnexpectedReply(f"question {spec['id']}: not single choice ({fp})")
        form[f"u_{spec['id']}"] = str(spec["answers"][0]["id"])
    return form


class RespondentLoop:
    client: object

    def respondent(self) -> None:
        headers = {"api-key": API_KEY, "accept": "application/json"}
        reply = self.client.get(f"{BASE}/take", headers=headers, name="take")
        for _ in range(MAX_PAGES):
            if reply.status_code != 200:
                raise UnexpectedReply(f"HTTP {reply.status_code}")
            page = reply.json()["response"]
            if page["status"] == "survey_complete":
                return
            if page["status"] != "success":
                raise UnexpectedReply(f"status {page['status']}")
            form = answers(page["questions"])
            token = reply.headers["x-survey-token"]
            reply = self.client.post(f"{BASE}/submit-page", json=form, name="submit-page",
                                     headers={**headers, "x-survey-token": token})
        raise UnexpectedReply(f"no survey_complete after {MAX_PAGES} pages")

    def run_respondent(self) -> None:
        try:
            self.respondent()
        except UnexpectedReply as exc:
            unexpected["count"] += 1
            unexpected["first"] = unexpected["first"] or str(exc)


class FastFlow(RespondentLoop, FastHttpUser):
    wait_time = constant(0)

    @task
    def walk(self) -> None:
        self.run_respondent()


class HttpFlow(RespondentLoop, HttpUser):
    wait_time = constant(0)

    @task
    def walk(self) -> None:
        self.run_respondent()


_env = {}


@events.init.add_listener
def _keep(environment, **_kw) -> None:
    _env["environment"] = environment


@events.quit.add_listener  # fired after the users have been stopped (`quitting` comes before)
def _report(**_kw) -> None:
    total = _env["environment"].stats.total
    sys.stdout.write("RESULT " + json.dumps({
        "requests": total.num_requests, "failed": total.num_failures,
        "unexpected": unexpected["count"], "first_unexpected": unexpected["first"],
    }) + "\n")
    sys.stdout.flush()
