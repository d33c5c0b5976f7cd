"""Each quirk of the independent server happens, over real HTTP on 127.0.0.1 (httpx, raw sockets)."""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.local_http import local_async_client, local_client

from .server import running_server
from .testing import (
    BASE,
    KEY,
    MULTI_ANSWERS,
    MULTI_Q,
    NORTH,
    PAGE2,
    PAGE3,
    QUOTA_Q,
    RATING_Q,
    ROOT,
    SCREEN_IN,
    SCREEN_OUT,
    SCREENER_Q,
    SOUTH,
    TEXT_A,
    TEXT_Q,
    FakeClock,
    Walker,
    assert_envelope,
    page1,
    qids,
    quiet,
    raw_take,
    read_reply,
    sections,
    selected,
    serve,
    status,
)


# --- page shape -------------------------------------------------------------------------------------
def test_pages_follow_the_seed_and_complete_redirects_outside() -> None:
    with serve(quiet()) as (srv, client):
        w = Walker(client, "tid-shape")
        r = w.take()
        assert r.status_code == 200 and r.headers["x-survey-token"]
        body = r.json()
        assert set(body) == {"response", "requestID"}
        nav, meta = body["response"]["navigation"], body["response"]["meta"]
        assert nav == {"previousPageUrl": None, "nextPageSubmitUrl": "submit-page"}
        assert meta == {"isFinalPage": False, "progressPercentage": 0}
        first = sections(r)
        assert [(s["type"], s["formParam"]["paramPrefix"], s["formParam"]["paramIdType"]) for s in first] == [
            ("U", "u_", "questionId"), ("U", "u_", "questionId")]
        assert all(s["id"] > 9_000_000_000 and "layout" in s and s["x-vendor"] == 1 for s in first)
        second = w.submit(page1())
        assert second.json()["response"]["navigation"]["previousPageUrl"] == "previous-page"
        assert [(s["type"], s["formParam"]["paramPrefix"], s["formParam"]["paramIdType"])
                for s in sections(second)] == [("M", "m_", "questionId"), ("T", "t_", "answerId")]
        third = w.submit(PAGE2)
        assert third.json()["response"]["meta"]["isFinalPage"] is True and qids(third) == [RATING_Q]
        done = w.submit(PAGE3)
        assert status(done) == "survey_complete"
        url = urlsplit(done.json()["response"]["redirectUrl"])
        outside_port = urlsplit(srv.outside_url).port
        assert (url.hostname, url.port, url.path) == ("127.0.0.2", outside_port, "/complete")
        assert parse_qs(url.query)["tid"] == ["tid-shape"]
        stats = srv.stats
        assert stats.completes == 1 and stats.completes_by_cell == {"north": 1} and stats.internal_errors == 0
        assert srv.outside_hits == 0


def test_outside_listener_counts_what_it_gets() -> None:
    """So that `outside_hits == 0` elsewhere means something."""
    with running_server(quiet()) as srv:
        assert httpx.get(f"{srv.outside_url}/screened?tid=x").status_code == 200
        assert srv.outside_hits == 1 and srv.stats.outside_paths == ("/screened?tid=x",)


# --- tokens -----------------------------------------------------------------------------------------
def test_token_rotates_on_every_reply_and_a_stale_token_is_refused() -> None:
    with serve(quiet()) as (_, client):
        w = Walker(client)
        t1 = w.take().headers["x-survey-token"]
        r = w.take()
        t2 = r.headers["x-survey-token"]
        assert r.status_code == 200 and t2 != t1
        r = w.take(token=t1)  # t1 is the one just before the current: accepted once more
        assert r.status_code == 200 and r.headers["x-survey-token"] not in (t1, t2)
        stale = w.take(token=t1)  # now two steps old
        assert_envelope(stale, 400, "BAD_REQUEST")
        assert "x-survey-token" not in stale.headers
        assert_envelope(w.take(token="not-a-token"), 400, "BAD_REQUEST")
        assert_envelope(w.submit(page1(), token="not-a-token"), 400, "BAD_REQUEST")
        assert w.take(token=t2).status_code == 200  # t2 became the previous one: still fine


