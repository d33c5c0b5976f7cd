"""Connect the panel (theoremreach.py) to the respondent side: which surveys exist, their state,
the quota cells the panel's DIY quotas add, their transactions and quota counts."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from loadtest.platform.theoremreach.panel_api import Linker

if TYPE_CHECKING:
    from loadtest.platform.app import Platform

__all__ = ["link"]


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def link(platform: Platform) -> Linker:
    api, store = platform.api, platform.store

    def transactions(survey_id: int) -> list[dict[str, Any]]:
        out = []
        for row in store.responses(survey_id):
            if not row.transaction_id:
                continue
            end = row.finished_at
            out.append({"transaction_id": row.transaction_id, "respondent_id": row.uuid,
                        "start_time": _iso(row.started_at), "end_time": _iso(end),
                        "duration_in_seconds": int((end or row.updated_at) - row.started_at)})
        return out

    def set_quotas(survey_id: int, cells: list[tuple[str, int, frozenset[int], int]]) -> None:
        api.set_panel_quotas(survey_id, cells)
        if platform.sharing is not None:  # the other processes read the cells from the panel's tables
            platform.sharing.changed()

    return Linker(
        surveys=lambda: set(api.surveys),
        set_state=platform.set_survey_state,
        set_quotas=set_quotas,
        transactions=transactions,
        quota_counts=store.quota_counts,
    )
