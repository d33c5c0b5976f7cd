"""A respondent's response as the reference platform stores it, and what a write of one can raise.

One `ResponseRow` is a respondent's whole state (storage.py writes it, sessions.py holds it,
the APIs move it); the exceptions say why a write changed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AlreadyFinished", "QuotaFull", "ResponseRow", "StaleRow"]


class AlreadyFinished(Exception):
    """Raised by a write that would finish a transaction that already has a finished response;
    nothing of that write is stored."""

    def __init__(self, survey_id: int, transaction_id: str | None) -> None:
        super().__init__(f"transaction {transaction_id!r} of survey {survey_id} already finished")
        self.survey_id, self.transaction_id = survey_id, transaction_id


class StaleRow(Exception):
    """Raised by a save of a row that another process saved since this copy was loaded; nothing
    of that save is stored. The request is handled again on the row as stored."""

    def __init__(self, row: ResponseRow) -> None:
        super().__init__(f"response {row.id} changed since it was loaded (version {row.version})")
        self.uuid = row.uuid


class QuotaFull(Exception):
    """Raised by `complete` when one of the respondent's quota cells has no room left."""

    def __init__(self, quota_id: str) -> None:
        super().__init__(quota_id)
        self.quota_id = quota_id


@dataclass(slots=True)
class ResponseRow:
    id: int
    uuid: str
    survey_id: int
    transaction_id: str | None
    language: str | None
    authenticated: bool
    status: str
    reason: str | None
    started_at: float
    updated_at: float
    finished_at: float | None
    page: str
    path: list[str]
    answers: dict[str, dict[str, Any]]
    page_times: dict[str, float]
    submitted: bool
    version: int = field(default=0, compare=False)  # saves of this row so far (see StaleRow)
    # The status the database holds for this row (None until created); not a column.
    stored_status: str | None = field(default=None, repr=False, compare=False)
