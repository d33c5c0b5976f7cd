"""The Locust user: one respondent after another, walked by the same core and personas as the
engine. Requests go through Locust's FastHttpSession, named by step; an unexpected outcome or a
failed check marks that request failed, named after the check; so does every reply >= 400, as
in every figure we print. Expected outcomes (a screenout's `terminated`, a quota chaser's
`quota_full`) are successes. Every sample also goes into our HDR histograms; a `survey` limit,
when the scenario has one, holds every respondent-flow request. While the target answers 429,
every user of this process pauses until its Retry-After has passed."""

from __future__ import annotations

import functools
import ssl
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

import gevent
from geventhttpclient.header import Headers
from locust import FastHttpUser, task
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopUser

from loadtest.core.errors import Blame, CertificateError, TransportError
from loadtest.core.flow import (
    FAULT_HEADER,
    CheckFailed,
    FlowTarget,
    Reply,
    Request,
    RespondentFailed,
    RespondentFlow,
    Throttled,
)
from loadtest.core.stages import Arrival
from loadtest.locust_driver.state import ProcessConfig, TestRun

__all__ = ["RespondentUser"]

LOCUST_CONTROL = (StopUser, InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately)
IDLE_S = 1.0  # open-model stages: how long a user with no arrival to claim waits before asking again


# The only reply headers the flow reads (core/flow.py). geventhttpclient's Headers is a dict of
# lower-case name -> (name, value) (or a list of them); reading those entries directly skips its
# get(), which raises and catches a KeyError for every absent name, and its __len__, which sums.
_READ = ("x-survey-token", FAULT_HEADER, "retry-after", "date")
_dict_get = dict.get


def _headers_read(received: Any) -> dict[str, str]:
    if not isinstance(received, Headers):  # not geventhttpclient's: the plain, slower way
        return {k.lower(): v for k, v in (received or {}).items() if k.lower() in _READ}
    out = {}
    for name in _READ:
        field = _dict_get(received, name)
        if field is not None:
            out[name] = field[1] if isinstance(field, tuple) else field[-1][1]
    return out


@functools.cache
def _host_name(url: str) -> str:
    """The target's host name (Locust's host is a URL), to tell same-host redirects by."""
    return urlsplit(url).hostname or ""


def _transport_error(error: object) -> TransportError:
    if isinstance(error, ssl.SSLCertVerificationError):
        return CertificateError(f"TLS: {error.verify_message or error} (see tls_ca_file, tls_verify)")
    return TransportError(str(error))


class RespondentUser(FastHttpUser):
    config: ClassVar[ProcessConfig | None] = None  # set by the locustfile at init
    current: ClassVar[TestRun | None] = None  # set by the locustfile when a test starts (not `run`: User.run)
    paused_until: ClassVar[float] = 0.0  # time.monotonic() before which no user sends (the target's 429s)
    headers: ClassVar[tuple[tuple[str, str], ...]] = ()  # the scenario's extra headers (set at init)
    _arrival: Arrival | None = None  # open-model stages: the arrival this user claimed and waits for

    def wait_time(self) -> float:
        """None between respondents (think time comes from the personas, per question), except in
        the open model's stages: until the arrival this user claims (shape_plan.py). A user
        waits here, not in its task, so that a stop ends the wait at once."""
        st = self.current
        if st is None or st.arrivals is None:
            return 0.0
        now = time.monotonic() - st.t0
        self._arrival = st.arrivals.claim(now, self.environment.runner.user_count if self.environment.runner else 0)
        return IDLE_S if self._arrival is None else max(0.0, self._arrival.at_s - now)

    @task
    def respondent(self) -> None:
        cfg, st = self.config, self.current
        assert cfg is not None and st is not None, "the locustfile sets RespondentUser.config and .current"
        arrival, self._arrival = self._arrival, None
        if st.arrivals is not None and arrival is None:
            return  # no arrival claimed: the first task, or the schedule is over
        entry, persona = st.population.respondent(arrival.index if arrival is not None else cfg.next_index())
        target = st.targets.get(entry.survey_id)
        if target is None:  # one per survey and test, as the engine does: not one per respondent
            target = st.targets[entry.survey_id] = FlowTarget(
                entry.survey_id, cfg.api_key, _host_name(cfg.host), st.follow, st.scenario.api_key_env,
                RespondentUser.headers)
        flow = RespondentFlow(persona, target, entry.name, st.scenario.policy)
        limiter = st.limiters.get("survey")
        request_of = self.client.request
        st.started_one(entry.name)
        began = time.monotonic()
        think = 0.0
        request: Request | None = flow.start()
        try:
            while request is not None:
                if request.think_s > 0:
                    think += request.think_s
                    gevent.sleep(request.think_s)
                pause = RespondentUser.paused_until - time.monotonic()
                if pause > 0:
                    gevent.sleep(pause)
                if limiter is not None:
                    limiter.acquire_blocking()
                step = request.step
                sent = time.perf_counter()
                # A fresh dict each time: Locust before 2.4x writes Accept-Encoding into the one it is given.
                with request_of(request.method, request.url, name=step, headers=dict(request.headers),
                                # geventhttpclient sends bytes as they are; Locust's hint says str
                                data=request.body or None,  # type: ignore[arg-type]
                                catch_response=True) as resp:
                    elapsed = time.perf_counter() - sent
                    at = time.monotonic() - st.t0
                    status = resp.status_code  # a property that calls into geventhttpclient: read once
                    if not status:  # no reply at all
                        st.metrics.request(step, elapsed, elapsed, 0, at)
                        resp.failure(f"transport: {resp.error}")
                        _, request = flow.lost(_transport_error(resp.error))  # a safe recovery, or the end
                        continue
                    headers = _headers_read(resp.headers)
                    injected = FAULT_HEADER in headers
                    # st.metrics, not a local: a worker swaps in a new Metrics at each report
                    st.metrics.request(step, elapsed, elapsed, status, at, injected)
                    events, request = flow.receive(Reply(status, headers, resp.content or b"", elapsed))
                    problem = None
                    for e in events:  # the first failure names the request; every Throttled pauses the process
                        if isinstance(e, Throttled):
                            RespondentUser.paused_until = max(RespondentUser.paused_until,
                                                              time.monotonic() + e.wait_s)
                        elif problem is None:
                            if isinstance(e, CheckFailed):
                                problem = f"check {e.name}: {e.detail}"
                            elif isinstance(e, RespondentFailed):
                                problem = f"{e.blame} {e.error}: {e.message}"
                    if injected:  # Locust's own tables show it failed, named as injected
                        problem = f"injected fault: {headers[FAULT_HEADER]}"
                    elif status >= 400 and not problem:
                        problem = f"HTTP {status}"
                    if problem:
                        resp.failure(problem)
                    else:
                        resp.success()
        except Exception as exc:
            if not isinstance(exc, LOCUST_CONTROL):  # a bug of ours, never a respondent quietly "incomplete"
                flow.fail(exc, Blame.SCRIPT)
            raise
        finally:  # also when Locust stops this user mid-respondent: it is counted, never lost
            flow.cut_off()  # a no-op unless Locust stopped it mid-walk
            start_s = round(began - st.t0, 4)
            timings = {"start_s": start_s}  # respondents.jsonl keeps this order
            if arrival is not None:
                timings["late_s"] = round(max(0.0, began - st.t0 - arrival.at_s), 4)
            # To the end rounded as the start is: never past this user's next respondent's start.
            timings["duration_s"] = round(round(time.monotonic() - st.t0, 4) - start_s, 4)
            timings["think_s"] = round(think, 4)
            st.finished(flow.result, timings)