def test_previous_token_resumes_at_the_current_page() -> None:
    with serve(quiet()) as (_, client):
        w = Walker(client)
        w.take()
        before = w.token
        lost = w.submit(page1())  # the client never sees this reply or its token
        assert qids(lost) == [MULTI_Q, TEXT_Q]
        resumed = w.take(token=before)
        assert status(resumed) == "success" and qids(resumed) == [MULTI_Q, TEXT_Q]
        assert qids(w.submit(PAGE2)) == [RATING_Q]


# --- rate limit -------------------------------------------------------------------------------------
def test_rate_limit_answers_429_in_both_retry_after_forms_and_processes_nothing() -> None:
    clock = FakeClock()
    with serve(quiet(rate_limit_per_second=3, clock=clock)) as (srv, client):
        w = Walker(client)
        w.take()
        previous = w.take().headers["x-survey-token"]
        assert qids(w.take()) == [SCREENER_Q, QUOTA_Q]  # three admitted at t=1000: the window is full
        refused = [w.submit(page1()), w.back(), w.submit(page1())]
        for r in refused:
            assert_envelope(r, 429, "TOO_MANY_REQUESTS")
            assert "x-survey-token" not in r.headers
        forms = [r.headers["retry-after"] for r in refused]
        assert forms[0] == "1" and forms[2] == "1"
        assert email.utils.parsedate_to_datetime(forms[1]).tzinfo is not None  # the HTTP-date form
        clock.now += 0.999
        assert w.take().status_code == 429  # still inside the same second
        clock.now += 0.001
        # The 429s rotated nothing: the token before the current one is still accepted (grace),
        # and the refused submit changed nothing: the session is still on page 1.
        r = w.take(token=previous)
        assert r.status_code == 200 and qids(r) == [SCREENER_Q, QUOTA_Q]
        stats = srv.stats
        assert stats.sent_429 == 4 and stats.requests == 8
        assert stats.requests_by_path[f"{BASE}/submit-page"] == 2


def test_rate_limit_window_slides() -> None:
    clock = FakeClock()
    with serve(quiet(rate_limit_per_second=2, clock=clock)) as (_, client):
        w = Walker(client)
        assert w.take().status_code == 200
        clock.now += 0.5
        assert w.take().status_code == 200
        assert w.take().status_code == 429
        clock.now += 0.5  # the first request left the window, the second has not
        assert w.take().status_code == 200
        assert w.take().status_code == 429


# --- 503 bursts -------------------------------------------------------------------------------------
def test_503_burst_is_not_processed_and_carries_no_token() -> None:
    with serve(quiet(burst_every=4, burst_length=2)) as (srv, client):
        w = Walker(client)
        t1 = w.take().headers["x-survey-token"]  # request 1
        assert w.take().status_code == 200  # 2
        a, b = w.submit(page1()), w.submit(page1())  # 3 and 4: the burst
        for r in (a, b):
            assert_envelope(r, 503, "SERVICE_UNAVAILABLE")
            assert "x-survey-token" not in r.headers
        assert a.headers["retry-after"] == "1" and "retry-after" not in b.headers
        r = w.take(token=t1)  # 5: t1 is still the previous token, the session still on page 1
        assert r.status_code == 200 and qids(r) == [SCREENER_Q, QUOTA_Q]
        assert qids(w.submit(page1())) == [MULTI_Q, TEXT_Q]  # 6
        assert w.take().status_code == 503 and w.take().status_code == 503  # 7 and 8
        assert w.take().status_code == 200
        assert srv.stats.sent_503 == 4


