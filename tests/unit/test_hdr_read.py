"""results/hdr_read.recorded gives exactly what hdrh's recorded iterator gives."""

from __future__ import annotations

from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.results.hdr_read import recorded
from loadtest.results.metrics import DIGITS, HIGHEST_US, LOWEST_US


@settings(max_examples=10, deadline=None)  # hdrh's own iterator, the reference, is the slow part
@given(st.lists(st.integers(min_value=0, max_value=60_000_000), max_size=300))  # up to a minute, in µs
def test_the_same_buckets_and_counts_as_hdrhs_iterator(values: list[int]) -> None:
    hist = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
    for v in values:
        hist.record_value(v)
    theirs = [(i.value_iterated_to, i.count_at_value_iterated_to) for i in hist.get_recorded_iterator()]
    assert list(recorded(hist)) == theirs


def test_an_encoded_histogram_decodes_to_the_same_buckets() -> None:
    hist = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
    for v in (3, 3, 900, 12_345, 59_000_000):
        hist.record_value(v)
    back = HdrHistogram.decode(hist.encode())
    assert list(recorded(back)) == [(i.value_iterated_to, i.count_at_value_iterated_to)
                                    for i in back.get_recorded_iterator()]
