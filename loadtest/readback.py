"""After a run: read every completed respondent's stored answers back and compare (data_check).

On by default against the embedded platform (which the run started, so its data API and token
are known), opt-in against any other target (`[data_check] enabled = true`, with the data API's
bearer token in the variable `token_env` names). Only this run's respondents are judged; records
of other transactions are left alone. Used by both drivers; the result goes into summary.json
under `data_check`, and a problem fails the run (thresholds.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import orjson

from loadtest.data_check import check_data
from loadtest.engine.data_client import DataApiError, fetch_records
from loadtest.platform.app import DEFAULT_DATA_TOKEN
from loadtest.scenario import Scenario
from loadtest.usage import BadInput

__all__ = ["data_check_wanted", "read_back"]

READ_ATTEMPTS = 4


def data_check_wanted(sc: Scenario) -> bool:
    """Whether to check; raises BadInput before the run when a remote check has no token."""
    settings = sc.data_check
    wanted = settings.enabled if settings.enabled is not None else sc.target == "embedded"
    remote = settings.target is not None or sc.target != "embedded"
    if wanted and remote and not os.environ.get(settings.token_env):
        raise BadInput(f"{sc.path}: data_check.token_env: expected {settings.token_env} to hold the respondent "
                       "data API's bearer token for a target that is not the embedded platform (it is not set)")
    return wanted


async def read_back(sc: Scenario, survey_target: str, respondents_file: Path) -> dict[str, Any]:
    token = os.environ.get(sc.data_check.token_env) or DEFAULT_DATA_TOKEN
    lines = [orjson.loads(line) for line in respondents_file.read_bytes().splitlines() if line.strip()]
    surveys = sorted({int(line["survey_id"]) for line in lines})
    error = ""
    for attempt in range(READ_ATTEMPTS):  # reading changes nothing, so a broken read is simply read again
        try:
            # Only completes can be missing or extra, so only they are read.
            records = await fetch_records(sc.data_check.target or survey_target, surveys, token,
                                          filter_expression="status = 'complete'")
        except DataApiError as exc:
            error = str(exc)
            await anyio.sleep(0.2 * 2 ** attempt)
            continue
        return check_data(lines, records)
    return {"passed": False, "error": error, "respondents_checked": 0, "records_read": 0,
            "problems": {"unreadable": 1}, "mismatches": []}
