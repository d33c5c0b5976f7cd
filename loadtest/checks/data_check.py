"""Check what the platform stored against what respondents submitted. Pure: lists in, report out.

Inputs: respondents.jsonl lines (dicts with `index`, `persona`, `survey_id`, `transaction_id`,
`outcome` and `answers`, the last form each respondent submitted for every page on its final
path) and the stored records read back from the respondent data API (seed 004), as
(survey id, record) pairs. A record's `status` is Forsta's ("complete" for a completed response),
its answer variables are form keys (`u_`, `m_`, `t_`, `r_`, `s_`, `dt_day_`/`dt_month_`/`dt_year_`
followed by digits); other variables (respid, interview times, user variables) are not compared.

Rules:

* Every respondent that completed (outcome `survey_complete`, or that status on its way, as a
  returner's) has exactly one record with status complete
  and the same survey and transaction id. None: `missing`. More than one: each one past the
  first is `extra`.
* A complete record whose survey + transaction id belongs to this run (some respondent of the
  run had it) but whose respondents did not complete is `extra`, unless that respondent was cut
  off by the end of the run (`incomplete`) or gave up while a lost request's fate was unknown
  (core/flow.py recoveries): then it is `unconfirmed`, counted but not a problem (the request
  did land; the client just never heard). Records of other transactions
  are not this run's and are left alone, except that with `run_prefix` (the prefix every
  transaction id of the run starts with) a complete record of the run that no respondent line
  has is `unaccounted`: listed, not a problem here (a Locust worker lost with its last
  respondents leaves them; the run fails for the lost worker unless the scenario allows it).
* The record's answer variables equal the respondent's submitted answers, compared after
  normalising both sides as the platform's page validation stores a form: a blank value (None,
  "", only whitespace, an empty list) is no answer, so it is dropped; the text of an "other"
  choice counts only while that choice is chosen (a submitted `t_{id}` whose id is neither a `u_`
  value nor in an `m_` list is dropped when `other_ids` names it, as the page drops it; without
  `other_ids` every `t_` is kept, which is right for the built-in answerer since it sends other
  text only with its choice; a stored one is always compared);
  scalars compare as text (a stored 4 equals a submitted "4"); a multi-choice list compares as a
  set (order of selection is not data). Each differing variable is one mismatch; `mismatched`
  counts respondents with at least one.

Going back is already in the input: the flow keeps only the last form of each page on the final
path, so an answer changed after going back must be stored as changed, and the answers of a
page that dropped off the path must not be stored at all.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from typing import Any

__all__ = ["ANSWER_VARIABLE", "MAX_LISTED", "check_data", "normalise"]

ANSWER_VARIABLE = re.compile(r"(?:[umtrs]|dt_day|dt_month|dt_year)_\d+")
COMPLETE = "survey_complete"
MAX_LISTED = 50


def _blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalise(answers: Mapping[str, Any], other_ids: Collection[str] = ()) -> dict[str, Any]:
    """Answer variables only, blanks dropped, unchosen "other" texts dropped, lists as sorted tuples."""
    out: dict[str, Any] = {}
    for key, value in answers.items():
        if not ANSWER_VARIABLE.fullmatch(key) or _blank(value):
            continue
        out[key] = tuple(sorted(_scalar(v) for v in value)) if isinstance(value, list) else _scalar(value)
    if other_ids:
        chosen: set[str] = set()
        for key, value in out.items():
            if key.startswith("u_"):
                chosen.add(value)
            elif key.startswith("m_"):
                chosen.update(value)
        for key in [k for k in out if k.startswith("t_")]:
            aid = key[2:]
            if aid in other_ids and aid not in chosen:
                del out[key]
    return out


def _shown(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def check_data(
    respondents: Iterable[Mapping[str, Any]],
    records: Iterable[tuple[int, Mapping[str, Any]]],
    other_ids: Collection[str] = (),
    run_prefix: str | None = None,
) -> dict[str, Any]:
    """The `data_check` section of summary.json (see the module docstring)."""
    run_keys: set[tuple[int, str]] = set()
    unsettled: set[tuple[int, str]] = set()  # gave up while not knowing whether a request landed
    completed: dict[tuple[int, str], list[Mapping[str, Any]]] = defaultdict(list)
    for r in respondents:
        txn = r.get("transaction_id")
        if not txn:
            continue
        key = (int(r["survey_id"]), str(txn))
        run_keys.add(key)
        # A returner completes, then comes back and is told already_completed: it completed.
        if r.get("outcome") == COMPLETE or COMPLETE in (r.get("statuses") or ()):
            completed[key].append(r)
        elif _unsettled(r):
            unsettled.add(key)
    stored: dict[tuple[int, str], list[Mapping[str, Any]]] = defaultdict(list)
    records_read = 0
    for survey_id, record in records:
        records_read += 1
        txn = record.get("transaction_id")
        if record.get("status") == "complete" and txn:
            stored[(int(survey_id), str(txn))].append(record)
    missing: list[dict[str, Any]] = []
    extra: list[dict[str, Any]] = []
    mismatches: list[dict[str, Any]] = []
    mismatched = 0
    checked = 0
    for key, people in sorted(completed.items()):
        found = sorted(stored.get(key, []), key=lambda rec: rec.get("respid") or 0)
        for person in people:
            checked += 1
            if not found:
                missing.append({"respondent": person.get("index"), "persona": person.get("persona"),
                                "survey_id": key[0], "transaction_id": key[1]})
                continue
            record = found.pop(0)
            differences = _differences(person, record, other_ids)
            if differences:
                mismatched += 1
                mismatches.extend(differences)
        extra.extend(_extra(key, rec) for rec in found)
    unconfirmed = 0
    for key, recs in sorted(stored.items()):
        if key in unsettled and key not in completed:
            unconfirmed += len(recs)  # its last request did land and completed it: not extra
        elif key in run_keys and key not in completed:
            extra.extend(_extra(key, rec) for rec in recs)
    unaccounted = [_extra(key, rec) for key, recs in sorted(stored.items())
                   if run_prefix and key not in run_keys and key[1].startswith(run_prefix + "-") for rec in recs]
    return {
        "passed": not (missing or extra or mismatched),
        "respondents_checked": checked,
        "records_read": records_read,
        "unconfirmed": unconfirmed,
        **({"unaccounted": len(unaccounted), "unaccounted_records": unaccounted[:MAX_LISTED]} if run_prefix else {}),
        "problems": {"missing": len(missing), "extra": len(extra), "mismatched": mismatched},
        "mismatches": mismatches[:MAX_LISTED],
        "missing_respondents": missing[:MAX_LISTED],
        "extra_records": extra[:MAX_LISTED],
    }


def _unsettled(r: Mapping[str, Any]) -> bool:
    """A respondent whose last request's fate is unknown: cut off by the end of the run while it
    may have been waiting for a reply (`incomplete`), or failed while a lost reply's recovery was
    still pending."""
    if r.get("outcome") == "incomplete":
        return True
    recoveries = r.get("recoveries") or []
    return (r.get("outcome") == "failed" and bool(recoveries)
            and recoveries[-1].get("how") in ("pending", "resume_lost", "gave_up"))


def _extra(key: tuple[int, str], record: Mapping[str, Any]) -> dict[str, Any]:
    return {"respid": record.get("respid"), "survey_id": key[0], "transaction_id": key[1]}


def _differences(person: Mapping[str, Any], record: Mapping[str, Any], other_ids: Collection[str]
                 ) -> list[dict[str, Any]]:
    submitted = normalise(person.get("answers") or {}, other_ids)
    held = normalise(record)  # an unchosen other text the platform kept is a mismatch
    out = []
    for variable in sorted(submitted.keys() | held.keys()):
        if submitted.get(variable) != held.get(variable):
            out.append({"respondent": person.get("index"), "persona": person.get("persona"),
                        "transaction_id": person.get("transaction_id"), "variable": variable,
                        "submitted": _shown(submitted.get(variable)), "stored": _shown(held.get(variable))})
    return out
