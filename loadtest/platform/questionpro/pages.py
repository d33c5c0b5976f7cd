"""The `response` object of a page reply (status success or validation_errors), and its cache.

A page reply is meta (isFinalPage, progressPercentage), navigation, themeConfig and questions[].
Shown without earlier answers or errors, as on every forward move, that object depends only on
(survey, page, language, isFinalPage, whether a previous page exists): it is serialized once per
such key and spliced into each reply (envelopes.cached_status_body), so the hot path does no
rendering and no JSON encoding of the page. Pages re-shown with answers or errors are built
afresh. isFinalPage is decided from `Finality`, worked out per page when the API starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loadtest.platform.envelopes import status_response
from loadtest.platform.questionpro.render import PageRenderer
from loadtest.platform.response_row import ResponseRow
from loadtest.platform.rules.validation import chosen_answers
from loadtest.survey.model import Question, Survey

__all__ = ["API", "THEME", "PageReplies"]

API = "/a/api/v2/surveys"
THEME = {"cssUrls": ["https://cdn.example.test/themes/loadtest.css"], "jsUrls": []}


@dataclass(frozen=True, slots=True)
class Finality:
    """What decides whether a page is the last one a respondent can be shown.

    Walking the later pages in order, the page is not final at the first one that is shown
    unconditionally or on an answer of this very page (`open_after`), or whose condition the
    respondent's earlier answers meet (`conditions`, the ones before that first page).
    """

    open_after: bool
    conditions: tuple[tuple[Question, frozenset[int]], ...]


def _finality(survey: Survey, index: int) -> Finality:
    current = {q.id for q in survey.pages[index].questions}
    conditions: list[tuple[Question, frozenset[int]]] = []
    for later in survey.pages[index + 1 :]:
        cond = later.show_if
        if cond is None or cond.question in current:
            return Finality(True, tuple(conditions))
        question = survey.question(cond.question)
        assert question is not None  # checked when the survey was loaded
        conditions.append((question, cond.answers))
    return Finality(False, tuple(conditions))


class PageReplies:
    def __init__(self, surveys: dict[int, Survey]) -> None:
        self.renderers = {sid: PageRenderer(s) for sid, s in surveys.items()}
        self._finality = {sid: [_finality(s, i) for i in range(len(s.pages))] for sid, s in surveys.items()}
        # (survey id, page index, language, isFinalPage, has previous page) -> serialized response
        self._cache: dict[tuple[int, int, str, bool, bool], bytes] = {}

    def response(
        self,
        survey: Survey,
        row: ResponseRow,
        values: dict[str, Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> bytes:
        """The serialized `response` object of the page `row` is on."""
        index = survey.page_index(row.page)
        lang = row.language
        assert lang is not None
        final = self.is_final(survey, row, index)
        if values or errors:
            return self._build(survey, index, lang, final, bool(row.path), values, errors)
        key = (survey.id, index, lang, final, bool(row.path))
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._build(survey, index, lang, final, bool(row.path), None, None)
        return cached

    def is_final(self, survey: Survey, row: ResponseRow, index: int) -> bool:
        """True when no later page can be shown, given what the respondent has answered so far."""
        finality = self._finality[survey.id][index]
        if finality.open_after:
            return False
        for question, answers in finality.conditions:
            if any(chosen_answers(question, row.answers.get(pid, {})) & answers for pid in row.path):
                return False
        return True

    def _build(
        self,
        survey: Survey,
        index: int,
        lang: str,
        final: bool,
        has_previous: bool,
        values: dict[str, Any] | None,
        errors: list[dict[str, Any]] | None,
    ) -> bytes:
        fields: dict[str, Any] = {
            "meta": {"isFinalPage": final, "progressPercentage": int(100 * index / len(survey.pages))},
            "navigation": {
                "previousPageUrl": f"{API}/{survey.id}/previous-page" if has_previous else None,
                "nextPageSubmitUrl": f"{API}/{survey.id}/submit-page",
            },
            "themeConfig": THEME,
            "questions": self.renderers[survey.id].questions(survey.pages[index], lang, values),
        }
        if errors:
            fields["validationErrors"] = errors
        return status_response("validation_errors" if errors else "success", **fields)
