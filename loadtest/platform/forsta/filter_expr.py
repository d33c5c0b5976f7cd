"""The `filterExpression` subset the reference platform's respondent data API understands.

Grammar (keywords and, or, not, in are case-insensitive; whitespace is free)::

    expression := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "not" factor | "(" expression ")" | comparison
    comparison := variable op literal
                | variable ["not"] "in" "(" literal ("," literal)* ")"
    variable   := [("respondent" | "response") ":"] name        e.g. respondent:city, status, u_10001
    op         := "=" | "!=" | "<>" | "<" | ">" | "<=" | ">="
    literal    := 'single-quoted text' ('' inside is one quote) | "double-quoted" | number (-12, 3.5)

The level prefix (seed 004's `respondent:city='oslo'`) is accepted and ignored: the platform has
one schema level. A variable must be one the survey has (system, answer or user variable).

How a comparison is decided, for a record value v and a literal L:

* v blank (no datapoint): `=` holds only for L = '', `!=` only for L != ''; ordering is false.
* v a list (multi-choice `m_`): `=` holds if L is one of the chosen ids, `!=` if it is not;
  ordering is false.
* L a number: v is compared as a number (a numeric string counts); a v that is not a number
  makes `!=` true and everything else false.
* L text: v is compared as text (a number as its decimal form), case-sensitively; ordering is
  by code point, so ISO times (`interview_end >= '2026-01-01'`) compare as times.

Anything else (functions, arithmetic, other operators, unknown variables) raises FilterError
naming what was not understood and where.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

__all__ = ["FilterError", "Predicate", "parse_filter"]

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<num>-?\d+(?:\.\d+)?(?![A-Za-z_]))
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),])
      | (?P<name>(?:(?:respondent|response):)?[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<>": operator.ne, "<": operator.lt, ">": operator.gt,
    "<=": operator.le, ">=": operator.ge,
}
_KEYWORDS = {"and", "or", "not", "in"}
# Parentheses and `not` nest by recursion; a bound far above any hand-written filter keeps a
# hostile one to a 400 instead of a RecursionError.
MAX_DEPTH = 100
MAX_DIGITS = 30  # a number literal longer than this cannot mean a stored value; int() of 5,000 digits raises


class FilterError(ValueError):
    pass


class _Tok:
    __slots__ = ("kind", "pos", "text", "value")

    def __init__(self, kind: str, text: str, value: Any, pos: int) -> None:
        self.kind, self.text, self.value, self.pos = kind, text, value, pos


def _tokens(source: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        m = _TOKEN.match(source, pos)
        if m is None:
            start = len(source[pos:]) - len(source[pos:].lstrip()) + pos
            raise FilterError(f"filterExpression: could not understand {source[start:start + 20]!r} "
                              f"at position {start}")
        kind = m.lastgroup
        assert kind is not None
        text = m.group(kind)
        start = m.start(kind)
        if kind == "str":
            value: Any = text[1:-1].replace(text[0] * 2, text[0])
        elif kind == "num":
            if len(text) > MAX_DIGITS:
                raise FilterError(f"filterExpression: the number at position {start} has more than {MAX_DIGITS} "
                                  "characters")
            value = float(text) if "." in text else int(text)
        elif kind == "name" and text.lower() in _KEYWORDS:
            kind, value = "kw", text.lower()
        elif kind == "name":
            value = text.split(":", 1)[-1]
        else:
            value = text
        out.append(_Tok(kind, text, value, start))
        pos = m.end()
    out.append(_Tok("end", "end of expression", None, len(source)))
    return out


def parse_filter(source: str, variables: Collection[str]) -> Predicate:
    """A predicate over records for `source`; FilterError if it is outside the subset."""
    parser = _Parser(_tokens(source), variables)
    predicate = parser.expression()
    parser.expect("end")
    return predicate


class _Parser:
    def __init__(self, tokens: list[_Tok], variables: Collection[str]) -> None:
        self.tokens = tokens
        self.i = 0
        self.variables = variables
        self.depth = 0

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, wanted: str) -> FilterError:
        tok = self.peek()
        found = tok.text if tok.kind != "end" else "the end of the expression"
        return FilterError(f"filterExpression: expected {wanted} at position {tok.pos}, found {found!r}")

    def keyword(self, word: str) -> bool:
        if self.peek().kind == "kw" and self.peek().value == word:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok.kind != kind or (text is not None and tok.text != text):
            raise self.fail(repr(text) if text else {"end": "the end of the expression"}.get(kind, kind))
        return self.take()

    def expression(self) -> Predicate:
        parts = [self.term()]
        while self.keyword("or"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.keyword("and"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def factor(self) -> Predicate:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise FilterError(f"filterExpression: nested more than {MAX_DEPTH} deep at position {self.peek().pos}")
            return self._factor()
        finally:
            self.depth -= 1

    def _factor(self) -> Predicate:
        if self.keyword("not"):
            inner = self.factor()
            return lambda r: not inner(r)
        if self.peek().kind == "punct" and self.peek().text == "(":
            self.take()
            inner = self.expression()
            self.expect("punct", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        tok = self.peek()
        if tok.kind != "name":
            raise self.fail("a variable name, 'not' or '('")
        self.take()
        name = tok.value
        if name not in self.variables:
            raise FilterError(f"filterExpression: unknown variable {name!r} at position {tok.pos}")
        negate = self.keyword("not")
        if self.keyword("in"):
            self.expect("punct", "(")
            literals = [self.literal()]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                literals.append(self.literal())
            self.expect("punct", ")")
            return lambda r: any(_compare(r.get(name), "=", lit) for lit in literals) != negate
        if negate:
            raise self.fail("'in' after 'not'")
        if self.peek().kind != "op":
            raise self.fail(f"a comparison operator (=, !=, <>, <, >, <=, >=) or 'in' after {tok.text!r}")
        op = self.take().text
        lit = self.literal()
        return lambda r: _compare(r.get(name), op, lit)

    def literal(self) -> Any:
        if self.peek().kind not in ("str", "num"):
            raise self.fail("a quoted text or a number")
        return self.take().value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _compare(value: Any, op: str, lit: Any) -> bool:
    if value is None or value == "" or value == []:
        if op == "=":
            return lit == ""
        return lit != "" if op in ("!=", "<>") else False
    if isinstance(value, list):
        found = any(_compare(v, "=", lit) for v in value)
        return {"=": found, "!=": not found, "<>": not found}.get(op, False)
    if isinstance(lit, (int, float)):
        number = _number(value)
        if number is None:
            return op in ("!=", "<>")
        return _OPS[op](number, float(lit))
    return _OPS[op](_text(value), lit)
