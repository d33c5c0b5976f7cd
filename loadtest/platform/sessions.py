"""Respondent sessions: held in memory for speed, rebuilt from the database when they are not.

A session is the respondent's `ResponseRow`. The token names it by `uuid` and, once the first
page is submitted, by `rs` (the row id). A platform that restarted, or evicted the session to
bound its memory, finds it again in SQLite: that is seed 000's "any node can serve the next
request". Finished sessions leave memory; their rows stay for re-entry checks and read-back.
"""

from __future__ import annotations

import uuid as uuidlib
from collections import OrderedDict

from loadtest.platform.storage import ResponseRow, Store
from loadtest.platform.tokens import TokenPayload

__all__ = ["Sessions", "IN_PROGRESS"]

IN_PROGRESS = "in_progress"


class Sessions:
    def __init__(self, store: Store, capacity: int = 100_000) -> None:
        self._store = store
        self._capacity = capacity
        self._live: OrderedDict[str, ResponseRow] = OrderedDict()
        self.rebuilt = 0  # sessions found in the database rather than in memory

    def __len__(self) -> int:
        return len(self._live)

    def open(
        self,
        survey_id: int,
        first_page: str,
        now: float,
        transaction_id: str | None,
        language: str | None,
        uuid: str | None = None,
    ) -> ResponseRow:
        row = ResponseRow(
            id=0, uuid=uuid or uuidlib.uuid4().hex, survey_id=survey_id, transaction_id=transaction_id,
            language=language, authenticated=False, status=IN_PROGRESS, reason=None, started_at=now,
            updated_at=now, finished_at=None, page=first_page, path=[], answers={}, page_times={},
            submitted=False,
        )
        self._store.create(row)
        self._remember(row)
        return row

    def find(self, payload: TokenPayload) -> ResponseRow | None:
        row = self._live.get(payload.uuid)
        if row is not None:
            return row
        row = self._store.load(payload.rs) if payload.rs else self._store.load_uuid(payload.uuid)
        if row is None or row.uuid != payload.uuid:
            return None
        self.rebuilt += 1
        if row.status == IN_PROGRESS:
            self._remember(row)
        return row

    def save(self, row: ResponseRow) -> None:
        self._store.save(row)
        if row.status != IN_PROGRESS:
            self._live.pop(row.uuid, None)

    def forget(self, row: ResponseRow) -> None:
        self._live.pop(row.uuid, None)

    def clear(self) -> None:
        self._live.clear()

    def _remember(self, row: ResponseRow) -> None:
        self._live[row.uuid] = row
        if len(self._live) > self._capacity:
            # Oldest first: an evicted respondent is rebuilt from its row on its next request.
            self._live.popitem(last=False)
