"""Respondent sessions: held in memory for speed, rebuilt from the database when they are not.

A session is the respondent's `ResponseRow`. The token names it by `uuid` and, once the first
page is submitted, by `rs` (the row id). A platform that restarted, or evicted the session to
bound its memory, finds it again in SQLite: that is seed 000's "any node can serve the next
request". Finished sessions leave memory; their rows stay for re-entry checks and read-back.

Each live session also remembers the token it was last given. A client echoes exactly that
string on its next request, so `by_token` finds the session without verifying the token's
HMAC or decoding it: we made that token, and any other string (tampered, older, from another
process) is not in the map and takes the full `TokenCodec.decode` path.

On a shared store (`loadtest mock --workers N`) another process may have moved a respondent
since this one last served it: a session held here is used only while the store says it is the
newest version of its row (`Store.newest`, a read of shared memory), and read again otherwise;
a token this process issued then proves nothing, and takes the full decode path.

Memory stays bounded in time as well as in number: the live sessions are kept in the order they
were last used, and a session idle for `idle_s` (an abandoner's, which never finishes) leaves
memory as the next one opens. Without that a steady run grew by every abandoner until the
capacity (100,000) was reached, which at 20 arrivals a second is about a day (bench/soak.py).
"""

from __future__ import annotations

import itertools
import os
from collections import OrderedDict

from loadtest.platform.questionpro.tokens import TokenPayload
from loadtest.platform.response_row import ResponseRow
from loadtest.platform.storage import Store

__all__ = ["IN_PROGRESS", "Sessions"]

IN_PROGRESS = "in_progress"
IDLE_S = 600.0  # far above any think time; an idle session is rebuilt from its row if it comes back

# Session ids are 32 hex digits, unique per database: a random 64-bit prefix per process and a
# counter. That spares the OS call of a uuid4 per session, and consecutive ids sort together,
# so the uuid index takes each insert on the page it just wrote rather than on a random one.
# (Guessing an id gains nothing: a session is reached only through an HMAC-signed token.)
_UUID_PREFIX = os.urandom(8).hex()
_uuid_counter = itertools.count()


def _new_uuid() -> str:
    return f"{_UUID_PREFIX}{next(_uuid_counter):016x}"


class Sessions:
    def __init__(self, store: Store, capacity: int = 100_000, idle_s: float = IDLE_S) -> None:
        self._store = store
        self._capacity = capacity
        self._idle_s = idle_s
        self._live: OrderedDict[str, ResponseRow] = OrderedDict()
        self._by_token: dict[str, ResponseRow] = {}  # the token last issued to each live session
        self._token_of: dict[str, str] = {}  # uuid -> that token, to drop it when a new one is issued
        self.rebuilt = 0  # sessions found in the database rather than in memory

    def __len__(self) -> int:
        return len(self._live)

    def open_count(self) -> int:
        """Sessions open: in this process's memory, or (shared store) in progress in the file."""
        return self._store.in_progress() if self._store.shared else len(self._live)

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
            id=0, uuid=uuid or _new_uuid(), survey_id=survey_id, transaction_id=transaction_id,
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
            if self._store.newest(row):
                self._live.move_to_end(payload.uuid)
                return row
            self._drop(payload.uuid)  # another process moved it: read it again
        row = self._store.load(payload.rs) if payload.rs else self._store.load_uuid(payload.uuid)
        if row is None or row.uuid != payload.uuid:
            return None
        self.rebuilt += 1
        if row.status == IN_PROGRESS:
            self._remember(row)
        return row

    def by_token(self, token: str) -> ResponseRow | None:
        """The live session this exact token was last issued to, if any."""
        row = self._by_token.get(token)
        if row is None:
            return None
        if not self._store.newest(row):
            self._drop(row.uuid)  # another process moved it since: the token must be verified
            return None
        self._live.move_to_end(row.uuid)  # the most recently used go last: the idle are first
        return row

    def issued(self, row: ResponseRow, token: str) -> None:
        """Remember `token` as the one `row` was last given (live sessions only)."""
        if self._live.get(row.uuid) is not row:
            return
        old = self._token_of.get(row.uuid)
        if old is not None:
            del self._by_token[old]
        self._token_of[row.uuid] = token
        self._by_token[token] = row

    def save(self, row: ResponseRow) -> None:
        self._store.save(row)
        if row.status != IN_PROGRESS:
            self.forget(row)

    def forget(self, row: ResponseRow) -> None:
        self._drop(row.uuid)

    def forget_uuid(self, uuid: str) -> None:
        self._drop(uuid)

    def clear(self) -> None:
        self._live.clear()
        self._by_token.clear()
        self._token_of.clear()

    def _remember(self, row: ResponseRow) -> None:
        self._live[row.uuid] = row
        self._live.move_to_end(row.uuid)
        if len(self._live) > self._capacity:
            # Least recently used first: an evicted respondent is rebuilt from its row on its next request.
            self._drop(next(iter(self._live)))
        idle_before = row.updated_at - self._idle_s
        while self._live:
            oldest = next(iter(self._live.values()))
            if oldest.updated_at >= idle_before:
                break
            self._drop(oldest.uuid)

    def _drop(self, uuid: str) -> None:
        self._live.pop(uuid, None)
        token = self._token_of.pop(uuid, None)
        if token is not None:
            del self._by_token[token]
