"""tests/unit is socket-free: pure logic, fed hand-written replies. A test that needs a socket
(a server on 127.0.0.1, a real HTTP client) belongs in tests/loopback."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest


class SocketUsed(RuntimeError):
    """Not an OSError: code that handles network errors must not swallow it as one."""


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    attempts: list[str] = []

    def refuse(name: str) -> Callable[..., Any]:
        def guard(self: socket.socket, address: Any, *args: Any) -> Any:
            attempts.append(f"socket.{name}({address!r})")
            raise SocketUsed(f"tests/unit is socket-free (socket.{name}({address!r})): "
                             "move this test to tests/loopback")

        return guard

    for name in ("bind", "connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse(name))
    yield
    # Checked again after the test: code under test may have caught the exception and carried on.
    assert not attempts, f"tests/unit is socket-free, but the test tried {attempts}: move it to tests/loopback"
