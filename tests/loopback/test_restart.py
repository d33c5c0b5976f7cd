"""Seed 000: a node that does not hold the session rebuilds it from the database using `rs`.
Proved the hard way: kill -9 the platform between two pages, restart it on the same port and
database, and finish the survey with the token the respondent already holds."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import CS_ID, CS_PAGES, Walker, no_speeder, running_mock
from tests.local_http import local_client


def test_kill_9_between_pages_then_restart_and_finish(tmp_path: Path) -> None:
    survey, db = no_speeder(tmp_path), tmp_path / "platform.db"
    with running_mock(survey, db=db) as first:
        port = first.port
        with local_client(base_url=first.url, timeout=10) as c:
            before_submit = Walker(c, CS_ID)
            before_submit.take(transaction_id="R-0")  # rs is still 0: found again by uuid
            w = Walker(c, CS_ID)
            w.take(transaction_id="R-1")
            w.submit(CS_PAGES["screener"])
            assert w.submit(CS_PAGES["experience"]).status == "success"
        first.proc.kill()  # SIGKILL: no shutdown, no flush beyond what each reply already committed
        first.proc.wait()

    with running_mock(survey, db=db, port=port) as second:
        assert second.url == first.url
        with local_client(base_url=second.url, timeout=10) as c:
            w.client = c
            for pid in ["support", "feedback"]:
                assert w.submit(CS_PAGES[pid]).status == "success"
            done = w.submit(CS_PAGES["followup"])
            assert done.status == "survey_complete"
            assert done.response["redirectUrl"].endswith("transaction_id=R-1")
            before_submit.client = c
            resumed = before_submit.take()
            assert resumed.status == "success" and resumed.questions()[0]["id"] == 10001
            stats = c.get("/__admin/stats").json()
            assert stats["sessions_rebuilt"] == 2
            assert stats["surveys"][str(CS_ID)]["responses"] == {"survey_complete": 1, "in_progress": 1}
