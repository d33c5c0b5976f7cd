"""Writes of the respondent data API (seed 004): add (POST), update (PUT), merge (PATCH), delete.

Payload: `{"dataSchema": {"keys": [...], "variables": [...]}, "data": [record, ...]}`. Records
have the shape GET returns; read-only system variables in them (respid, responseid, ...) are
ignored unless named as keys.

    POST    schema optional. Without one every datapoint is written. With `keys`, a record whose
            key already exists is skipped ("KeyValue already exists."); with `variables`, only
            keys + variables are written. -> {"insertedRecords", "insertedIds"}
    PUT     schema with keys and variables required; the variables of the one matching row are
            updated, a record with no match is skipped ("KeyValue could not be found.").
            -> {"updatedRecords"}
    PATCH   as PUT, but a record with no match is added (keys + variables). -> {"insertedRecords",
            "insertedIds", "updatedRecords"}
    DELETE  schema with keys required. -> {"deletedRecords"}

Skipped records are listed in `validationMessages` of the 200. All or nothing otherwise: one
invalid datapoint or key anywhere and the reply is a 400 `{"message": "Change survey data
operation is aborted. No data was changed.", "validationMessages": ...}` with nothing written; a
key that matches several rows is a 400 shaped as the seed's ({"deletedRecords": 0, ...}).

Answer variables are validated as the survey's page validates them (validation.validate_page) on
the question they belong to, merged with what that question already holds, so a message is the
page's own wording ("This question requires an answer.", "'9' is not one of this question's
answers.", ...); `fields` lists the record's variables of that question and `value` is the value
(an object of them when there are several). A page newly answered joins the respondent's path.
Writing `status` (complete | screened | quotafull | incomplete) counts nothing in quotas.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loadtest.platform.forsta.records import (
    PLATFORM_STATUS,
    SYSTEM_VARIABLES,
    WRITABLE_SYSTEM,
    Slot,
    blank,
    question_keys,
    record_of,
)
from loadtest.platform.forsta.user_vars import UserVariables
from loadtest.platform.response_row import AlreadyFinished, ResponseRow
from loadtest.platform.rules.validation import validate_page
from loadtest.platform.storage import Store
from loadtest.survey.model import Page, Survey

if TYPE_CHECKING:
    from loadtest.platform.questionpro.sessions import Sessions

__all__ = ["ABORTED", "DataWrites"]

ABORTED = "Change survey data operation is aborted. No data was changed."
EXISTS, NOT_FOUND, NOT_UNIQUE = "KeyValue already exists.", "KeyValue could not be found.", "KeyValue is not unique."
READ_ONLY = frozenset(SYSTEM_VARIABLES) - WRITABLE_SYSTEM
COUNTERS = {"POST": ("insertedRecords", "insertedIds"), "PUT": ("updatedRecords",),
            "PATCH": ("insertedRecords", "insertedIds", "updatedRecords"), "DELETE": ("deletedRecords",)}

Message = dict[str, Any]


def _message(field: str | list[str], message: str, value: Any) -> Message:
    fields = [field] if isinstance(field, str) else field
    return {"fields": fields, "message": message, "value": value, "severity": "Error"}


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return tuple(_norm(v) for v in value)
    return str(value)


class _Plan:
    """What one request will write, built before anything is: rows by id (new ones negative)."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[ResponseRow, dict[str, Any]]] = {}
        self.new: list[int] = []
        self.updated: list[int] = []
        self.deleted: list[int] = []
        self.fatal: dict[int, list[Message]] = {}
        self.notices: dict[int, list[Message]] = {}
        self.not_unique = False


