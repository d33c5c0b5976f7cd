"""The web UI's "Respondents", "Funnel" and "Limits" tabs (Locust's extended tabs).

The tables are declared once in the template arguments; their rows ride along in every
`/stats/requests` poll as `extended_stats`, so they refresh with Locust's own tables. Rows come
from the current test (TestRun.funnel / limit_rows, and the survey funnel: results/funnel.py's
rows, the same figures as summary.json's `funnel`): on a master, the sum of its workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from flask import Response, request

from loadtest.results.funnel import Funnel, funnel_rows, funnel_summary
from loadtest.survey.model import Survey

__all__ = ["install_tabs", "survey_funnel"]

RESPONDENT_COLUMNS = [
    ("name", "Persona"), ("started", "Started"), ("finished", "Finished"), ("completed", "Completed"),
    ("terminated", "Terminated"), ("quota_full", "Quota full"), ("other", "Other statuses"),
    ("abandoned", "Abandoned"), ("incomplete", "Incomplete"), ("unexpected", "Unexpected"),
    ("callbacks_accepted", "Callbacks accepted"), ("callbacks_failed", "Callbacks failed"),
]
FUNNEL_COLUMNS = [
    ("survey", "Survey"), ("persona", "Persona"), ("page", "Page"), ("reached", "Reached"), ("answered", "Answered"),
    ("dropped", "Not answered"), ("completed", "Ended: completed"), ("terminated", "Ended: terminated"),
    ("quota_full", "Ended: quota full"), ("abandoned", "Ended: abandoned"), ("other", "Ended: other"),
    ("validation_errors", "Validation errors"),
]
LIMIT_COLUMNS = [("name", "Limit"), ("target", "Target req/s"), ("achieved", "Achieved req/s"),
                 ("granted", "Permits granted"), ("processes", "Processes")]


def survey_funnel(funnel: Funnel, surveys: tuple[Survey, ...]) -> list[dict[str, Any]]:
    """The Funnel tab's rows: summary.json's `funnel` as it stands, flattened."""
    return funnel_rows(funnel_summary(funnel, surveys))


def install_tabs(web_ui: Any, respondents: Callable[[], list[dict[str, Any]]],
                 limits: Callable[[], list[dict[str, Any]]],
                 funnel: Callable[[], list[dict[str, Any]]] = list) -> None:
    web_ui.template_args["extended_tabs"] = [{"title": "Respondents", "key": "respondents"},
                                             {"title": "Funnel", "key": "funnel"},
                                             {"title": "Limits", "key": "limits"}]
    web_ui.template_args["extended_tables"] = [
        {"key": "respondents", "structure": [{"key": k, "title": t} for k, t in RESPONDENT_COLUMNS]},
        {"key": "funnel", "structure": [{"key": k, "title": t} for k, t in FUNNEL_COLUMNS]},
        {"key": "limits", "structure": [{"key": k, "title": t} for k, t in LIMIT_COLUMNS]},
    ]

    @web_ui.app.after_request
    def add_our_tables(response: Response) -> Response:
        if request.path != "/stats/requests" or response.status_code != 200 or not response.is_json:
            return response
        doc = response.get_json()
        doc["extended_stats"] = [{"key": "respondents", "data": respondents()}, {"key": "funnel", "data": funnel()},
                                 {"key": "limits", "data": limits()}]
        response.set_data(orjson.dumps(doc))
        return response
