"""The reference platform's live sessions are bounded in time as well as in number: one idle for
longer than `idle_s` (an abandoner's, which never finishes) leaves memory when the next opens,
and comes back from its database row, whole, if its respondent returns after all."""

from __future__ import annotations

from pathlib import Path

from loadtest.platform.questionpro.sessions import Sessions
from loadtest.platform.questionpro.tokens import TokenPayload
from loadtest.platform.storage import Store


def test_an_idle_session_leaves_memory_and_is_rebuilt_from_its_row(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    try:
        sessions = Sessions(store, idle_s=600)
        idle = sessions.open(1, "screener", now=0.0, transaction_id="T-idle", language="en")
        busy = sessions.open(1, "screener", now=100.0, transaction_id="T-busy", language="en")
        sessions.issued(busy, "token-busy")
        assert len(sessions) == 2
        sessions.open(1, "screener", now=650.0, transaction_id="T-new", language="en")
        assert len(sessions) == 2 and sessions.by_token("token-busy") is busy  # only the idle one left
        back = sessions.find(TokenPayload(uuid=idle.uuid, rs=0, ins="screener", sec=()))
        assert back is not None and back is not idle and back.transaction_id == "T-idle"
        assert sessions.rebuilt == 1 and len(sessions) == 3
    finally:
        store.close()


def test_the_number_bound_drops_the_least_recently_used(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    try:
        sessions = Sessions(store, capacity=2)
        first = sessions.open(1, "screener", now=0.0, transaction_id="T-1", language="en")
        second = sessions.open(1, "screener", now=1.0, transaction_id="T-2", language="en")
        sessions.issued(first, "token-1")
        sessions.issued(second, "token-2")
        assert sessions.by_token("token-1") is first  # used again: now the most recent
        sessions.open(1, "screener", now=2.0, transaction_id="T-3", language="en")
        assert sessions.by_token("token-1") is first and sessions.by_token("token-2") is None
    finally:
        store.close()