# --- wire: chunked and Connection: close ------------------------------------------------------------
def test_chunked_replies() -> None:
    with serve(quiet(chunked_every=2)) as (srv, client):
        plain, chunked = client.get(f"{BASE}/take"), client.get(f"{BASE}/take")
        assert "transfer-encoding" not in plain.headers and "content-length" in plain.headers
        assert chunked.headers["transfer-encoding"] == "chunked" and "content-length" not in chunked.headers
        assert status(chunked) == "success" and chunked.headers["x-survey-token"]
        host, port = urlsplit(srv.url).hostname, urlsplit(srv.url).port
        with socket.create_connection((host or "", port or 0), timeout=10) as sock:
            raw_take(sock)
            _, body = read_reply(sock)
            raw_take(sock)
            headers, body = read_reply(sock)
        assert headers["transfer-encoding"] == "chunked"
        sizes, rest, payload = [], body, b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            sizes.append(size)
            if size == 0:
                break
            payload, rest = payload + rest[:size], rest[size + 2:]
        assert len(sizes) > 2 and json.loads(payload)["response"]["status"] == "success"


def test_connection_close_after_every_nth_reply() -> None:
    with serve(quiet(close_every=2)) as (srv, client):
        host, port = urlsplit(srv.url).hostname, urlsplit(srv.url).port
        with socket.create_connection((host or "", port or 0), timeout=10) as sock:
            raw_take(sock)
            first, _ = read_reply(sock)
            raw_take(sock)
            second, body = read_reply(sock)
            assert "connection" not in first and second["connection"] == "close"
            assert json.loads(body)["response"]["status"] == "success"
            assert sock.recv(1) == b""  # the server closed the socket after the reply
        replies = [client.get(f"{BASE}/take") for _ in range(5)]  # httpx reconnects after each close
        assert [r.headers.get("connection") for r in replies] == [None, "close", None, "close", None]


def test_client_connection_close_is_honoured() -> None:
    with running_server(quiet()) as srv:
        with socket.create_connection(("127.0.0.1", urlsplit(srv.url).port or 0), timeout=10) as sock:
            sock.sendall(f"GET {BASE}/take HTTP/1.1\r\nhost: x\r\napi-key: {KEY}\r\nconnection: close\r\n\r\n"
                         .encode())
            headers, _ = read_reply(sock)
            assert headers["connection"] == "close" and sock.recv(1) == b""


# --- survey rules -----------------------------------------------------------------------------------
def test_screener_terminates_with_a_redirect_outside_the_target() -> None:
    with serve(quiet()) as (srv, client):
        w = Walker(client, "tid-screened")
        w.take()
        r = w.submit(page1(screener=SCREEN_OUT))
        assert status(r) == "terminated" and r.headers["x-survey-token"]
        url = urlsplit(r.json()["response"]["redirectUrl"])
        outside_port = urlsplit(srv.outside_url).port
        assert (url.hostname, url.port, url.path) == ("127.0.0.2", outside_port, "/screened")
        assert parse_qs(url.query)["tid"] == ["tid-screened"]
        assert status(w.take()) == "terminated"  # an ended session answers its outcome again
        assert status(w.submit(PAGE2)) == "terminated"
        assert srv.stats.terminates == 1 and srv.stats.completes == 0
        assert srv.outside_hits == 0


async def _to_last_page(client: httpx.AsyncClient, region: int) -> tuple[str, str]:
    """Take and answer pages 1 and 2; the token for the last page and the status reached."""
    r = await client.get(f"{BASE}/take")
    for form in (page1(region=region), PAGE2):
        token = r.headers["x-survey-token"]
        r = await client.post(f"{BASE}/submit-page", json=form, headers={"x-survey-token": token})
    return r.headers["x-survey-token"], str(r.json()["response"]["status"])


async def _finish(client: httpx.AsyncClient, token: str) -> str:
    r = await client.post(f"{BASE}/submit-page", json=PAGE3, headers={"x-survey-token": token})
    return str(r.json()["response"]["status"])


