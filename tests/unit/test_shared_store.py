"""Several platform processes on one SQLite file, without sockets: two Platforms on one shared
store stand for two `loadtest mock --workers` processes (each its own connection, its own memory)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

from loadtest.platform.app import Platform
from loadtest.platform.response_row import StaleRow
from loadtest.platform.storage import Store
from loadtest.survey.file import load_survey
from tests.helpers import API_KEY, FIXTURES

RACE_ID = 300003  # quota_race.toml: two pages, the cell "blue" admits 10 completes


def _platforms(db: Path, n: int = 2) -> list[Platform]:
    survey = load_survey(FIXTURES / "quota_race.toml")
    return [Platform([survey], Store(db, shared=True)) for _ in range(n)]


def _call(p: Platform, step: str, token: str | None = None, form: dict[str, Any] | None = None
          ) -> tuple[str, str | None, dict[str, Any]]:
    headers = {"api-key": API_KEY, "host": "127.0.0.1"}
    if token:
        headers["x-survey-token"] = token
    method = "POST" if step == "submit-page" else "GET"
    body = orjson.dumps(form) if form is not None else b""
    (status, out_headers, payload), _ = p.serve(method, f"/a/api/v2/surveys/{RACE_ID}/{step}", "", headers, body)
    assert status == 200 and isinstance(payload, bytes)
    reply = orjson.loads(payload)["response"]
    return reply["status"], dict(out_headers).get("x-survey-token"), reply


def test_a_save_of_a_copy_another_process_saved_first_changes_nothing(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "p.db", shared=True), Store(tmp_path / "p.db", shared=True)
    p = _platforms(tmp_path / "p.db", 1)[0]
    _, token, _ = _call(p, "take")
    assert token
    rid = next(iter(one.responses())).id
    mine, theirs = one.load(rid), two.load(rid)
    assert mine is not None and theirs is not None
    theirs.page = "why"
    two.save(theirs)
    mine.page = "colour-again"
    with pytest.raises(StaleRow):
        one.save(mine)
    stored = one.load(rid)
    assert stored is not None and stored.page == "why" and stored.version == theirs.version == 1


def test_any_process_serves_the_next_request_of_a_respondent_another_served(tmp_path: Path) -> None:
    a, b = _platforms(tmp_path / "p.db")
    status, token, _ = _call(a, "take")
    status, token, _ = _call(b, "submit-page", token, {"u_1": "12"})  # red: no quota cell
    assert status == "success"
    status, token, _ = _call(a, "previous-page", token)  # a has not seen the move: it reads the row
    assert status == "success"
    status, token, _ = _call(b, "submit-page", token, {"u_1": "11"})
    status, token, _ = _call(a, "submit-page", token, {"t_21": "because"})
    assert status == "survey_complete"
    for p in (a, b):  # both read the outcome and the cell from the file, not from memory
        assert p.store.outcome_counts() == {RACE_ID: {"survey_complete": 1}}
        assert p.store.quota_counts(RACE_ID) == {"blue": 1}
        assert p.api.sessions.open_count() == 0


def test_a_process_trusts_the_session_it_holds_until_another_process_moves_it(tmp_path: Path) -> None:
    a, b = _platforms(tmp_path / "p.db")
    _, token, _ = _call(a, "take")
    _, token, _ = _call(a, "submit-page", token, {"u_1": "12"})
    assert _call(a, "previous-page", token)[0] == "success"
    assert a.api.sessions.rebuilt == 0  # a's own copy, still the newest: no read of the row
    _, token, _ = _call(b, "submit-page", token, {"u_1": "11"})  # b reads it (it held nothing)
    assert b.api.sessions.rebuilt == 1
    status, _, reply = _call(a, "take", token)  # a's copy is on page "colour": b moved it on
    assert status == "success" and a.api.sessions.rebuilt == 1
    assert [q["id"] for q in (orjson.loads(q["json"]) if isinstance(q["json"], str) else q["json"]
                              for q in reply["questions"])] == [2]  # the page b moved it to


def test_a_completion_raced_by_another_process_is_counted_once(tmp_path: Path) -> None:
    """Process a reads the respondent on its last page; before a writes, b completes it with the
    same token (a client that sent its last submit twice). a's write must find the row moved, and
    a's answer must be what the row now says: completed once, one quota count."""
    a, b = _platforms(tmp_path / "p.db")
    _, token, _ = _call(a, "take")
    _, token, _ = _call(a, "submit-page", token, {"u_1": "11"})
    raced: list[str] = []
    real_complete = a.store.complete

    def complete_after_b(row: Any, cells: Any) -> None:
        if not raced:  # b's whole request runs between a's read and a's write
            raced.append(_call(b, "submit-page", token, {"t_21": "first"})[0])
        real_complete(row, cells)

    a.store.complete = complete_after_b  # type: ignore[method-assign]
    status, _, reply = _call(a, "submit-page", token, {"t_21": "second"})
    assert raced == ["survey_complete"]
    assert status == "already_completed" and reply["finalStatus"] == "survey_complete"
    assert a.stale_retries == 1
    assert a.store.quota_counts(RACE_ID) == {"blue": 1}
    assert a.store.outcome_counts() == {RACE_ID: {"survey_complete": 1}}
    (row,) = a.store.responses()
    assert row.answers["why"] == {"t_21": "first"}


