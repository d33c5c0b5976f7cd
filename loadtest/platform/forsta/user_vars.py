"""User variables of the respondent data API (seed 004): declared per survey, stored per response.

    POST /v1/surveys/{surveyId}/respondents/uservariables
        {"name": "income", "dataType": "numeric", "precision": 8, "scale": 0}
        {"name": "address", "dataType": "text", "length": 512}      (length defaults to 255)
        {"name": "date_of_birth", "dataType": "date"}
        {"name": "is_married", "dataType": "boolean"}              (stores 0 or 1)

The reply is the variable's schema entry as the seed prints one (`"isUserVariable": "true"`, a
string, as the seed has it). A name must be a plain identifier that is neither a system variable
nor shaped like an answer variable; a second declaration of a name is a 409, and so is the
1001st column of the respondent table (system + answer + user variables).

Values are checked by `UserVariable.coerce`. Its messages for bad values are the seed's where the
seed has one ("Invalid Numeric.", "Invalid DateTime."); "Invalid Boolean.", "Invalid Text." and
"Text is longer than N characters." follow the same pattern.
"""

from __future__ import annotations

import datetime
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from loadtest.platform.forsta.records import ANSWER_KEY, SYSTEM_VARIABLES

__all__ = ["DATA_TYPES", "MAX_COLUMNS", "UserVariable", "UserVariables"]

MAX_COLUMNS = 1000
DATA_TYPES = ("numeric", "text", "date", "boolean")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS data_user_variables (
    survey_id INTEGER NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL, PRIMARY KEY (survey_id, name)
);
CREATE TABLE IF NOT EXISTS data_user_values (response_id INTEGER PRIMARY KEY, data TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class UserVariable:
    name: str
    data_type: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "variableType": self.data_type}
        for key in ("length", "precision", "scale"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["isUserVariable"] = "true"
        return out

    def coerce(self, value: Any) -> tuple[Any, str | None]:
        """(the value to store, None) or (None, the validation message). Blank clears."""
        if value is None or value == "":
            return None, None
        if self.data_type == "text":
            if not isinstance(value, str):
                return None, "Invalid Text."
            if self.length is not None and len(value) > self.length:
                return None, f"Text is longer than {self.length} characters."
            return value, None
        if self.data_type == "numeric":
            return self._numeric(value)
        if self.data_type == "date":
            return _date(value)
        if value in (True, 1, "1", "true", "True") and not isinstance(value, float):
            return 1, None
        if value in (False, 0, "0", "false", "False") and not isinstance(value, float):
            return 0, None
        return None, "Invalid Boolean."

    def _numeric(self, value: Any) -> tuple[Any, str | None]:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return None, "Invalid Numeric."
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None, "Invalid Numeric."
        if not number.is_finite():
            return None, "Invalid Numeric."
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)
        decimals = max(0, -exponent)
        digits = len(number.as_tuple().digits) - decimals
        if self.scale is not None and decimals > self.scale:
            return None, "Invalid Numeric."
        if self.precision is not None and max(digits, 0) + (self.scale or 0) > self.precision:
            return None, "Invalid Numeric."
        return (int(number) if number == number.to_integral_value() else float(number)), None


def _date(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, "Invalid DateTime."
    try:
        if len(value) == 10:
            return datetime.date.fromisoformat(value).isoformat(), None
        return datetime.datetime.fromisoformat(value).isoformat(), None
    except ValueError:
        return None, "Invalid DateTime."


def parse_declaration(body: Any) -> UserVariable | str:
    """A UserVariable from a POST body, or what is wrong with it."""
    if not isinstance(body, dict):
        return "Expected a JSON object with name and dataType."
    name, data_type = body.get("name"), body.get("dataType")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return "name: expected a letter followed by letters, digits or _ (at most 64 characters)."
    if name in SYSTEM_VARIABLES or ANSWER_KEY.fullmatch(name):
        return f"name: {name!r} is reserved for a system or answer variable."
    if data_type not in DATA_TYPES:
        return f"dataType: expected one of {', '.join(DATA_TYPES)}."
    numbers = {}
    for key in ("length", "precision", "scale"):
        raw = body.get(key)
        if raw is not None and (not isinstance(raw, int) or isinstance(raw, bool) or raw < 0):
            return f"{key}: expected a whole number of 0 or more."
        numbers[key] = raw
    if data_type == "numeric":
        if numbers["precision"] is None and numbers["scale"] is None:
            return "For numerical variables, either precision or scale needs to be specified."
        return UserVariable(name, data_type, precision=numbers["precision"], scale=numbers["scale"])
    if data_type == "text":
        return UserVariable(name, data_type, length=numbers["length"] or 255)
    return UserVariable(name, data_type)


class UserVariables:
    """Declarations and values, in the platform's SQLite database (its one connection)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(_SCHEMA)

    def declared(self, survey_id: int) -> dict[str, UserVariable]:
        rows = self._db.execute(
            "SELECT spec FROM data_user_variables WHERE survey_id = ? ORDER BY rowid", (survey_id,)
        ).fetchall()
        out = {}
        for (spec,) in rows:
            v = UserVariable(**orjson.loads(spec))
            out[v.name] = v
        return out

    def declare(self, survey_id: int, variable: UserVariable) -> None:
        spec = {"name": variable.name, "data_type": variable.data_type, "length": variable.length,
                "precision": variable.precision, "scale": variable.scale}
        self._db.execute("INSERT INTO data_user_variables (survey_id, name, spec) VALUES (?, ?, ?)",
                         (survey_id, variable.name, orjson.dumps(spec)))

    def values(self, response_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        ids = list(response_ids)
        out: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for rid, data in self._db.execute(
                f"SELECT response_id, data FROM data_user_values WHERE response_id IN ({marks})", chunk
            ):
                out[rid] = orjson.loads(data)
        return out

    def set(self, response_id: int, values: dict[str, Any]) -> None:
        kept = {k: v for k, v in values.items() if v is not None}
        if not kept:
            self.delete(response_id)
            return
        self._db.execute(
            "INSERT INTO data_user_values (response_id, data) VALUES (?, ?) "
            "ON CONFLICT (response_id) DO UPDATE SET data = excluded.data",
            (response_id, orjson.dumps(kept)),
        )

    def delete(self, response_id: int) -> None:
        self._db.execute("DELETE FROM data_user_values WHERE response_id = ?", (response_id,))

    def reset(self) -> None:
        self._db.executescript("BEGIN; DELETE FROM data_user_variables; DELETE FROM data_user_values; COMMIT;")