class DataWrites:
    def __init__(self, surveys: dict[int, Survey], store: Store, users: UserVariables, sessions: Sessions,
                 slots: dict[int, dict[str, Slot]], clock: Callable[[], float]) -> None:
        self.surveys, self.store, self.users, self.sessions = surveys, store, users, sessions
        self.slots, self.clock = slots, clock

    def run(self, method: str, survey: Survey, payload: Any) -> tuple[int, dict[str, Any]]:
        declared = self.users.declared(survey.id)
        known = {*SYSTEM_VARIABLES, *self.slots[survey.id], *declared}
        parsed = _schema(method, payload, known)
        if isinstance(parsed, str):
            return 400, {"message": parsed}
        keys, variables, data = parsed
        plan = _Plan()
        index = _KeyIndex(self, survey, keys) if keys else None
        for number, record in enumerate(data, 1):
            if not isinstance(record, dict):
                plan.fatal.setdefault(number, []).append(_message([], "Expected a JSON object.", record))
                continue
            self._plan_record(method, survey, declared, plan, number, record, keys, variables, index)
        if plan.fatal:
            levels = _levels(plan.fatal)
            if any(m["message"] != NOT_UNIQUE for ms in plan.fatal.values() for m in ms):
                return 400, {"message": ABORTED, "validationMessages": levels}
            zeros: dict[str, Any] = {c: ([] if c == "insertedIds" else 0) for c in COUNTERS[method]}
            return 400, {**zeros, "validationMessages": levels}
        try:
            ids = self._apply(plan)
        except AlreadyFinished as exc:  # the whole request was rolled back
            return 400, {"message": f"{ABORTED} transaction_id {exc.transaction_id!r} already has a finished "
                                    "response in this survey."}
        out: dict[str, Any] = {}
        for counter in COUNTERS[method]:
            out[counter] = {"insertedRecords": len(ids), "insertedIds": ids, "updatedRecords": len(plan.updated),
                            "deletedRecords": len(plan.deleted)}[counter]
        if plan.notices:
            out["validationMessages"] = _levels(plan.notices)
        return 200, out

    # --- planning -----------------------------------------------------------------------------
    def _plan_record(self, method: str, survey: Survey, declared: dict[str, Any], plan: _Plan, number: int,
                     record: dict[str, Any], keys: list[str], variables: list[str] | None,
                     index: _KeyIndex | None) -> None:
        matches: list[int] = []
        if index is not None:
            key_values = index.values_of(record, number, plan)
            if key_values is None:
                return
            matches = index.find(key_values)
            if len(matches) > 1 and method != "POST":
                plan.not_unique = True
                given = record.get(keys[0]) if len(keys) == 1 else [record.get(k) for k in keys]
                plan.fatal.setdefault(number, []).append(_message(keys, NOT_UNIQUE, given))
                return
        shown_key = (record.get(keys[0]) if len(keys) == 1 else [record.get(k) for k in keys]) if keys else None
        if method == "POST" and matches:
            plan.notices.setdefault(number, []).append(_message(keys, EXISTS, shown_key))
            return
        if method in ("PUT", "DELETE") and not matches:
            plan.notices.setdefault(number, []).append(_message(keys, NOT_FOUND, shown_key))
            return
        if method == "DELETE":
            rid = matches[0]
            assert index is not None
            index.forget(rid)
            if rid not in plan.deleted:
                plan.deleted.append(rid)
            return
        if matches:  # PUT or PATCH: update the one match
            rid = matches[0]
            row, users = plan.rows.get(rid) or self._load(rid)
            points = {k: record[k] for k in (variables or ()) if k in record}
            if rid > 0 and rid not in plan.updated:
                plan.updated.append(rid)
        else:  # POST, or PATCH with a new key
            if index is not None and index.keys == ["respid"]:
                plan.notices.setdefault(number, []).append(_message(keys, NOT_FOUND, shown_key))
                return
            rid = -(len(plan.new) + 1)
            row, users = self._new_row(survey), {}
            plan.new.append(rid)
            chosen = None if variables is None else [*keys, *variables]
            points = {k: v for k, v in record.items() if chosen is None or k in chosen}
        plan.rows[rid] = (row, users)
        errors = self._apply_points(survey, declared, row, users, points)
        if errors:
            plan.fatal.setdefault(number, []).extend(errors)
        elif index is not None and rid < 0:
            index.add(rid, record)

    def _load(self, rid: int) -> tuple[ResponseRow, dict[str, Any]]:
        row = self.store.load(rid)
        assert row is not None
        return row, dict(self.users.values([rid]).get(rid, {}))

    def _new_row(self, survey: Survey) -> ResponseRow:
        now = self.clock()
        return ResponseRow(
            id=0, uuid=uuid.uuid4().hex, survey_id=survey.id, transaction_id=None,
            language=None if survey.multilingual else survey.languages[0], authenticated=survey.password is None,
            status="in_progress", reason=None, started_at=now, updated_at=now, finished_at=None,
            page=survey.pages[0].id, path=[], answers={}, page_times={}, submitted=True,
        )

    def _apply_points(self, survey: Survey, declared: dict[str, Any], row: ResponseRow, users: dict[str, Any],
                      points: dict[str, Any]) -> list[Message]:
        errors: list[Message] = []
        slots = self.slots[survey.id]
        by_question: dict[int, tuple[Slot, dict[str, Any]]] = {}
        for name, value in points.items():
            if name in READ_ONLY:
                continue
            if name == "status":
                if value not in PLATFORM_STATUS:
                    errors.append(_message(name, "Invalid Status.", value))
                    continue
                row.status, row.reason = PLATFORM_STATUS[value], None
                row.finished_at = None if value == "incomplete" else (row.finished_at or self.clock())
            elif name == "transaction_id":
                if not blank(value) and not isinstance(value, str):
                    errors.append(_message(name, "Invalid Text.", value))
                    continue
                row.transaction_id = value or None
            elif name == "language":
                if not blank(value) and value not in survey.languages:
                    errors.append(_message(name, "Invalid Language.", value))
                    continue
                row.language = value or None
            elif name in slots:
                slot = slots[name]
                by_question.setdefault(slot.question.id, (slot, {}))[1][name] = value
            elif name in declared:
                stored, problem = declared[name].coerce(value)
                if problem:
                    errors.append(_message(name, problem, value))
                    continue
                users[name] = stored
            else:
                errors.append(_message(name, "Unknown variable.", value))
        for slot, given in by_question.values():
            problem = _answer(survey, row, slot, given)
            if problem:
                errors.append(_message(list(given), problem, next(iter(given.values())) if len(given) == 1 else given))
        row.updated_at = self.clock()
        return errors

    # --- writing ------------------------------------------------------------------------------
    def _apply(self, plan: _Plan) -> list[int]:
        ids: list[int] = []
        with self.store.transaction():
            for rid in plan.new:
                row, users = plan.rows[rid]
                ids.append(self.store.create(row))
                self.users.set(row.id, users)
            for rid in plan.updated:
                row, users = plan.rows[rid]
                self.store.save(row)
                self.users.set(rid, users)
            for rid in plan.deleted:
                stored = self.store.load(rid)
                assert stored is not None
                self.store.delete(stored)
                self.users.delete(rid)
                plan.rows[rid] = (stored, {})
        for rid in (*plan.updated, *plan.deleted):
            self.sessions.forget(plan.rows[rid][0])  # a live respondent is rebuilt from the database
        return ids


