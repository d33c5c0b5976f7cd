"""Fixtures for whole-run tests: `browser` (headless Chromium, tests/browser.py)."""

from tests.browser import browser  # noqa: F401  (a fixture, found by name)
