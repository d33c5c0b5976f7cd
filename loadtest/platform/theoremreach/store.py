"""SQLite tables of the reference platform's panel (TheoremReach DIY subset): DIY surveys, their
quotas, and the results panels were told per transaction. Shares the platform's connection."""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["DiyQuota", "DiySurvey", "PanelStore", "ResultRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS diy_surveys (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS diy_quotas (
    id TEXT PRIMARY KEY, survey_id TEXT NOT NULL, body TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS panel_results (
    transaction_id TEXT PRIMARY KEY,
    result INTEGER NOT NULL,
    reason TEXT,
    via TEXT NOT NULL,
    received REAL NOT NULL,
    repeats INTEGER NOT NULL DEFAULT 0,
    conflicting INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass
class DiySurvey:
    id: str
    fields: dict[str, Any]  # name, state, quota_mode, entry_url_prod, entry_url_test, ...


@dataclass
class DiyQuota:
    id: str
    survey_id: str
    fields: dict[str, Any]  # name, target_completes, state, questions


@dataclass(frozen=True)
class ResultRecord:
    transaction_id: str
    result: int
    reason: str | None
    via: str  # "callback" (postback) or "redirect"
    received: float
    repeats: int  # callbacks after the first for this transaction
    conflicting: int  # of those, how many carried a different result


class PanelStore:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(_SCHEMA)

    # --- DIY surveys and quotas -------------------------------------------------------------
    def create_survey(self, fields: dict[str, Any], now: float) -> DiySurvey:
        survey = DiySurvey(str(uuid.uuid4()), fields)
        self._db.execute("INSERT INTO diy_surveys (id, body, created) VALUES (?, ?, ?)",
                         (survey.id, orjson.dumps(fields), now))
        return survey

    def save_survey(self, survey: DiySurvey) -> None:
        self._db.execute("UPDATE diy_surveys SET body = ? WHERE id = ?", (orjson.dumps(survey.fields), survey.id))

    def survey(self, survey_id: str) -> DiySurvey | None:
        row = self._db.execute("SELECT id, body FROM diy_surveys WHERE id = ?", (survey_id,)).fetchone()
        return DiySurvey(row[0], orjson.loads(row[1])) if row else None

    def surveys(self) -> list[DiySurvey]:
        return [DiySurvey(r[0], orjson.loads(r[1]))
                for r in self._db.execute("SELECT id, body FROM diy_surveys ORDER BY created, id")]

    def delete_survey(self, survey_id: str) -> None:
        self._db.execute("DELETE FROM diy_quotas WHERE survey_id = ?", (survey_id,))
        self._db.execute("DELETE FROM diy_surveys WHERE id = ?", (survey_id,))

    def create_quota(self, survey_id: str, fields: dict[str, Any], now: float) -> DiyQuota:
        quota = DiyQuota(str(uuid.uuid4()), survey_id, fields)
        self._db.execute("INSERT INTO diy_quotas (id, survey_id, body, created) VALUES (?, ?, ?, ?)",
                         (quota.id, survey_id, orjson.dumps(fields), now))
        return quota

    def save_quota(self, quota: DiyQuota) -> None:
        self._db.execute("UPDATE diy_quotas SET body = ? WHERE id = ?", (orjson.dumps(quota.fields), quota.id))

    def quota(self, quota_id: str) -> DiyQuota | None:
        row = self._db.execute("SELECT id, survey_id, body FROM diy_quotas WHERE id = ?", (quota_id,)).fetchone()
        return DiyQuota(row[0], row[1], orjson.loads(row[2])) if row else None

    def quotas(self, survey_id: str | None = None) -> list[DiyQuota]:
        sql = "SELECT id, survey_id, body FROM diy_quotas"
        args: tuple[str, ...] = ()
        if survey_id is not None:
            sql, args = sql + " WHERE survey_id = ?", (survey_id,)
        return [DiyQuota(r[0], r[1], orjson.loads(r[2])) for r in self._db.execute(sql + " ORDER BY created, id", args)]

    def delete_quota(self, quota_id: str) -> None:
        self._db.execute("DELETE FROM diy_quotas WHERE id = ?", (quota_id,))

    # --- results --------------------------------------------------------------------------------
    def record_result(self, transaction_id: str, result: int, reason: str | None, via: str, now: float) -> bool:
        """Record a panel result. A repeat for a recorded transaction is counted (and flagged when
        its result differs), never recorded twice. Returns True for a first recording."""
        cur = self._db.execute(
            "INSERT OR IGNORE INTO panel_results (transaction_id, result, reason, via, received)"
            " VALUES (?, ?, ?, ?, ?)",
            (transaction_id, result, reason, via, now),
        )
        if cur.rowcount == 1:
            return True
        self._db.execute(
            "UPDATE panel_results SET repeats = repeats + 1, conflicting = conflicting + (result != ?) "
            "WHERE transaction_id = ?",
            (result, transaction_id),
        )
        return False

    def results(self) -> dict[str, ResultRecord]:
        return {
            r[0]: ResultRecord(*r)
            for r in self._db.execute(
                "SELECT transaction_id, result, reason, via, received, repeats, conflicting FROM panel_results")
        }

    def reset(self) -> None:
        self._db.executescript("DELETE FROM diy_quotas; DELETE FROM diy_surveys; DELETE FROM panel_results;")
