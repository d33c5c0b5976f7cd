"""SQLite storage for the reference platform (WAL mode): responses, quota counts, survey states.

Everything a restart must not lose is written here before the reply leaves: a respondent's row
is created on its first `take` and updated on every move, so a platform killed between two
pages rebuilds the session from this row (found by `rs`, or by `uuid` before the first submit).
Quota cells are counted with a conditional UPDATE inside one transaction, so a full cell
changes nothing. A panel transaction finishes at most once per survey: a partial UNIQUE index
over the finished rows refuses a second one (`AlreadyFinished`) whichever way it comes (two
sessions opened with one transaction id, a session and `POST /responses`, a data-API write),
because a check made when a session opens cannot see a rival that finishes later.

One platform process owns the file (see `_setup`), unless the store is `shared`: then several
processes (`loadtest mock --workers N`) use it at once. Each row carries a `version`, and a save
of a copy older than the stored row changes nothing and raises `StaleRow` (another process moved
that respondent first), so no move is lost or applied twice; each row committed is stamped with
its version in memory the processes share (row_stamps.py), so a process can tell whether a row
it holds is still the newest (`newest`); outcome counts are then read from the file, and survey
states are read again when another process says it changed one (sharing.py).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from loadtest.platform.response_row import AlreadyFinished, QuotaFull, ResponseRow, StaleRow
from loadtest.platform.row_stamps import RowStamps

__all__ = ["Store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    survey_id INTEGER NOT NULL,
    transaction_id TEXT,
    language TEXT,
    authenticated INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    reason TEXT,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL,
    page TEXT NOT NULL,
    path TEXT NOT NULL,
    answers TEXT NOT NULL,
    page_times TEXT NOT NULL,
    submitted INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0
);
-- Outcome counts are kept in memory (Store._outcomes). An index on status made SQLite write
-- one to three more pages per statement: every UPDATE names the status column, and SQLite
-- updates an index whenever the SET list names one of its columns, even to the same value.
DROP INDEX IF EXISTS responses_status;
CREATE INDEX IF NOT EXISTS responses_txn ON responses (survey_id, transaction_id);
CREATE UNIQUE INDEX IF NOT EXISTS responses_txn_finished ON responses (survey_id, transaction_id)
    WHERE transaction_id IS NOT NULL AND status != 'in_progress';
CREATE TABLE IF NOT EXISTS quota_counts (
    survey_id INTEGER NOT NULL,
    quota_id TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (survey_id, quota_id)
);
CREATE TABLE IF NOT EXISTS survey_states (survey_id INTEGER PRIMARY KEY, state TEXT NOT NULL);
"""

_COLUMNS = (
    "id, uuid, survey_id, transaction_id, language, authenticated, status, reason, started_at, "
    "updated_at, finished_at, page, path, answers, page_times, submitted, version"
)
_INSERT = f"INSERT INTO responses ({_COLUMNS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
# A save applies only to the version it was loaded at (see StaleRow).
_SAVE = (
    "UPDATE responses SET language = ?, authenticated = ?, status = ?, reason = ?, updated_at = ?, "
    "finished_at = ?, page = ?, path = ?, answers = ?, page_times = ?, submitted = ?, version = version + 1 "
    "WHERE id = ? AND version = ?"
)


def _from_db(row: tuple[Any, ...]) -> ResponseRow:
    """A row read in _COLUMNS order."""
    return ResponseRow(
        id=row[0], uuid=row[1], survey_id=row[2], transaction_id=row[3], language=row[4],
        authenticated=bool(row[5]), status=row[6], reason=row[7], started_at=row[8],
        updated_at=row[9], finished_at=row[10], page=row[11], path=orjson.loads(row[12]),
        answers=orjson.loads(row[13]), page_times=orjson.loads(row[14]), submitted=bool(row[15]),
        version=row[16], stored_status=row[6],
    )


@contextlib.contextmanager
def _finishing_once(row: ResponseRow) -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if "transaction_id" not in str(exc):
            raise
        raise AlreadyFinished(row.survey_id, row.transaction_id) from None