def _answer(survey: Survey, row: ResponseRow, slot: Slot, given: dict[str, Any]) -> str | None:
    """Validate one question's new datapoints as its page would; store them if they pass."""
    q, page_id = slot.question, slot.page.id
    keys = question_keys(q)
    form = {k: v for k, v in row.answers.get(page_id, {}).items() if k in keys}
    for k, v in given.items():
        if v is None:
            form.pop(k, None)
        else:
            form[k] = v
    values, errors = validate_page(Page(id=page_id, questions=(q,)), form)
    if errors:
        return str(errors[0]["message"])
    page_answers = row.answers.setdefault(page_id, {})
    for k in keys:
        page_answers.pop(k, None)
    page_answers.update(values)
    if page_answers and page_id not in row.path:
        order = [p.id for p in survey.pages]
        row.path.append(page_id)
        row.path.sort(key=order.index)
    return None


class _KeyIndex:
    """Existing rows by their key values (`respid` alone is looked up directly)."""

    def __init__(self, writes: DataWrites, survey: Survey, keys: list[str]) -> None:
        self.writes, self.survey, self.keys = writes, survey, keys
        self._index: dict[tuple[Any, ...], list[int]] | None = None
        self._gone: set[int] = set()  # rows this request deletes

    def values_of(self, record: dict[str, Any], number: int, plan: _Plan) -> tuple[Any, ...] | None:
        out = []
        for key in self.keys:
            value = record.get(key)
            if blank(value):
                plan.fatal.setdefault(number, []).append(_message(key, "KeyValue is missing.", value))
                return None
            if key == "respid" and (isinstance(value, bool) or not str(value).isdecimal() or len(str(value)) > 18):
                plan.fatal.setdefault(number, []).append(_message(key, "Invalid Numeric.", value))
                return None
            out.append(_norm(value))
        return tuple(out)

    def find(self, values: tuple[Any, ...]) -> list[int]:
        if self.keys == ["respid"]:
            row = self.writes.store.load(int(values[0]))
            found = [row.id] if row is not None and row.survey_id == self.survey.id else []
        else:
            found = self._built().get(values, [])
        return [rid for rid in found if rid not in self._gone]

    def add(self, rid: int, record: dict[str, Any]) -> None:
        if self.keys != ["respid"]:
            self._built().setdefault(tuple(_norm(record.get(k)) for k in self.keys), []).append(rid)

    def forget(self, rid: int) -> None:
        self._gone.add(rid)

    def _built(self) -> dict[tuple[Any, ...], list[int]]:
        if self._index is None:
            index: dict[tuple[Any, ...], list[int]] = {}
            rows = list(self.writes.store.responses(self.survey.id))
            users = self.writes.users.values(r.id for r in rows)
            for row in rows:
                record = record_of(row, users.get(row.id))
                if all(not blank(record.get(k)) for k in self.keys):
                    index.setdefault(tuple(_norm(record[k]) for k in self.keys), []).append(row.id)
            self._index = index
        return self._index


