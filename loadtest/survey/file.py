"""Load a survey definition from TOML and check it, failing with one line that names the file,
the key and what was expected (e.g. `s.toml: pages[1].questions[0].type: expected one of ...`).

Theory of operation: `TomlReader` (tomlcheck.py) walks the parsed TOML with the dotted key path it is at, so every
check can say exactly where it failed. Cross-references (display logic, quotas pointing at
questions and answers) are checked after all pages are read.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import get_args

from loadtest.core.toml_reader import TomlError, TomlReader
from loadtest.survey.model import (
    Answer,
    Page,
    Quality,
    Question,
    QuestionKind,
    Quota,
    Redirects,
    Row,
    ShowIf,
    Survey,
    SurveyState,
)

__all__ = ["SurveyFileError", "load_survey", "parse_survey"]

_KINDS = get_args(QuestionKind)
_STATES = get_args(SurveyState)

# The keys each table may hold; any other is refused with the closest of these (a misspelt
# `speeder_min_secs` would otherwise drop the speeder rule without a word).
_TOP = ("survey", "pages", "quotas", "quality", "redirects")
_HEAD = ("id", "title", "state", "back_navigation", "password", "languages", "json_as_string")
_QUALITY = ("speeder_min_seconds", "straightline_min_rows")
_REDIRECTS = ("complete", "terminate", "quota_full", "chain")
_PAGE = ("id", "questions", "show_if")
_QUESTION = ("id", "type", "text", "required")
_BY_KIND = {
    "single": ("answers",), "multi": ("answers", "min_selections", "max_selections"),
    "text": ("answer_id", "min_length", "max_length"), "numeric": ("answer_id", "min", "max", "integer"),
    "grid": ("answers", "rows", "straightline_check"), "date": ("min_year", "max_year"),
    "rank": ("answers",), "sum": ("answers", "total"),
}
_ANSWER = ("id", "text", "other", "terminate", "chain")


class SurveyFileError(TomlError):
    """A survey file that cannot be served; str() is one line: file, key, what was expected."""


def load_survey(path: str | Path) -> Survey:
    """Read and check one survey file. Raises SurveyFileError (one line) on any problem."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SurveyFileError(source, "<file>", f"a readable file ({exc.strerror})") from None
    return parse_survey(raw, source)


