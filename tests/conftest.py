"""Markers by folder (pyproject.toml declares them), so `pytest -m "not slow"` is the fast subset.

- tests/e2e: whole runs in subprocesses -> slow;
- tests/loopback and tests/independent_server: real HTTP on 127.0.0.1 -> loopback;
- a test elsewhere that takes seconds carries an explicit @pytest.mark.slow;
- any test that drives the browser (the `browser` fixture) -> browser and slow.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Where the environment says PYTHONDONTWRITEBYTECODE (this machine's does), every Python process
# the suite starts (hundreds: `loadtest mock`, runs, Locust) would compile the package from source
# again, ~0.3 s each. The suite keeps bytecode caches (gitignored) for itself and its children.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

TESTS = Path(__file__).resolve().parent
LOOPBACK_FOLDERS = {"loopback", "independent_server"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:  # collected from outside tests/
            continue
        if folder == "e2e":
            item.add_marker(pytest.mark.slow)
        elif folder in LOOPBACK_FOLDERS:
            item.add_marker(pytest.mark.loopback)
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
