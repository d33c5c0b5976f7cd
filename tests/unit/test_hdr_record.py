"""results/hdr_record.record is hdrh's record_value computed inline: same counts, same figures."""

from __future__ import annotations

from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.results.hdr_record import record
from loadtest.results.interview import DIGITS as MS_DIGITS
from loadtest.results.interview import HIGHEST_MS, LOWEST_MS
from loadtest.results.metrics import HIGHEST_US, new_histogram

LAYOUTS = [(1, 3_600_000_000, 3), (LOWEST_MS, HIGHEST_MS, MS_DIGITS), (1, 1000, 2)]


def _pair(layout: tuple[int, int, int]) -> tuple[HdrHistogram, HdrHistogram]:
    return HdrHistogram(*layout), HdrHistogram(*layout)


@settings(max_examples=100, deadline=None)
@given(layout=st.sampled_from(LAYOUTS), values=st.lists(st.integers(0, 2**34), max_size=60))
def test_same_counts_and_fields_as_hdrh(layout: tuple[int, int, int], values: list[int]) -> None:
    ours, theirs = _pair(layout)
    for value in values:
        record(ours, value)
        theirs.record_value(value)
    assert list(ours.counts) == list(theirs.counts)
    assert (ours.total_count, ours.min_value, ours.max_value) == (theirs.total_count, theirs.min_value,
                                                                  theirs.max_value)


def test_values_beyond_the_range_are_dropped_as_hdrh_drops_them() -> None:
    ours = new_histogram()
    record(ours, HIGHEST_US * 4)
    assert ours.get_total_count() == 0
    record(ours, 1500)
    assert ours.get_total_count() == 1 and ours.get_value_at_percentile(50) == 1500


def test_encodes_and_merges_like_a_histogram_hdrh_recorded() -> None:
    ours, theirs = _pair(LAYOUTS[0])
    for value in (1, 999, 1000, 1001, 123_456, 2_000_000_000):
        record(ours, value)
        theirs.record_value(value)
    decoded = HdrHistogram.decode(ours.encode())
    assert decoded.get_total_count() == 6
    assert [decoded.get_value_at_percentile(p) for p in (10, 50, 99, 100)] == \
        [theirs.get_value_at_percentile(p) for p in (10, 50, 99, 100)]
    merged = new_histogram()
    merged.add(ours)
    assert merged.get_max_value() == theirs.get_max_value()
