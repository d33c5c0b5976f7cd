"""Reading an HDR histogram's recorded buckets from one copy of its counts array.

hdrh's recorded iterator walks every sub-bucket up to the largest value in Python (~20 µs each:
a report's charts spent ~2 s of a run's end on it) and raises if the histogram is recorded into
while it walks. `recorded` yields the same pairs from a slice of the counts array (one C call,
so one consistent moment of the histogram): tests/unit/test_hdr_read.py compares the two.
"""

from __future__ import annotations

from collections.abc import Iterator

from hdrh.histogram import HdrHistogram

__all__ = ["recorded"]


def recorded(hist: HdrHistogram) -> Iterator[tuple[int, int]]:
    """(value, count) of every non-empty bucket in value order, the value being the bucket's
    highest equivalent one: what hdrh's get_recorded_iterator() gives as value_iterated_to and
    count_at_value_iterated_to."""
    counts = hist.counts[:hist.counts_len]
    for index, n in enumerate(counts):
        if n:
            yield hist.get_highest_equivalent_value(hist.get_value_from_index(index)), n
