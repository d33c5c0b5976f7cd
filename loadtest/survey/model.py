"""The survey model the reference platform serves: frozen values, no I/O.

A survey is a list of pages; a page holds questions; a question knows how it is posted
(its formParam prefix and id type) and how it is validated. Texts are per language.
Loading and checking a TOML file lives in `survey_file.py`; this module is only the shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "QUESTION_CODES",
    "Answer",
    "Page",
    "Quality",
    "Question",
    "QuestionKind",
    "Quota",
    "Redirects",
    "Row",
    "ShowIf",
    "Survey",
    "SurveyState",
]

QuestionKind = Literal["single", "multi", "text", "numeric", "grid", "date", "rank", "sum"]
SurveyState = Literal["active", "closed", "paused", "suspended"]

# The one-letter `type` the API shows for each kind (seed 000 shows "U" for single choice).
QUESTION_CODES: dict[str, str] = {
    "single": "U",
    "multi": "M",
    "text": "T",
    "numeric": "N",
    "grid": "G",
    "date": "D",
    "rank": "R",
    "sum": "S",
}


@dataclass(frozen=True, slots=True)
class Answer:
    id: int
    text: dict[str, str]  # language -> text
    other: bool = False  # "other, please specify": needs t_{id} text when chosen
    terminate: bool = False  # screener: choosing it terminates the respondent
    chain: bool = False  # choosing it sends the respondent on to the chain survey


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    text: dict[str, str]


@dataclass(frozen=True, slots=True)
class Question:
    id: int
    kind: QuestionKind
    text: dict[str, str]
    required: bool = True
    answers: tuple[Answer, ...] = ()
    rows: tuple[Row, ...] = ()  # grid only
    min_length: int | None = None  # text
    max_length: int | None = None  # text
    min_value: float | None = None  # numeric
    max_value: float | None = None  # numeric
    integer: bool = False  # numeric
    min_selections: int | None = None  # multi
    max_selections: int | None = None  # multi
    min_year: int = 1900  # date
    max_year: int = 2100  # date
    total: int | None = None  # sum: the values must add up to this
    straightline_check: bool = False  # grid: all rows in one column terminates (quality)

    # Lookups by id, made once: validation and the page flow ask them on every submit.
    _answer_by_id: dict[int, Answer] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_answer_by_id", {a.id: a for a in reversed(self.answers)})

    def answer(self, answer_id: int) -> Answer | None:
        return self._answer_by_id.get(answer_id)


@dataclass(frozen=True, slots=True)
class ShowIf:
    """Display logic: the page is shown only when `question` was answered with one of `answers`."""

    question: int
    answers: frozenset[int]


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    questions: tuple[Question, ...]
    show_if: ShowIf | None = None
    # Whether choosing some answer on this page ends the survey (screener or chain), worked
    # out once: only such pages need their chosen answers looked up on submit.
    exits: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exits = any(a.terminate or a.chain for q in self.questions for a in q.answers)
        object.__setattr__(self, "exits", exits)


@dataclass(frozen=True, slots=True)
class Quota:
    """One quota cell: respondents who chose any of `answers` for `question`; at most `limit` completes."""

    id: str
    question: int
    answers: frozenset[int]
    limit: int


@dataclass(frozen=True, slots=True)
class Quality:
    speeder_min_seconds: float | None = None  # completing faster than this terminates (quality)
    straightline_min_rows: int = 3  # a grid needs at least this many rows to count as straight-lined


@dataclass(frozen=True, slots=True)
class Redirects:
    """Where a respondent is sent next; `{transaction_id}` is filled in from the entry parameter."""

    complete: str | None = None
    terminate: str | None = None
    quota_full: str | None = None
    chain: str | None = None  # the chain survey, used by answers marked `chain`


@dataclass(frozen=True, slots=True)
class Survey:
    id: int
    title: str
    pages: tuple[Page, ...]
    languages: tuple[str, ...] = ("en",)
    state: SurveyState = "active"
    back_navigation: bool = True
    password: str | None = None
    json_as_string: bool = False  # serve questions[].json as a JSON-encoded string (seed 000's schema)
    quotas: tuple[Quota, ...] = ()
    quality: Quality = field(default_factory=Quality)
    redirects: Redirects = field(default_factory=Redirects)
    source: str = "<memory>"  # the file it came from, for messages
    # Lookups by id, made once (`reversed` keeps the first of duplicate ids, as a scan would).
    _page_index: dict[str, int] = field(init=False, repr=False, compare=False)
    _question: dict[int, Question] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pages = list(enumerate(self.pages))
        object.__setattr__(self, "_page_index", {p.id: i for i, p in reversed(pages)})
        object.__setattr__(
            self, "_question", {q.id: q for _, p in reversed(pages) for q in reversed(p.questions)}
        )

    @property
    def multilingual(self) -> bool:
        return len(self.languages) > 1

    def page_index(self, page_id: str) -> int:
        return self._page_index[page_id]  # KeyError for an unknown page, as before

    def question(self, question_id: int) -> Question | None:
        return self._question.get(question_id)