def test_configuration_changed_in_one_process_reaches_the_others(tmp_path: Path) -> None:
    a, b = _platforms(tmp_path / "p.db")
    admin = {"host": "127.0.0.1"}
    (status, _, _), _ = a.serve("PUT", "/__admin/faults", "", admin, b'{"seed": 1, "take": {"error": 1.0}}')
    assert status == 200
    (status, _, _), _ = b.serve("GET", f"/a/api/v2/surveys/{RACE_ID}/take", "", {"api-key": API_KEY}, b"")
    assert status == 503  # b applies a's plan before its next request
    a.serve("PUT", "/__admin/faults", "", admin, b"{}")
    (status, _, payload), _ = b.serve("PUT", f"/__admin/surveys/{RACE_ID}/state", "", admin, b'{"state": "closed"}')
    assert status == 200
    assert _call(a, "take")[0] == "survey_closed"
    b.flush_figures()  # what b's event loop does every FLUSH_S while it serves
    (_, _, payload), _ = a.serve("GET", "/__admin/faults", "", admin, b"")
    assert isinstance(payload, bytes) and orjson.loads(payload)["injected"] == {"take error": 1}  # b's, summed
    b.serve("POST", "/__admin/reset", "", admin, b"")
    b.flush_figures(force=True)
    (_, _, payload), _ = a.serve("GET", "/__admin/stats", "", admin, b"")
    assert isinstance(payload, bytes)
    stats = orjson.loads(payload)
    # After the reset only the reset itself is counted (as one process alone counts it; a call is
    # counted once answered): a's earlier requests are gone, though a flushed them before the reset.
    assert stats["requests"] == {"/__admin/reset": {"200": 1}}
    assert stats["surveys"][str(RACE_ID)]["state"] == "active"


def test_the_panel_rate_limit_is_one_bucket_across_processes(tmp_path: Path) -> None:
    a, b = _platforms(tmp_path / "p.db")
    now = [1000.0]
    for p in (a, b):
        p.panel.clock = lambda: now[0]
    import base64

    from loadtest.local_defaults import DEFAULT_PANEL_API_KEY

    headers = {"host": "127.0.0.1", "x-api-key": base64.b64encode(DEFAULT_PANEL_API_KEY.encode()).decode()}
    codes = [p.handle("GET", "/api/external/v1/surveys", "", headers, b"")[0] for _ in range(10) for p in (a, b)]
    # 10 per second with a burst of 10, whichever process answers: the first 10 pass (403: the
    # request is unsigned, which is checked after the limit), the next 10 are refused.
    assert codes[:10] == [403] * 10 and codes[10:] == [429] * 10
    now[0] += 0.1
    assert a.panel.handle("GET", "/api/external/v1/surveys", "", headers, b"")[0] == 403
    assert b.panel.handle("GET", "/api/external/v1/surveys", "", headers, b"")[0] == 429


def test_an_older_database_gets_row_versions(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE responses (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, survey_id INTEGER NOT NULL, "
            "transaction_id TEXT, language TEXT, authenticated INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, "
            "reason TEXT, started_at REAL NOT NULL, updated_at REAL NOT NULL, finished_at REAL, page TEXT NOT NULL, "
            "path TEXT NOT NULL, answers TEXT NOT NULL, page_times TEXT NOT NULL, submitted INTEGER NOT NULL "
            "DEFAULT 0)")
        conn.execute("INSERT INTO responses VALUES (1, 'u1', 300003, NULL, 'en', 0, 'in_progress', NULL, 1, 1, "
                     "NULL, 'colour', '[]', '{}', '{}', 0)")
    store = Store(db)
    row = store.load(1)
    assert row is not None and row.version == 0
    row.page = "why"
    store.save(row)
    reloaded = store.load(1)
    assert reloaded is not None and reloaded.page == "why" and reloaded.version == 1