async def _race_at_completion(url: str, n: int) -> Counter[str]:
    async with local_async_client(base_url=url, headers={"api-key": KEY}) as client:
        reached = await asyncio.gather(*(_to_last_page(client, NORTH) for _ in range(n)))
        assert {s for _, s in reached} == {"success"}  # nobody was turned away before the cell filled
        return Counter(await asyncio.gather(*(_finish(client, token) for token, _ in reached)))


async def _free_running(url: str, n: int) -> Counter[str]:
    async def one(client: httpx.AsyncClient) -> str:
        token, reached = await _to_last_page(client, NORTH)
        return reached if reached != "success" else await _finish(client, token)

    async with local_async_client(base_url=url, headers={"api-key": KEY}) as client:
        return Counter(await asyncio.gather(*(one(client) for _ in range(n))))


def test_quota_cell_is_never_exceeded_by_20_concurrent_completers() -> None:
    with running_server(quiet(quota_limit=5)) as srv:
        outcomes = asyncio.run(_race_at_completion(srv.url, 20))  # all 20 submit the last page at once
        assert outcomes == Counter({"survey_complete": 5, "quota_full": 15})
        assert srv.stats.completes_by_cell == {"north": 5} and srv.stats.quota_full == 15
        with local_client(base_url=srv.url, headers={"api-key": KEY}) as client:
            late = Walker(client)
            late.take()
            assert status(late.submit(page1(region=NORTH))) == "quota_full"  # turned away at page 1 now
            other = Walker(client)
            other.take()
            other.submit(page1(region=SOUTH))
            other.submit(PAGE2)
            assert status(other.submit(PAGE3)) == "survey_complete"  # the other cell has no limit
        assert srv.stats.completes_by_cell == {"north": 5, "south": 1} and srv.stats.quota_full == 16
    with running_server(quiet(quota_limit=5)) as srv:
        outcomes = asyncio.run(_free_running(srv.url, 20))
        assert outcomes["survey_complete"] == 5 and outcomes["quota_full"] == 15
        assert srv.stats.completes_by_cell == {"north": 5} and srv.stats.internal_errors == 0


def test_required_questions_and_min_length_answer_validation_errors() -> None:
    with serve(quiet()) as (srv, client):
        w = Walker(client)
        w.take()
        r = w.submit({})
        assert status(r) == "validation_errors" and qids(r) == [SCREENER_Q, QUOTA_Q]
        errors = r.json()["response"]["validationErrors"]
        assert {e["questionId"] for e in errors} == {SCREENER_Q, QUOTA_Q}
        assert all(e["message"] for e in errors)
        r = w.submit({f"u_{SCREENER_Q}": SCREEN_IN, f"u_{QUOTA_Q}": "123"})  # not a string; not an answer id
        assert {e["questionId"] for e in r.json()["response"]["validationErrors"]} == {SCREENER_Q, QUOTA_Q}
        assert qids(w.submit(page1())) == [MULTI_Q, TEXT_Q]
        r = w.submit({f"m_{MULTI_Q}": [str(MULTI_ANSWERS[1])], f"t_{TEXT_A}": "abc"})  # text under 5 chars
        assert [e["questionId"] for e in r.json()["response"]["validationErrors"]] == [TEXT_Q]
        r = w.submit({f"t_{TEXT_A}": "long enough"})  # the multiple choice is required
        assert [e["questionId"] for e in r.json()["response"]["validationErrors"]] == [MULTI_Q]
        assert qids(w.submit({f"m_{MULTI_Q}": [str(MULTI_ANSWERS[1])]})) == [RATING_Q]  # the text is optional
        assert srv.stats.validation_errors == 4


