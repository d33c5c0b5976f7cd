"""Which loop `loadtest run` drives its respondents on: uvloop where installed, or as asked."""

from __future__ import annotations

import importlib.util

import pytest

from loadtest.engine.event_loop import ENV, EventLoopError, chosen


def test_uvloop_where_installed_and_asyncio_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert importlib.util.find_spec("uvloop") is not None  # a dependency on this platform
    assert chosen() == ("uvloop", {"use_uvloop": True})
    monkeypatch.setenv(ENV, " AsyncIO ")
    assert chosen() == ("asyncio", {})


def test_asyncio_where_uvloop_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a))
    monkeypatch.delenv(ENV, raising=False)
    assert chosen() == ("asyncio", {})
    monkeypatch.setenv(ENV, "uvloop")
    with pytest.raises(EventLoopError, match="not installed"):
        chosen()


def test_an_unknown_loop_is_named_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "trio")
    with pytest.raises(EventLoopError, match=r"LOADTEST_EVENT_LOOP='trio': expected one of uvloop, asyncio"):
        chosen()
