"""Seed 002's response object, built from a stored response (see responses_api.py).

Every field of the seed's JSON schema is present. `responseSet` lists the answered questions in
survey order, numbered `Q1`, `Q2`, ... (a grid's rows as `Q{n}_{m}`, each under the row's id,
with the grid's text as `questionDescription`, as the seed's contact block shows). A choice's
`value.scale` is its position (1-based), its "other" text goes in `value.other`; a text, numeric,
date (YYYY-MM-DD), rank or constant-sum value goes in `value.text`. `customVariables` echo what
was sent (null otherwise): the seed's schema types them null only, a generated-from-one-example
artefact, since custom variables carry text.
"""

from __future__ import annotations

import datetime
from typing import Any

from loadtest.platform.response_row import ResponseRow
from loadtest.survey.model import Answer, Question, Survey

__all__ = ["LANGUAGE_NAMES", "RESPONSE_STATUS", "response_object", "response_set"]

RESPONSE_STATUS = {"survey_complete": "Completed", "terminated": "Terminated", "quota_full": "Overquota",
                   "redirect": "Redirected"}
LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
                  "nl": "Dutch", "pt": "Portuguese", "sv": "Swedish", "no": "Norwegian", "da": "Danish"}


def _float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def response_object(survey: Survey, row: ResponseRow, payload: dict[str, Any], now: float, taken: int
                    ) -> dict[str, Any]:
    moment = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
    given_location, given_custom = payload.get("location"), payload.get("customVariables")
    location = given_location if isinstance(given_location, dict) else {}
    custom = given_custom if isinstance(given_custom, dict) else {}

    def text(key: str, default: str = "") -> str:
        value = payload.get(key)
        return value if isinstance(value, str) else default

    country = location.get("country")
    lang = row.language or survey.languages[0]
    return {
        "responseID": row.id,
        "surveyID": survey.id,
        "surveyName": survey.title,
        "ipAddress": text("ipAddress", "127.0.0.1"),
        "timestamp": moment.strftime("%d %b, %Y %I:%M:%S %p UTC"),
        "location": {
            "country": country if isinstance(country, str) else None,
            "region": str(location.get("region", "")),
            "latitude": _float(location.get("latitude")),
            "longitude": _float(location.get("longitude")),
            "radius": _float(location.get("radius")),
            "countryCode": str(location.get("countryCode", "")),
        },
        "duplicate": False,
        "timeTaken": taken,
        "responseStatus": RESPONSE_STATUS.get(row.status, row.status),
        "externalReference": row.transaction_id or "",
        "customVariables": {f"custom{i}": custom.get(f"custom{i}") for i in range(1, 6)},
        "language": LANGUAGE_NAMES.get(lang, lang),
        "currentInset": "",
        "operatingSystem": text("operatingSystem"),
        "osDeviceType": text("osDeviceType"),
        "browser": text("browser"),
        "responseSet": response_set(survey, row, lang),
    }


def _tr(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or next(iter(texts.values()), "")


def _value(**fields: Any) -> dict[str, Any]:
    out = {"scale": "", "other": "", "dynamicExplodeText": "", "text": "", "result": "", "fileLink": "", "weight": 0.0}
    out.update(fields)
    return out


def _choice(q: Question, answer: Answer, values: dict[str, Any], lang: str) -> dict[str, Any]:
    scale = str(q.answers.index(answer) + 1)
    other = values.get(f"t_{answer.id}", "") if answer.other else ""
    return {"answerID": answer.id, "answerText": _tr(answer.text, lang), "value": _value(scale=scale, other=other)}


def _entry(qid: int, code: str, text: str, answer_values: list[dict[str, Any]], description: str = " "
           ) -> dict[str, Any]:
    return {"questionID": qid, "questionDescription": description, "questionCode": code, "questionText": text,
            "imageUrl": None, "answerValues": answer_values}


def response_set(survey: Survey, row: ResponseRow, lang: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    number = 0
    for page in survey.pages:
        values = row.answers.get(page.id) if page.id in row.path else None
        for q in page.questions:
            number += 1
            if not values:
                continue
            out.extend(_question_entries(q, values, f"Q{number}", lang))
    return out


def _question_entries(q: Question, values: dict[str, Any], code: str, lang: str) -> list[dict[str, Any]]:
    text = _tr(q.text, lang)
    if q.kind == "single" or q.kind == "multi":
        ids = [values[f"u_{q.id}"]] if f"u_{q.id}" in values else list(values.get(f"m_{q.id}", []))
        chosen = [a for a in (q.answer(int(i)) for i in ids) if a is not None]
        return [_entry(q.id, code, text, [_choice(q, a, values, lang) for a in chosen])] if chosen else []
    if q.kind == "grid":
        rows = []
        for m, grid_row in enumerate(q.rows, 1):
            picked = values.get(f"u_{grid_row.id}")
            column = q.answer(int(picked)) if picked is not None else None
            if column is not None:
                rows.append(_entry(grid_row.id, f"{code}_{m}", _tr(grid_row.text, lang),
                                   [_choice(q, column, values, lang)], description=text))
        return rows
    if q.kind in ("text", "numeric"):
        answer = q.answers[0]
        value = values.get(f"t_{answer.id}")
        if value is None:
            return []
        return [_entry(q.id, code, text, [{"answerID": answer.id, "answerText": _tr(answer.text, lang),
                                           "value": _value(text=value)}])]
    if q.kind == "date":
        parts = [values.get(f"dt_{p}_{q.id}") for p in ("year", "month", "day")]
        if None in parts:
            return []
        iso = datetime.date(*(int(p) for p in parts if p is not None)).isoformat()
        return [_entry(q.id, code, text, [{"answerID": q.id, "answerText": "", "value": _value(text=iso)}])]
    prefix = "r_" if q.kind == "rank" else "s_"
    items = [{"answerID": a.id, "answerText": _tr(a.text, lang), "value": _value(text=values[f"{prefix}{a.id}"])}
             for a in q.answers if f"{prefix}{a.id}" in values]
    return [_entry(q.id, code, text, items)] if items else []
