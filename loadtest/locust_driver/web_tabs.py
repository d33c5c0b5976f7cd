"""The web UI's "Respondents" and "Limits" tabs (Locust's extended tabs).

The tables are declared once in the template arguments; their rows ride along in every
`/stats/requests` poll as `extended_stats`, so they refresh with Locust's own tables. Rows come
from the current test (TestRun.funnel / limit_rows): on a master, the sum of its workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from flask import Response, request

__all__ = ["install_tabs"]

RESPONDENT_COLUMNS = [
    ("name", "Persona"), ("started", "Started"), ("finished", "Finished"), ("completed", "Completed"),
    ("terminated", "Terminated"), ("quota_full", "Quota full"), ("other", "Other statuses"),
    ("abandoned", "Abandoned"), ("incomplete", "Incomplete"), ("unexpected", "Unexpected"),
    ("callbacks_accepted", "Callbacks accepted"), ("callbacks_failed", "Callbacks failed"),
]
LIMIT_COLUMNS = [("name", "Limit"), ("target", "Target req/s"), ("achieved", "Achieved req/s"),
                 ("granted", "Permits granted"), ("processes", "Processes")]


def install_tabs(web_ui: Any, respondents: Callable[[], list[dict[str, Any]]],
                 limits: Callable[[], list[dict[str, Any]]]) -> None:
    web_ui.template_args["extended_tabs"] = [{"title": "Respondents", "key": "respondents"},
                                             {"title": "Limits", "key": "limits"}]
    web_ui.template_args["extended_tables"] = [
        {"key": "respondents", "structure": [{"key": k, "title": t} for k, t in RESPONDENT_COLUMNS]},
        {"key": "limits", "structure": [{"key": k, "title": t} for k, t in LIMIT_COLUMNS]},
    ]

    @web_ui.app.after_request
    def add_our_tables(response: Response) -> Response:
        if request.path != "/stats/requests" or response.status_code != 200 or not response.is_json:
            return response
        doc = response.get_json()
        doc["extended_stats"] = [{"key": "respondents", "data": respondents()}, {"key": "limits", "data": limits()}]
        response.set_data(orjson.dumps(doc))
        return response
