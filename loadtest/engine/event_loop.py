"""Which event loop `loadtest run` drives its respondents on: uvloop where it is installed.

uvloop's loop, sockets and timers are compiled. Measured side by side in one window
(bench/client_cost.py, engine against engine on uvloop), it cost 6-11% less client CPU per request.
asyncio's own loop stays the fallback where uvloop is not installed (it is a dependency only where
it builds: CPython off Windows). LOADTEST_EVENT_LOOP=asyncio chooses asyncio's loop anyway, to
compare the two or to rule the loop out while chasing a bug. summary.json's `event_loop` says
which loop a run used.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

__all__ = ["ENV", "EventLoopError", "chosen"]

ENV = "LOADTEST_EVENT_LOOP"
_CHOICES = ("uvloop", "asyncio")


class EventLoopError(ValueError):
    pass


def chosen() -> tuple[str, dict[str, Any]]:
    """The loop's name and the options anyio.run takes for it."""
    asked = os.environ.get(ENV, "").strip().lower()
    if asked and asked not in _CHOICES:
        raise EventLoopError(f"{ENV}={asked!r}: expected one of {', '.join(_CHOICES)}")
    installed = importlib.util.find_spec("uvloop") is not None
    if asked == "uvloop" and not installed:
        raise EventLoopError(f"{ENV}=uvloop, but uvloop is not installed here")
    if asked == "asyncio" or not installed:
        return "asyncio", {}
    return "uvloop", {"use_uvloop": True}
