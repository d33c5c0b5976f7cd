"""Pure pieces of distributed Locust runs: limit shares, merged histograms and totals."""

from __future__ import annotations

import msgpack
import pytest

from loadtest.locust_driver.cluster import callbacks_by_persona, combine_callbacks, combine_limits, shares
from loadtest.results.metrics import Metrics


def test_a_limit_is_split_evenly_over_the_workers_and_sums_back_to_its_rate() -> None:
    for n in (1, 2, 3, 7):
        got = shares({"panel": 10.0, "survey": 45.0}, n)
        assert sum([got["panel"]] * n) == pytest.approx(10.0) and sum([got["survey"]] * n) == pytest.approx(45.0)
    assert shares({"panel": 10.0}, 0) == {}


def test_workers_limiter_reports_combine_into_one_cluster_rate() -> None:
    # Three workers at 10/3 each, 301 permits over exactly 30 s: 10 per second across the cluster.
    parts = [{"panel": {"target": 10.0, "share": 10 / 3, "granted": g, "first_at": 1000.0 + i * 0.1,
                        "last_at": 1030.0 - (2 - i) * 0.1}} for i, g in enumerate((101, 100, 100))]
    got = combine_limits({"panel": 10.0}, parts)["panel"]
    assert got["granted"] == 301 and got["processes"] == 3 and got["achieved"] == pytest.approx(10.0)
    assert combine_limits({"panel": 10.0}, [])["panel"] == {"target": 10.0, "granted": 0, "achieved": None,
                                                           "processes": 0, "shares": []}


def test_callback_totals_and_per_persona_states_add_up_across_workers() -> None:
    a = {"sent": 3, "accepted": 3, "http_statuses": {"204": 3}, "by_persona": {"completer": {"accepted": 3}}}
    b = {"sent": 2, "accepted": 1, "rejected": 1, "undelivered": 4, "http_statuses": {"204": 1, "403": 1},
         "by_persona": {"completer": {"accepted": 1}, "screenout": {"rejected": 1}}}
    got = combine_callbacks([a, b], {"100001": "p-1"}, "postback")
    assert (got["sent"], got["accepted"], got["rejected"], got["undelivered"]) == (5, 4, 1, 4)
    assert got["http_statuses"] == {"204": 4, "403": 1} and got["panel_surveys"] == {"100001": "p-1"}
    assert callbacks_by_persona([a, b]) == {"completer": {"accepted": 4}, "screenout": {"rejected": 1}}


def test_metrics_shipped_through_msgpack_merge_to_the_same_percentiles_as_one_process() -> None:
    one, parts = Metrics(), [Metrics(), Metrics(), Metrics()]
    for i in range(3000):
        ms = 1 + (i * 37) % 500  # a spread of latencies, split over three "workers"
        for m in (one, parts[i % 3]):
            m.request("take", ms / 1000, ms / 1000, 200 if i % 50 else 503, at_s=i / 100)
    merged = Metrics()
    for m in parts:
        merged.absorb(msgpack.unpackb(msgpack.packb(m.export(timeline_base=1000)), raw=False), timeline_base=1000)
    assert merged.requests_summary() == one.requests_summary()
    assert {s: dict(v) for s, v in merged.timeline.items()} == {s: dict(v) for s, v in one.timeline.items()}


def test_a_worker_limiter_waits_for_its_share_then_paces_at_it() -> None:
    import time

    import gevent

    from loadtest.locust_driver.gevent_io import GeventLimiter

    lim = GeventLimiter("panel", target=10.0)
    granted: list[float] = []

    def take() -> None:
        for _ in range(3):
            lim.acquire_blocking()
            granted.append(time.monotonic())

    taker = gevent.spawn(take)
    gevent.idle()  # the taker runs until it blocks
    assert lim.granted == 0 and not taker.dead  # no share from the master yet: nothing goes out
    shared_at = time.monotonic()
    lim.set_share(100.0)
    taker.join(timeout=5)
    assert taker.dead and lim.granted == 3
    # Never early: the k-th permit at least k intervals after the share came (a late one, on a
    # busy machine, is allowed: the bucket keeps the schedule, so the next is not late too).
    assert all(at >= shared_at + (k + 1) * 0.01 for k, at in enumerate(granted)), (shared_at, granted)


def test_waiting_senders_book_one_permit_at_a_time_so_a_new_share_applies_at_once() -> None:
    import time

    import gevent

    from loadtest.locust_driver.gevent_io import GeventLimiter

    lim = GeventLimiter("panel", target=10.0)
    lim.set_share(1.0)  # one permit a second: nobody gets far while we look
    senders = [gevent.spawn(lim.acquire_blocking) for _ in range(8)]
    gevent.idle()
    bucket = lim._bucket
    assert bucket is not None and bucket._tat is not None
    # Eight senders waiting, yet only one permit is booked ahead (not eight seconds' worth) ...
    assert bucket._tat - time.monotonic() <= 2.5  # one booking: ~2 s; eight would be ~9 s
    lim.set_share(1000.0)  # ... so the master's new share is what the next permits follow
    gevent.joinall(senders, timeout=5)
    assert all(g.dead for g in senders) and lim.granted == 8
