"""data_check: respondents.jsonl lines against stored records, no I/O."""

from __future__ import annotations

from typing import Any

from loadtest.checks.data_check import MAX_LISTED, check_data, normalise

SID = 100001
FORM = {"u_10001": "50001", "m_10005": ["50031", "50033"], "t_50081": "Faster delivery", "dt_day_10003": "29",
        "dt_month_10003": "2", "dt_year_10003": "1984", "r_50061": "1", "s_50071": "100"}


def person(index: int, outcome: str = "survey_complete", answers: dict[str, Any] | None = None,
           txn: str | None = None) -> dict[str, Any]:
    return {"index": index, "persona": "completer", "survey_id": SID, "transaction_id": txn or f"T-{index}",
            "outcome": outcome, "answers": dict(FORM) if answers is None else answers}


def record(respid: int, txn: str, answers: dict[str, Any] | None = None, status: str = "complete") -> tuple[int, dict]:
    return SID, {"respid": respid, "responseid": f"uuid-{respid}", "status": status, "transaction_id": txn,
                 "interview_start": "2026-01-01T00:00:00.000Z", "email": "x@example.com",
                 **(dict(FORM) if answers is None else answers)}


def test_a_matching_run_passes() -> None:
    out = check_data([person(0), person(1), person(2, "terminated")], [record(1, "T-0"), record(2, "T-1")])
    assert out == {"passed": True, "respondents_checked": 2, "records_read": 2, "unconfirmed": 0,
                   "problems": {"missing": 0, "extra": 0, "mismatched": 0}, "mismatches": [],
                   "missing_respondents": [], "extra_records": []}


def test_a_completed_respondent_without_a_record_is_missing() -> None:
    out = check_data([person(0), person(1)], [record(1, "T-0"), record(2, "T-1", status="incomplete")])
    assert not out["passed"] and out["problems"] == {"missing": 1, "extra": 0, "mismatched": 0}
    assert out["missing_respondents"] == [{"respondent": 1, "persona": "completer", "survey_id": SID,
                                           "transaction_id": "T-1"}]
    assert out["records_read"] == 2


def test_a_complete_record_nobody_completed_and_a_second_record_are_extra() -> None:
    records = [record(1, "T-0"), record(2, "T-0"), record(3, "T-1"), record(4, "someone-else")]
    out = check_data([person(0), person(1, "quota_full")], records)
    assert out["problems"] == {"missing": 0, "extra": 2, "mismatched": 0} and not out["passed"]
    assert sorted(e["respid"] for e in out["extra_records"]) == [2, 3]  # a record of another run is left alone


def test_a_changed_answer_is_a_mismatch_naming_the_variable() -> None:
    stored = {**FORM, "u_10001": "50002"}
    out = check_data([person(0)], [record(7, "T-0", stored)])
    assert out["problems"]["mismatched"] == 1
    assert out["mismatches"] == [{"respondent": 0, "persona": "completer", "transaction_id": "T-0",
                                  "variable": "u_10001", "submitted": "50001", "stored": "50002"}]


def test_after_going_back_the_last_form_is_what_must_be_stored() -> None:
    # the respondent chose "other" first, went back and chose a plain answer; the flow keeps the
    # last form, so a platform that kept the first answer (and its other text) is caught
    last = {**FORM, "u_10004": "50021"}
    stale = {**FORM, "u_10004": "50025", "t_50025": "It depends"}
    out = check_data([person(0, answers=last)], [record(1, "T-0", stale)])
    assert [(m["variable"], m["submitted"], m["stored"]) for m in out["mismatches"]] == [
        ("t_50025", None, "It depends"), ("u_10004", "50021", "50025")]
    assert out["problems"]["mismatched"] == 1
    # a page that left the path after going back must not be stored either
    dropped_page = check_data([person(0)], [record(1, "T-0", {**FORM, "t_50051": "4"})])
    assert dropped_page["mismatches"][0]["variable"] == "t_50051"
    assert check_data([person(0, answers=last)], [record(1, "T-0", last)])["passed"]


def test_a_missing_answer_is_a_mismatch() -> None:
    stored = {k: v for k, v in FORM.items() if k != "r_50061"}
    out = check_data([person(0)], [record(1, "T-0", stored)])
    assert out["mismatches"][0] == {"respondent": 0, "persona": "completer", "transaction_id": "T-0",
                                    "variable": "r_50061", "submitted": "1", "stored": None}


def test_normalisation_blanks_order_types_and_unchosen_other_text() -> None:
    sent = {"u_10004": "50021", "t_50025": "left over", "t_50091": "  ", "m_10005": ["50033", "50031"],
            "u_60001": "", "t_50081": "Faster delivery", "password": "secret", "language": "en"}
    held = {"u_10004": 50021, "m_10005": ["50031", "50033"], "t_50081": "Faster delivery", "respid": 3}
    assert normalise(sent, other_ids={"50025"}) == normalise(held)
    assert "t_50025" in normalise(sent)  # without other_ids every t_ counts
    assert normalise({"u_10004": "50025", "t_50025": "kept"}, other_ids={"50025"}) == {"u_10004": "50025",
                                                                                        "t_50025": "kept"}
    out = check_data([person(0, answers=sent)], [record(1, "T-0", held)], other_ids={"50025"})
    assert out["passed"], out
    strict = check_data([person(0, answers=sent)], [record(1, "T-0", held)])
    assert [m["variable"] for m in strict["mismatches"]] == ["t_50025"]


def test_surveys_are_told_apart_and_the_listing_is_capped() -> None:
    people = [person(i) for i in range(60)]
    out = check_data(people, [(SID + 1, record(i + 1, f"T-{i}")[1]) for i in range(60)])
    assert out["problems"]["missing"] == 60 and len(out["missing_respondents"]) == MAX_LISTED
    wrong = [record(i + 1, f"T-{i}", {**FORM, "u_10001": "x", "s_50071": "1"}) for i in range(60)]
    many = check_data(people, wrong)
    assert many["problems"]["mismatched"] == 60 and len(many["mismatches"]) == MAX_LISTED


def test_a_respondent_that_gave_up_not_knowing_if_its_last_submit_landed_is_unconfirmed_not_extra() -> None:
    gave_up = {"index": 3, "persona": "completer", "survey_id": 1, "transaction_id": "T-3", "outcome": "failed",
               "statuses": ["success"], "answers": {"u_1": "11"},
               "recoveries": [{"lost": "submit-page", "error": "InjectedFault", "how": "resume_lost"}]}
    out = check_data([gave_up], [(1, {"respid": 9, "status": "complete", "transaction_id": "T-3", "u_1": "11"})])
    assert out["passed"] and out["unconfirmed"] == 1 and out["problems"]["extra"] == 0
    settled = {**gave_up, "recoveries": [{"lost": "submit-page", "error": "TransportError", "how": "resumed"}]}
    out = check_data([settled], [(1, {"respid": 9, "status": "complete", "transaction_id": "T-3", "u_1": "11"})])
    assert not out["passed"] and out["problems"]["extra"] == 1


def test_a_respondent_cut_off_by_the_end_of_the_run_whose_last_submit_completed_it_is_unconfirmed() -> None:
    cut_off = {"index": 4, "persona": "completer", "survey_id": 1, "transaction_id": "T-4", "outcome": "incomplete",
               "statuses": ["success"], "answers": {"u_1": "11"}, "recoveries": []}
    out = check_data([cut_off], [(1, {"respid": 7, "status": "complete", "transaction_id": "T-4", "u_1": "11"})])
    assert out["passed"] and out["unconfirmed"] == 1
