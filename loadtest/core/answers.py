"""Build submit-page bodies from formParam alone.

A question's kind is read from `paramPrefix` + `paramIdType` (never from its display `type`):

    u_ + questionId -> single      u_ + rowId -> grid (one key per row)    m_ + questionId -> multi
    t_ + answerId   -> text, or numeric when formParam says inputType "number"
    r_ + answerId   -> rank        s_ + answerId -> constant sum           dt_ + questionId -> date

Anything else raises UnanswerableQuestion: we name what we cannot answer, we never guess.
Values are strings (`m_` a list of strings), as the platform expects. Randomness comes only from
the respondent's RespondentRandom passed in; text comes from a callable so the core stays free of Faker.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from typing import Any

from loadtest.core.errors import UnanswerableQuestion
from loadtest.core.page import Question
from loadtest.core.rng import RespondentRandom

__all__ = ["DEFAULT_DATE_PARTS", "Answerer", "TextSource", "chosen_ids", "echo_extension_mismatches", "echo_mismatches",
           "keys_of", "kind_of"]

DEFAULT_DATE_PARTS = {"day": "dt_day_", "month": "dt_month_", "year": "dt_year_"}

TextSource = Callable[[int, int], str]  # (min_length, max_length) -> text


def kind_of(q: Question) -> str:
    prefix, id_type = q.form.prefix, q.form.id_type
    if prefix == "u_" and id_type == "questionId":
        return "single"
    if prefix == "u_" and id_type == "rowId" and q.rows:
        return "grid"
    if prefix == "m_" and id_type == "questionId":
        return "multi"
    if prefix == "t_" and id_type == "answerId" and q.answers:
        return "numeric" if q.form.rules.get("inputType") == "number" else "text"
    if prefix == "r_" and id_type == "answerId" and q.answers:
        return "rank"
    if prefix == "s_" and id_type == "answerId" and q.answers:
        return "sum"
    if prefix.startswith("dt_") and id_type == "questionId":
        return "date"
    raise UnanswerableQuestion(q.id, prefix, id_type)


def chosen_ids(q: Question, form: dict[str, Any]) -> set[str]:
    """The answer ids a form fragment picks for a single or multi question (for checks)."""
    kind = kind_of(q)
    if kind == "single":
        value = form.get(f"u_{q.id}")
        return {value} if value else set()
    if kind == "multi":
        return set(form.get(f"m_{q.id}", ()))
    return set()


def _date_prefixes(q: Question) -> dict[str, str]:
    """A date question's part -> form key prefix: formParam.partPrefixes where given, else the defaults."""
    given = q.form.rules.get("partPrefixes")
    return given if isinstance(given, dict) else DEFAULT_DATE_PARTS


def _num(rules: dict[str, Any], key: str, default: float) -> float:
    value = rules.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