class Store:
    """One SQLite connection, used from the platform's single event-loop thread. With `shared`,
    other processes may use the same file at the same time."""

    def __init__(self, path: str | Path | None = None, shared: bool = False) -> None:
        if path is None:
            fd, name = tempfile.mkstemp(prefix="loadtest-mock-", suffix=".db")
            os.close(fd)
            path = name
        self.path = str(path)
        self.shared = shared
        self._stamps = RowStamps(self.path) if shared else None
        self._unstamped: list[ResponseRow] = []  # written in the open transaction: stamped at COMMIT
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._setup()
        except sqlite3.IntegrityError:  # an older platform's file, with a transaction finished twice
            self._db.close()
            raise sqlite3.OperationalError(
                f"{self.path}: a transaction has more than one finished response in this database; "
                "start from a fresh --db"
            ) from None
        except sqlite3.OperationalError as exc:
            self._db.close()
            if "locked" in str(exc):
                raise sqlite3.OperationalError(
                    f"{self.path}: database is locked (another platform process is using it)"
                ) from None
            raise
        # Survey state overrides are read on every request and outcome counts on every stats
        # call; a process that owns the file keeps both in memory, counted once here and then
        # kept up to date as each write commits (a shared store reads them from the file).
        self._states: dict[int, str] = dict(self._db.execute("SELECT survey_id, state FROM survey_states"))
        self._outcomes: Counter[tuple[int, str]] = self._count_outcomes()

    def _count_outcomes(self) -> Counter[tuple[int, str]]:
        return Counter({
            (survey_id, status): n for survey_id, status, n in self._db.execute(
                "SELECT survey_id, status, COUNT(*) FROM responses GROUP BY survey_id, status"
            )
        })

    def _setup(self) -> None:
        db = self._db
        # A platform that is still shutting down gets 5 s; so does a write waiting on another
        # process's (a shared store's writers take turns: each transaction is a few statements).
        db.execute("PRAGMA busy_timeout=5000")
        if not self.shared:
            # One process owns the database. EXCLUSIVE locking takes the file lock once and keeps
            # it (no fcntl lock/unlock per statement) and, set before WAL mode is entered, keeps the
            # WAL index in heap memory instead of a mmapped -shm file. A second process on the same
            # file gets "database is locked" while this one lives; kill -9 releases the lock, so a
            # restarted platform opens the file normally.
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
        db.execute("PRAGMA journal_mode=WAL")
        # We promise durability across a *process* crash (kill -9), not power loss. Each commit
        # is written into the WAL with pwrite before the reply leaves, so it is in the OS page
        # cache, which outlives the process; an fsync per commit or checkpoint would only guard
        # against an OS crash, and it stalls the event loop. A torn transaction stays impossible:
        # WAL recovery ignores frames that no commit frame follows.
        db.execute("PRAGMA synchronous=OFF")
        # wal_autocheckpoint stays at SQLite's 1000 pages: without fsync a checkpoint is only
        # page-cache copies, and 100 to 16000 pages measured no faster (bench/RESULTS.md).
        db.executescript(_SCHEMA)  # writes, so the exclusive lock is ours from here on
        columns = {r[1] for r in db.execute("PRAGMA table_info(responses)")}
        if "version" not in columns:  # a file made before rows were versioned
            db.execute("ALTER TABLE responses ADD COLUMN version INTEGER NOT NULL DEFAULT 0")

    @property
    def connection(self) -> sqlite3.Connection:
        """The one connection, for other tables of the same platform (the panel's)."""
        return self._db

    def close(self) -> None:
        self._db.close()
        if self._stamps is not None:
            self._stamps.close()

    def newest(self, row: ResponseRow) -> bool:
        """Whether `row` (a copy this process holds) is the newest committed version. Always, in a
        store one process owns; in a shared one, unless another process saved it since."""
        return self._stamps is None or self._stamps.newest(row.id, row.version)

    def _stamp(self, row: ResponseRow) -> None:
        if self._stamps is None:
            return
        if self._db.in_transaction:
            self._unstamped.append(row)
        else:
            self._stamps.stamp(row.id, row.version)

    def _commit(self) -> None:
        self._db.execute("COMMIT")
        if self._stamps is not None:
            for row in self._unstamped:
                self._stamps.stamp(row.id, row.version)
        self._unstamped.clear()

    def _rollback(self) -> None:
        self._db.execute("ROLLBACK")
        self._unstamped.clear()

    # --- meta ---------------------------------------------------------------------------
    def secret(self, name: str) -> bytes:
        """A random key made once per database, so tokens stay valid across restarts."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
        if row is not None:
            return bytes(row[0])
        value = os.urandom(32)
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (name, value))
        return bytes(self._db.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()[0])

    # --- responses ----------------------------------------------------------------------
    def create(self, row: ResponseRow) -> int:
        """Insert a new row (AlreadyFinished if it is finished and its transaction already is)."""
        self._insert(row)
        self._counted(row)
        return row.id

    def _insert(self, row: ResponseRow) -> None:
        with _finishing_once(row):
            cur = self._db.execute(
                _INSERT,
                (
                    row.uuid, row.survey_id, row.transaction_id, row.language, int(row.authenticated),
                    row.status, row.reason, row.started_at, row.updated_at, row.finished_at, row.page,
                    orjson.dumps(row.path), orjson.dumps(row.answers), orjson.dumps(row.page_times),
                    int(row.submitted),
                ),
            )
        assert cur.lastrowid is not None
        row.id = cur.lastrowid
        row.version = 0
        self._stamp(row)

    def save(self, row: ResponseRow) -> None:
        self._write(row)
        self._counted(row)

    def _write(self, row: ResponseRow) -> None:
        with _finishing_once(row):
            cur = self._db.execute(
                _SAVE,
                (
                    row.language, int(row.authenticated), row.status, row.reason, row.updated_at,
                    row.finished_at, row.page, orjson.dumps(row.path), orjson.dumps(row.answers),
                    orjson.dumps(row.page_times), int(row.submitted), row.id, row.version,
                ),
            )
        if cur.rowcount != 1:
            raise StaleRow(row)
        row.version += 1
        self._stamp(row)

    def load(self, rs: int) -> ResponseRow | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM responses WHERE id = ?", (rs,)).fetchone()
        return _from_db(row) if row else None

    def load_uuid(self, uuid: str) -> ResponseRow | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM responses WHERE uuid = ?", (uuid,)).fetchone()
        return _from_db(row) if row else None

    def finished_by_transaction(self, survey_id: int, transaction_id: str) -> str | None:
        """The final status of an earlier response with this panel transaction, if any."""
        row = self._db.execute(
            "SELECT status FROM responses WHERE survey_id = ? AND transaction_id = ? AND status != 'in_progress' "
            "ORDER BY id LIMIT 1",
            (survey_id, transaction_id),
        ).fetchone()
        return row[0] if row else None

    def responses(self, survey_id: int | None = None) -> Iterable[ResponseRow]:
        if survey_id is None:
            cur = self._db.execute(f"SELECT {_COLUMNS} FROM responses ORDER BY id")
        else:
            cur = self._db.execute(f"SELECT {_COLUMNS} FROM responses WHERE survey_id = ? ORDER BY id", (survey_id,))
        for row in cur:
            yield _from_db(row)

    def responses_after(self, survey_id: int, after_id: int, limit: int, offset: int = 0) -> list[ResponseRow]:
        """Up to `limit` rows of a survey with ids above `after_id` (skipping `offset`), in id order."""
        cur = self._db.execute(
            f"SELECT {_COLUMNS} FROM responses WHERE survey_id = ? AND id > ? ORDER BY id LIMIT ? OFFSET ?",
            (survey_id, after_id, limit, offset),
        )
        return [_from_db(row) for row in cur.fetchall()]

    def count(self, survey_id: int) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses WHERE survey_id = ?", (survey_id,)).fetchone()[0])

    def in_progress(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses WHERE status = 'in_progress'").fetchone()[0])

    def delete(self, row: ResponseRow) -> None:
        self._db.execute("DELETE FROM responses WHERE id = ?", (row.id,))
        if self._stamps is not None:  # before the commit: a copy elsewhere is read again, and not found
            self._stamps.forget(row.id)
        if row.stored_status is not None:
            self._outcomes[(row.survey_id, row.stored_status)] -= 1
            row.stored_status = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Writes inside commit together or not at all (the outcome counts are recounted on rollback)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._rollback()
            self._outcomes = self._count_outcomes()
            raise
        self._commit()

    def _counted(self, row: ResponseRow) -> None:
        """Move a row whose write has committed to its new status in the outcome counts."""
        if row.stored_status == row.status:
            return
        if row.stored_status is not None:
            self._outcomes[(row.survey_id, row.stored_status)] -= 1
        self._outcomes[(row.survey_id, row.status)] += 1
        row.stored_status = row.status

    def outcome_counts(self) -> dict[int, dict[str, int]]:
        """Responses per survey and status (statuses in order, none with a zero count)."""
        out: dict[int, dict[str, int]] = {}
        counts = self._count_outcomes() if self.shared else self._outcomes
        for (survey_id, status), n in sorted(counts.items()):
            if n > 0:
                out.setdefault(survey_id, {})[status] = n
        return out

    def complete(self, row: ResponseRow, cells: list[tuple[str, int]]) -> None:
        """Count the respondent in each of its quota cells and save it as complete, atomically.

        `cells` is (quota_id, limit). Raises QuotaFull, leaving no count changed, if any cell is full,
        and AlreadyFinished, changing nothing, if its transaction has finished already. A row not
        stored yet (id 0) is inserted, so a response made in one call is never seen half made.
        """
        new = not row.id
        write = self._insert if new else self._write
        if not cells:
            write(row)  # one statement: atomic on its own
            self._counted(row)
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for quota_id, limit in cells:
                db.execute(
                    "INSERT OR IGNORE INTO quota_counts (survey_id, quota_id, count) VALUES (?, ?, 0)",
                    (row.survey_id, quota_id),
                )
                cur = db.execute(
                    "UPDATE quota_counts SET count = count + 1 WHERE survey_id = ? AND quota_id = ? AND count < ?",
                    (row.survey_id, quota_id, limit),
                )
                if cur.rowcount != 1:
                    raise QuotaFull(quota_id)
            write(row)
        except BaseException:
            self._rollback()
            if new:
                row.id = 0  # the insert was rolled back with the rest
            raise
        self._commit()
        self._counted(row)

    # --- quotas and survey states -------------------------------------------------------
    def quota_counts(self, survey_id: int) -> dict[str, int]:
        return dict(
            self._db.execute("SELECT quota_id, count FROM quota_counts WHERE survey_id = ?", (survey_id,)).fetchall()
        )

    def survey_state(self, survey_id: int) -> str | None:
        return self._states.get(survey_id)

    def reload_states(self) -> None:
        """Read the survey states again (a shared store's, after another process set one)."""
        self._states = dict(self._db.execute("SELECT survey_id, state FROM survey_states"))

    def set_survey_state(self, survey_id: int, state: str) -> None:
        self._db.execute(
            "INSERT INTO survey_states (survey_id, state) VALUES (?, ?) "
            "ON CONFLICT (survey_id) DO UPDATE SET state = excluded.state",
            (survey_id, state),
        )
        self._states[survey_id] = state  # only once the row is committed

    def reset(self) -> None:
        """Forget every response, quota count and state override (keys in `meta` are kept)."""
        self._db.executescript(
            "BEGIN; DELETE FROM responses; DELETE FROM quota_counts; DELETE FROM survey_states; COMMIT;"
        )
        if self._stamps is not None:  # no copy any process holds is the newest any more
            self._stamps.clear()
        self._states.clear()
        self._outcomes.clear()
