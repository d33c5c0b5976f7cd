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

from loadtest.checks.data_check import check_data
from loadtest.control.data_client import DataApiError, fetch_records
from loadtest.core.usage import BadInput
from loadtest.local_defaults import DEFAULT_DATA_TOKEN
from loadtest.results.run_files import read_respondents
from loadtest.scenario.file import Scenario

__all__ = ["data_check_wanted", "data_token", "read_back"]

READ_ATTEMPTS = 4


def data_token(sc: Scenario, purpose: str) -> str:
    """The respondent data API's bearer token: from the variable `[data_check] token_env` names;
    the platform's local default only for the embedded platform. For any other target a missing
    token is bad input, raised before the run starts. `purpose` says what needs it."""
    settings = sc.data_check
    token = os.environ.get(settings.token_env)
    if not token and (settings.target is not None or sc.target != "embedded"):
        raise BadInput(f"{sc.path}: data_check.token_env: expected {settings.token_env} to hold the respondent "
                       f"data API's bearer token for {purpose} (it is not set)")
    return token or DEFAULT_DATA_TOKEN


def data_check_wanted(sc: Scenario) -> bool:
    """Whether to check; raises BadInput before the run when a remote check has no token."""
    wanted = sc.data_check.enabled if sc.data_check.enabled is not None else sc.target == "embedded"
    if wanted:
        data_token(sc, "a target that is not the embedded platform")
    return wanted


async def read_back(sc: Scenario, survey_target: str, respondents_file: Path) -> dict[str, Any]:
    token = data_token(sc, "the read-back")
    lines, _ = read_respondents(respondents_file)  # a torn last line (a killed run) is skipped
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
        return check_data(lines, records, run_prefix=sc.transaction_prefix)
    return {"passed": False, "error": error, "respondents_checked": 0, "records_read": 0,
            "problems": {"unreadable": 1}, "mismatches": []}