def _levels(messages: dict[int, list[Message]]) -> dict[str, Any]:
    rows = [{"rowNumber": n, "messages": ms} for n, ms in sorted(messages.items())]
    return {"level": "respondent", "rowResults": rows}


def _schema(method: str, payload: Any, known: set[str]) -> tuple[list[str], list[str] | None, list[Any]] | str:
    """(keys, variables or None for all, data) from the payload, or what is wrong with it."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        return "Expected a JSON object with a data array of records."
    schema = payload.get("dataSchema")
    if schema is None and method != "POST":
        return f"dataSchema is required for {method}."
    if schema is None:
        return [], None, payload["data"]
    if not isinstance(schema, dict):
        return "dataSchema: expected an object with keys and variables."
    keys, variables = schema.get("keys", []), schema.get("variables")
    for name, value in (("keys", keys), ("variables", variables or [])):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"dataSchema.{name}: expected a list of variable names."
        unknown = [v for v in value if v not in known]
        if unknown:
            return f"dataSchema.{name}: unknown variable(s) {', '.join(unknown)}."
    if method != "POST" and not keys:
        return f"dataSchema.keys is required for {method}."
    if method in ("PUT", "PATCH") and not variables:
        return f"dataSchema.variables is required for {method}."
    read_only = [v for v in variables or [] if v in READ_ONLY]
    if read_only:
        return f"dataSchema.variables: {', '.join(read_only)} cannot be written."
    return keys, variables, payload["data"]