def parse_survey(raw: bytes | str, source: str = "<memory>") -> Survey:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise SurveyFileError(source, "<file>", "UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SurveyFileError(source, "<file>", f"valid TOML ({exc})") from None
    return _survey(TomlReader(source, data, error=SurveyFileError))


def _survey(top: TomlReader) -> Survey:
    top.only(_TOP)
    head = top.table("survey", required=True)
    head.only(_HEAD)
    languages = head._get("languages", ["en"])
    if not isinstance(languages, list) or not languages or not all(
        isinstance(x, str) and x for x in languages
    ) or len(set(languages)) != len(languages):
        raise head.fail("languages", f"a non-empty array of distinct language codes (got {languages!r})")
    langs = tuple(languages)
    pages = tuple(_page(p, langs) for p in top.tables("pages"))
    _check_unique(top, pages)
    quality = top.table("quality")
    quality.only(_QUALITY)
    redirects = top.table("redirects")
    redirects.only(_REDIRECTS)
    survey = Survey(
        id=head.int("id", minimum=1),
        title=head.str("title"),
        pages=pages,
        languages=langs,
        state=head.str("state", "active", choices=_STATES),
        back_navigation=head.bool("back_navigation", True),
        password=head.str("password", None),
        json_as_string=head.bool("json_as_string", False),
        quotas=tuple(_quota(q) for q in top.tables("quotas", required=False)),
        quality=Quality(
            speeder_min_seconds=quality.number("speeder_min_seconds", None),
            straightline_min_rows=quality.int("straightline_min_rows", 3, minimum=2),
        ),
        redirects=Redirects(
            complete=redirects.str("complete", None),
            terminate=redirects.str("terminate", None),
            quota_full=redirects.str("quota_full", None),
            chain=redirects.str("chain", None),
        ),
        source=top.source,
    )
    _check_references(top, survey)
    return survey


def _page(r: TomlReader, langs: tuple[str, ...]) -> Page:
    r.only(_PAGE)
    show_if = None
    if "show_if" in r.data:
        cond = r.table("show_if")
        cond.only(("question", "answers"))
        show_if = ShowIf(question=cond.int("question"), answers=frozenset(cond.ints("answers")))
    return Page(
        id=r.str("id"),
        questions=tuple(_question(q, langs) for q in r.tables("questions")),
        show_if=show_if,
    )


def _question(r: TomlReader, langs: tuple[str, ...]) -> Question:
    kind = r.str("type", choices=_KINDS)
    r.only((*_QUESTION, *_BY_KIND[kind]), note=f" for a {kind} question")
    needs_choices = kind in ("single", "multi", "grid", "rank", "sum")
    single_field = kind in ("text", "numeric")
    answers: tuple[Answer, ...]
    if single_field:
        # A text or numeric question posts one field, keyed by its answer id (t_{answerId}).
        answers = (Answer(id=r.int("answer_id", minimum=1), text={lang: "" for lang in langs}),)
    elif needs_choices:
        answers = tuple(
            Answer(
                id=a.int("id", minimum=1),
                text=a.text("text", langs),
                other=a.bool("other", False),
                terminate=a.bool("terminate", False),
                chain=a.bool("chain", False),
            )
            for a in _checked(r.tables("answers"), _ANSWER)
        )
    else:
        answers = ()
    rows = tuple(Row(id=x.int("id", minimum=1), text=x.text("text", langs))
                 for x in _checked(r.tables("rows"), ("id", "text"))) if (
        kind == "grid"
    ) else ()
    q = Question(
        id=r.int("id", minimum=1),
        kind=kind,
        text=r.text("text", langs),
        required=r.bool("required", True),
        answers=answers,
        rows=rows,
        min_length=r.int("min_length", None, minimum=0) if kind == "text" else None,
        max_length=r.int("max_length", None, minimum=1) if kind == "text" else None,
        min_value=r.number("min", None) if kind == "numeric" else None,
        max_value=r.number("max", None) if kind == "numeric" else None,
        integer=r.bool("integer", False) if kind == "numeric" else False,
        min_selections=r.int("min_selections", None, minimum=0) if kind == "multi" else None,
        max_selections=r.int("max_selections", None, minimum=1) if kind == "multi" else None,
        min_year=r.int("min_year", 1900) if kind == "date" else 1900,
        max_year=r.int("max_year", 2100) if kind == "date" else 2100,
        total=r.int("total", minimum=1) if kind == "sum" else None,
        straightline_check=r.bool("straightline_check", False) if kind == "grid" else False,
    )
    if q.min_length is not None and q.max_length is not None and q.min_length > q.max_length:
        raise r.fail("min_length", f"at most max_length ({q.max_length})")
    if q.min_value is not None and q.max_value is not None and q.min_value > q.max_value:
        raise r.fail("min", f"at most max ({q.max_value})")
    if q.min_year > q.max_year:
        raise r.fail("min_year", f"at most max_year ({q.max_year})")
    if sum(a.other for a in answers) > 1:
        raise r.fail("answers", "at most one answer marked other = true")
    if any(a.other or a.terminate or a.chain for a in answers) and kind not in ("single", "multi"):
        raise r.fail("answers", "other / terminate / chain only on single or multi questions")
    return q


def _checked(tables: list[TomlReader], known: tuple[str, ...]) -> list[TomlReader]:
    for t in tables:
        t.only(known)
    return tables


def _quota(r: TomlReader) -> Quota:
    r.only(("id", "question", "answers", "limit"))
    return Quota(
        id=r.str("id"),
        question=r.int("question"),
        answers=frozenset(r.ints("answers")),
        limit=r.int("limit", minimum=0),
    )


def _check_unique(top: TomlReader, pages: tuple[Page, ...]) -> None:
    seen_pages: set[str] = set()
    seen_ids: set[int] = set()
    for i, page in enumerate(pages):
        if page.id in seen_pages:
            raise top.fail(f"pages[{i}].id", f"a page id not used before (got {page.id!r} twice)")
        seen_pages.add(page.id)
        for j, q in enumerate(page.questions):
            # Question, answer and row ids share one namespace: they become form keys (u_{id}, t_{id}).
            ids = [q.id, *(a.id for a in q.answers if q.kind not in ("text", "numeric")), *(x.id for x in q.rows)]
            if q.kind in ("text", "numeric"):
                ids.append(q.answers[0].id)
            for value in ids:
                if value in seen_ids:
                    raise top.fail(
                        f"pages[{i}].questions[{j}]", f"ids unique across the survey (id {value} is used twice)"
                    )
                seen_ids.add(value)


def _check_references(top: TomlReader, survey: Survey) -> None:
    seen: dict[int, Question] = {}
    for i, page in enumerate(survey.pages):
        cond = page.show_if
        if cond is not None:
            q = seen.get(cond.question)
            if q is None:
                raise top.fail(f"pages[{i}].show_if.question", "a question on an earlier page")
            unknown = sorted(cond.answers - {a.id for a in q.answers})
            if unknown or q.kind not in ("single", "multi"):
                raise top.fail(f"pages[{i}].show_if.answers", f"answer ids of single/multi question {q.id}")
        for q in page.questions:
            seen[q.id] = q
    ids = set()
    for i, quota in enumerate(survey.quotas):
        if quota.id in ids:
            raise top.fail(f"quotas[{i}].id", f"a quota id not used before (got {quota.id!r} twice)")
        ids.add(quota.id)
        q = survey.question(quota.question)
        if q is None or q.kind not in ("single", "multi"):
            raise top.fail(f"quotas[{i}].question", "the id of a single or multi question in this survey")
        unknown = sorted(quota.answers - {a.id for a in q.answers})
        if unknown:
            raise top.fail(f"quotas[{i}].answers", f"answer ids of question {q.id} (unknown: {unknown})")
    if survey.password is not None and survey.password == "":
        raise top.fail("survey.password", "a non-empty string")
    if any(a.chain for p in survey.pages for q in p.questions for a in q.answers) and not survey.redirects.chain:
        raise top.fail("redirects.chain", "a URL, because an answer is marked chain = true")