class Answerer:
    __slots__ = ("rng", "text")  # one per respondent in flight

    def __init__(self, rng: RespondentRandom, text: TextSource) -> None:
        self.rng = rng
        self.text = text

    # --- valid answers ------------------------------------------------------------------
    def answer(self, q: Question, prefer: str | None = None, straightline: bool = False) -> dict[str, Any]:
        """A form fragment that satisfies every rule q's formParam advertises.

        `prefer` picks that answer id for a single/multi question (or that column for every row of
        a grid); `straightline` puts every grid row in one column.
        """
        kind = kind_of(q)
        rules, rng = q.form.rules, self.rng
        if kind == "single":
            ids = [str(a.id) for a in q.answers]
            pick = prefer if prefer in ids else rng.choice(ids)
            return {f"u_{q.id}": pick, **self._other(q, [pick])}
        if kind == "multi":
            ids = [str(a.id) for a in q.answers]
            low = max(1, int(_num(rules, "minSelections", 1)))
            high = max(low, min(len(ids), int(_num(rules, "maxSelections", len(ids)))))
            picks = rng.sample(ids, rng.randint(low, high))
            if prefer in ids and prefer not in picks:
                picks[0] = prefer
            return {f"m_{q.id}": picks, **self._other(q, picks)}
        if kind == "grid":
            columns = [str(a.id) for a in q.answers]
            same = prefer if prefer in columns else rng.choice(columns)
            if straightline:
                return {f"u_{row.id}": same for row in q.rows}
            picks = [rng.choice(columns) for _ in q.rows]
            if len(q.rows) > 1 and len(columns) > 1 and len(set(picks)) == 1:
                # A random grid can come out straight-lined; a non-straightliner never does.
                picks[-1] = rng.choice([c for c in columns if c != picks[0]])
            return {f"u_{row.id}": pick for row, pick in zip(q.rows, picks, strict=True)}
        if kind == "text":
            low = int(_num(rules, "minLength", 0))
            high = int(_num(rules, "maxLength", max(low, 120)))
            return {f"t_{q.answers[0].id}": self.text(max(low, 1), max(high, 1))}
        if kind == "numeric":
            least, most = _num(rules, "min", 0), _num(rules, "max", max(_num(rules, "min", 0), 100))
            if rules.get("integer"):
                value = str(rng.randint(int(-(-least // 1)), int(most // 1)))
            else:
                value = f"{rng.uniform(least, most):.1f}"
                value = value if least <= float(value) <= most else str(least)
            return {f"t_{q.answers[0].id}": value}
        if kind == "rank":
            ranks = list(range(1, len(q.answers) + 1))
            rng.shuffle(ranks)
            return {f"r_{a.id}": str(r) for a, r in zip(q.answers, ranks, strict=True)}
        if kind == "sum":
            shares = self._split(int(_num(rules, "total", 100)), len(q.answers))
            return {f"s_{a.id}": str(v) for a, v in zip(q.answers, shares, strict=True)}
        return self._date(q)

    def _other(self, q: Question, picks: list[str]) -> dict[str, Any]:
        prefix = q.form.other_prefix or "t_"
        return {f"{prefix}{a.id}": self.text(3, 60) for a in q.answers if a.is_other and str(a.id) in picks}

    def _split(self, total: int, parts: int) -> list[int]:
        cuts = sorted(self.rng.randint(0, total) for _ in range(parts - 1))
        return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]

    def _date(self, q: Question) -> dict[str, Any]:
        rules = q.form.rules
        parts = _date_prefixes(q)
        year = self.rng.randint(int(_num(rules, "minYear", 1950)), int(_num(rules, "maxYear", 2000)))
        month = self.rng.randint(1, 12)
        day = self.rng.randint(1, calendar.monthrange(year, month)[1])
        values = {"day": str(day), "month": str(month), "year": str(year)}
        return {f"{parts.get(part, DEFAULT_DATE_PARTS[part])}{q.id}": values[part] for part in DEFAULT_DATE_PARTS}

    # --- deliberately invalid answers ---------------------------------------------------
    def invalid(self, q: Question) -> dict[str, Any] | None:
        """A fragment that breaks one of q's advertised rules, or None if it advertises none we can break."""
        kind = kind_of(q)
        rules = q.form.rules
        if kind == "text" and _num(rules, "minLength", 0) > 1:
            return {f"t_{q.answers[0].id}": "x" * (int(_num(rules, "minLength", 0)) - 1)}
        if kind == "numeric" and "max" in rules:
            return {f"t_{q.answers[0].id}": str(int(_num(rules, "max", 0)) + 1)}
        if kind == "multi" and "maxSelections" in rules and int(rules["maxSelections"]) < len(q.answers):
            return {f"m_{q.id}": [str(a.id) for a in q.answers[: int(rules["maxSelections"]) + 1]]}
        if kind == "sum":
            return {f"s_{a.id}": "0" for a in q.answers}
        if q.form.required:
            return {}  # leaving a required question empty
        return None


def echo_mismatches(q: Question, form: dict[str, Any]) -> list[str]:
    """Where a re-shown question (previous-page) breaks seed 001's promise: the choices submitted
    for it come back marked `selected: true`, and no others."""
    if kind_of(q) not in ("single", "multi"):
        return []
    sent = chosen_ids(q, form)
    shown = {str(a.id) for a in q.answers if a.selected}
    return [f"question {q.id}: sent {sorted(sent)}, shown selected {sorted(shown)}"] if sent != shown else []


def echo_extension_mismatches(q: Question, form: dict[str, Any]) -> list[str]:
    """Where a re-shown question does not carry back the values submitted for it: "other" texts,
    grid rows, texts, numbers, ranks, sums and dates. The reference platform echoes them; seed 001
    does not promise it, so these are extensions, never a broken contract."""
    out: list[str] = []
    kind = kind_of(q)
    if kind in ("single", "multi"):
        prefix = q.form.other_prefix or "t_"
        for a in q.answers:
            key = f"{prefix}{a.id}"
            if a.is_other and key in form and a.value != form[key]:
                out.append(f"question {q.id}: other text {form[key]!r} came back as {a.value!r}")
    elif kind == "grid":
        for row in q.rows:
            sent_value = form.get(f"u_{row.id}")
            if sent_value is not None and row.value != sent_value:
                out.append(f"question {q.id} row {row.id}: sent {sent_value!r}, shown {row.value!r}")
    elif kind in ("text", "numeric", "rank", "sum"):
        prefix = {"text": "t_", "numeric": "t_", "rank": "r_", "sum": "s_"}[kind]
        for a in q.answers:
            sent_value = form.get(f"{prefix}{a.id}")
            if sent_value is not None and a.value != sent_value:
                out.append(f"question {q.id} answer {a.id}: sent {sent_value!r}, shown {a.value!r}")
    elif kind == "date":
        parts = _date_prefixes(q)
        posted = {part: form.get(f"{parts.get(part, DEFAULT_DATE_PARTS[part])}{q.id}") for part in DEFAULT_DATE_PARTS}
        if any(v is not None for v in posted.values()) and q.value != posted:
            out.append(f"question {q.id}: sent date {posted}, shown {q.value!r}")
    return out


def keys_of(q: Question) -> set[str]:
    """Every form key that can belong to q (so a persona can swap one question's answer)."""
    kind = kind_of(q)
    if kind in ("single", "multi"):
        prefix = q.form.other_prefix or "t_"
        return {f"u_{q.id}", f"m_{q.id}", *(f"{prefix}{a.id}" for a in q.answers)}
    if kind == "grid":
        return {f"u_{r.id}" for r in q.rows}
    if kind in ("text", "numeric"):
        return {f"t_{q.answers[0].id}"}
    if kind in ("rank", "sum"):
        return {f"{q.form.prefix}{a.id}" for a in q.answers}
    parts = _date_prefixes(q)
    return {f"{parts.get(p, DEFAULT_DATE_PARTS[p])}{q.id}" for p in DEFAULT_DATE_PARTS}
