"""The plotly.js report.html inlines: the partial "basic" bundle (scatter, bar, pie: every trace
the report draws), shipped in loadtest/report/vendor/, a quarter of the full bundle's size.

Figures are built with plotly.py; only its JavaScript is swapped. A chart that needs another trace
type would draw nothing, so `check_traces` refuses one before any report is written."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from typing import Any

__all__ = ["BASIC_TRACES", "bundle_version", "check_traces", "plotly_basic_js"]

BASIC_TRACES = frozenset({"scatter", "bar", "pie"})
_FILE = "plotly-basic.min.js"


@lru_cache(maxsize=1)
def plotly_basic_js() -> str:
    return files("loadtest.report").joinpath("vendor", _FILE).read_text("utf-8")


def bundle_version() -> str:
    found = re.search(r"plotly\.js \(basic - minified\) v(\S+)", plotly_basic_js()[:400])
    return found.group(1) if found else ""


def check_traces(fig: Any) -> None:
    types = {trace.type for trace in fig.data}
    if not types <= BASIC_TRACES:
        missing = sorted(types - BASIC_TRACES)
        raise ValueError(f"report.html inlines plotly.js's basic bundle, which cannot draw {missing}")