def test_previous_page_marks_earlier_answers_selected_and_400s_with_nothing_submitted() -> None:
    with serve(quiet()) as (_, client):
        w = Walker(client)
        w.take()
        r = w.back()
        assert r.status_code == 400 and r.headers["x-survey-token"]  # a session reply: token refreshed
        body = r.json()
        assert body["error"] == {"code": 1002, "message": "No previous page to navigate back to."}
        assert body["requestID"]
        w.submit(page1(region=SOUTH))
        r = w.back()
        assert status(r) == "success" and qids(r) == [SCREENER_Q, QUOTA_Q]
        assert selected(r) == {SCREEN_IN, SOUTH}
        assert r.json()["response"]["navigation"]["previousPageUrl"] is None
        w.submit(page1(region=NORTH))  # answered again, differently
        w.submit(PAGE2)
        r = w.back()
        assert qids(r) == [MULTI_Q, TEXT_Q] and selected(r) == {MULTI_ANSWERS[0], MULTI_ANSWERS[2]}
        text = next(s for s in sections(r) if s["id"] == TEXT_Q)
        assert all("value" not in a and "selected" not in a for a in text["answers"])  # text is not echoed
        r = w.back()
        assert selected(r) == {SCREEN_IN, NORTH}
        assert w.back().status_code == 400  # on the first page: nothing before it


def test_api_key_is_required() -> None:
    with running_server(quiet()) as srv:
        missing = httpx.get(f"{srv.url}{BASE}/take")
        assert_envelope(missing, 401, "UNAUTHORIZED")
        wrong = httpx.get(f"{srv.url}{BASE}/take", headers={"api-key": "nope"})
        assert_envelope(wrong, 401, "UNAUTHORIZED")
        assert wrong.json()["response"]["error"]["message"] == "Incorrect API Key"
        assert "x-survey-token" not in missing.headers and "x-survey-token" not in wrong.headers


def test_unknown_survey_and_unknown_path_are_404() -> None:
    with serve(quiet()) as (_, client):
        assert_envelope(client.get("/a/api/v2/surveys/123/take"), 404, "NOT_FOUND")
        assert_envelope(client.get("/a/api/v2/surveys/987654321/nothing"), 404, "NOT_FOUND")
        assert_envelope(client.get("/a/api/v2/surveys/abc/take"), 400, "BAD_REQUEST")
        assert_envelope(client.post(f"{BASE}/take"), 405, "METHOD_NOT_ALLOWED")


def _complete(w: Walker) -> httpx.Response:
    w.take()
    w.submit(page1(region=SOUTH))
    w.submit(PAGE2)
    return w.submit(PAGE3)


def test_a_completed_transaction_answers_already_completed() -> None:
    with serve(quiet()) as (srv, client):
        first = Walker(client, "panel-42")
        assert status(_complete(first)) == "survey_complete"
        assert status(first.take()) == "survey_complete"  # resuming an ended session: its outcome again
        again = Walker(client, "panel-42")
        r = again.take()
        assert status(r) == "already_completed" and r.headers["x-survey-token"]
        assert status(Walker(client, "panel-43").take()) == "success"
        # Two sessions of one transaction racing: only the first to finish completes.
        a, b = Walker(client, "panel-44"), Walker(client, "panel-44")
        for w in (a, b):
            w.take()
            w.submit(page1(region=SOUTH))
            w.submit(PAGE2)
        assert status(a.submit(PAGE3)) == "survey_complete" and status(b.submit(PAGE3)) == "already_completed"
        stats = srv.stats
        assert stats.transactions_completed == {"panel-42", "panel-44"}
        assert stats.completes == 2 and stats.already_completed == 2 and srv.outside_hits == 0


def test_runs_standalone_and_stops_on_sigterm() -> None:
    command = [sys.executable, "-m", "tests.independent_server", "--port", "0", "--close-every", "0"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()  # printed once it listens
            assert url.startswith("http://127.0.0.1:")
            with local_client(headers={"api-key": KEY}) as client:
                assert status(client.get(f"{url}{BASE}/take")) == "success"
                proc.send_signal(signal.SIGTERM)  # with the client's connection still open
                _, stderr = proc.communicate(timeout=20)
            assert proc.returncode == 0 and stderr == "", stderr
        finally:
            if proc.poll() is None:
                proc.kill()
