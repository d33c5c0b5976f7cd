"""Garbage-collector settings for a load run, applied once everything the run needs is loaded.

Why: a run keeps thousands of respondents alive at once, and with Python's default thresholds
(700, 10, 10) the collector walks them again and again. bench/scale.py at 400 req/s, timed with
gc.callbacks: at 10,000 respondents in flight, young collections took 3-4 ms each (20 every 5 s)
and full ones up to 0.5 s, 14% of the engine's CPU over the run, against under 2% at 100 in
flight; CPU per request grew +29% from 100 to 10,000 in flight with the defaults and +10% with
these settings (one size after the other, so only roughly comparable).
- freeze: what is loaded now (scenario, personas, Faker, Locust) lives for the whole process, so
  it goes to the permanent generation, out of every collection's sight;
- a young collection after 50,000 net new container objects instead of 700: reference counting
  frees nearly everything a request allocates, so the count grows only with what stays alive
  (respondents in flight) or with cyclic garbage, which is still collected, just in bigger
  batches (a few MB at most);
- the older generations' ratios (20, 10) keep full collections happening, under CPython's own
  rule that a full one waits until a quarter of the old objects are new.
"""

from __future__ import annotations

import gc

__all__ = ["THRESHOLDS", "settle_for_load"]

THRESHOLDS = (50_000, 20, 10)


def settle_for_load() -> None:
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
