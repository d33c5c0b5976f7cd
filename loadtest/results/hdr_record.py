"""HDR histogram recording in one call.

hdrh's `record_value` walks four Python methods (the counts index, the bucket index, a
leading-zero count through `bin()`) and two `min`/`max` calls for every sample: ~2 µs, and every
request records two or three samples. `record` computes the same counts index inline, from the
histogram's own layout fields, and updates the same fields, so a histogram recorded here encodes,
merges and reads exactly as one recorded by hdrh (tests/unit/test_hdr_record.py compares them).
"""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

__all__ = ["record"]


def record(hist: HdrHistogram, value: int) -> None:
    """hdrh's record_value(value) for a non-negative int; a value beyond the range is dropped, as there."""
    # The bucket is the smallest power of two holding the value (hdrh: 64 - clz(value | mask)).
    bucket = ((value | hist.sub_bucket_mask).bit_length() - hist.unit_magnitude
              - hist.sub_bucket_half_count_magnitude - 1)
    index = (((bucket + 1) << hist.sub_bucket_half_count_magnitude)
             + (value >> (bucket + hist.unit_magnitude)) - hist.sub_bucket_half_count)
    if index >= hist.counts_len:
        return
    hist.counts[index] += 1
    hist.total_count += 1
    if value < hist.min_value:
        hist.min_value = value
    if value > hist.max_value:
        hist.max_value = value
