"""`loadtest replay` end to end: record a small run, replay it over real HTTP on 127.0.0.1 against
the same surveys (identical) and against a platform whose screener was edited (exactly the
respondents who gave the changed answers diverge, at the step where they gave them)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.e2e.test_run import SMOKE, loadtest, scenario_variant
from tests.helpers import STORE_VISIT, no_speeder, running_mock, survey_variant

# The edit: "No" (50002) no longer screens out; "Prefer not to say" (50014) does instead.
SCREENER_EDIT = {
    '{ id = 50002, text = "No", terminate = true }': '{ id = 50002, text = "No" }',
    '{ id = 50014, text = "Prefer not to say" }': '{ id = 50014, text = "Prefer not to say", terminate = true }',
}
CHANGED_ANSWERS = {("u_10001", "50002"), ("u_10002", "50014")}


def gives_a_changed_answer(body: str) -> bool:
    form = orjson.loads(body)
    return isinstance(form, dict) and any(form.get(key) == value for key, value in CHANGED_ANSWERS)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """30 respondents of every smoke persona, no think time, against a survey without the speeder
    rule (so fast walks complete); returns (the recording, that survey file)."""
    tmp = tmp_path_factory.mktemp("recorded")
    survey = no_speeder(tmp)
    scenario = scenario_variant(tmp, SMOKE, survey=survey, **{'name = "smoke"': 'name = "replay"\nthink_scale = 0.0'})
    rec = tmp / "rec.jsonl"
    out = loadtest("run", str(scenario), "--respondents", "30", "--record", str(rec), "--reports", str(tmp / "r"))
    assert out.returncode in (0, 3), out.stdout + out.stderr  # 3: speeders are not terminated without the rule
    return rec, survey


def requests_of(rec: Path) -> list[dict[str, Any]]:
    return [doc for doc in map(orjson.loads, rec.read_bytes().splitlines()) if "respondent" in doc]


def test_replay_against_the_same_surveys_is_identical(recording: tuple[Path, Path], tmp_path: Path) -> None:
    rec, _ = recording
    lines = requests_of(rec)
    header = orjson.loads(rec.read_bytes().splitlines()[0])
    assert header["recording"] == "loadtest" and {s["id"] for s in header["surveys"]} == {100001, 200002}
    out = loadtest("replay", str(rec), "--report", str(tmp_path / "rep"), timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "replay: 30 respondents replayed, 30 identical, 0 diverged" in out.stdout
    report = orjson.loads((tmp_path / "rep" / "replay.json").read_bytes())
    assert (report["respondents"], report["identical"], report["diverged"], report["divergences"]) == (30, 30, 0, [])
    # What made it worth replaying: a redirect followed, a returner, going back, a password, a validation error.
    steps = {x["step"] for x in lines}
    statuses = {orjson.loads(x["reply"]["body"])["response"].get("status") for x in lines
                if x["step"] != "redirect" and x["reply"]["status"] == 200}
    assert {"redirect", "previous-page"} <= steps
    assert {"already_completed", "authentication_required", "validation_errors", "terminated"} <= statuses


def test_replay_against_an_edited_screener_diverges_exactly_where_the_changed_answers_were_given(
        recording: tuple[Path, Path], tmp_path: Path) -> None:
    rec, survey = recording
    lines = requests_of(rec)
    # Expected from the recording itself: who submitted one of the answers whose terminate flag changed.
    first_hit: dict[int, int] = {}
    steps_of: dict[int, int] = {}
    for x in lines:
        n = steps_of[x["respondent"]] = steps_of.get(x["respondent"], 0) + 1
        if x["step"] == "submit-page" and gives_a_changed_answer(x["body"]):
            first_hit.setdefault(x["respondent"], n)
    assert 0 < len(first_hit) < len(steps_of), first_hit  # a real subset: some cross the screener edit, some not
    persona = {x["respondent"]: x["persona"] for x in lines}

    edited = survey_variant(survey, tmp_path, **SCREENER_EDIT)
    secret = "sk-test-" + secrets.token_hex(12)
    env = {"LOADTEST_API_KEY": secret}
    with running_mock(edited, STORE_VISIT, db=tmp_path / "p.db", env=env) as platform:
        out = loadtest("replay", str(rec), "--target", platform.url, "--report", str(tmp_path / "rep"),
                       env=env, timeout=60)
    assert out.returncode == 3, out.stdout + out.stderr
    report = orjson.loads((tmp_path / "rep" / "replay.json").read_bytes())
    diverged = {d["index"]: d for d in report["divergences"]}
    assert set(diverged) == set(first_hit)
    assert report["diverged"] == len(first_hit) and report["identical"] == 30 - len(first_hit)
    assert f"30 respondents replayed, {30 - len(first_hit)} identical, {len(first_hit)} diverged" in out.stdout
    for index, d in diverged.items():
        div = d["divergence"]
        assert div["step"] >= first_hit[index] and gives_a_changed_answer(div["body"]), d  # where it gave one
        fields = {f["field"]: (f["recorded"], f["replayed"]) for f in div["fields"]}
        if orjson.loads(div["body"]).get("u_10001") == "50002":
            assert fields["status"] == ("terminated", "success")
            assert fields["terminate_reason"] == ("screener", None)
        # The readable diff names the respondent, the step and the page, and shows both values.
        assert (f"respondent {index} ({persona[index]}, survey 100001, seed {d['seed']}): diverged at step "
                f"{div['step']} of {d['steps_recorded']}, submit-page on page [10001, 10002, 10003]") in out.stdout
    assert "status            recorded terminated  |  replayed success" in out.stdout
    assert secret not in out.stdout + out.stderr + (tmp_path / "rep" / "replay.json").read_text()


def test_each_replay_needs_fresh_transaction_ids_on_a_platform_that_remembers(recording: tuple[Path, Path],
                                                                              tmp_path: Path) -> None:
    rec, survey = recording
    finished = {x["respondent"] for x in requests_of(rec) if x["step"] != "redirect" and x["reply"]["status"] == 200
                and orjson.loads(x["reply"]["body"])["response"]["status"] in ("survey_complete", "terminated")}
    env = {"LOADTEST_API_KEY": "sk-test-" + secrets.token_hex(12)}
    with running_mock(survey, STORE_VISIT, db=tmp_path / "p.db", env=env) as platform:
        def replay(suffix: str) -> tuple[int, dict[str, Any]]:
            out = loadtest("replay", str(rec), "--target", platform.url, "--suffix", suffix,
                           "--report", str(tmp_path / suffix), env=env, timeout=60)
            assert f"transaction ids T -> T-{suffix}" in out.stdout, out.stdout + out.stderr
            return out.returncode, orjson.loads((tmp_path / suffix / "replay.json").read_bytes())

        assert replay("first")[0] == 0
        assert replay("second")[0] == 0  # same platform, its state kept: fresh ids, so identical again
        code, again = replay("first")  # ids the platform has seen finish
    assert code == 3
    diverged = {d["index"]: d["divergence"] for d in again["divergences"]}
    assert finished and finished <= set(diverged)
    for d in diverged.values():
        assert d["step"] == 1 and d["request"] == "take"
        status = d["fields"][0]
        assert status["field"] == "status" and status["replayed"] == "already_completed", d

def test_bad_recordings_exit_2_with_one_line_naming_the_file_and_line(recording: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
    rec, _ = recording
    missing = tmp_path / "nope.jsonl"
    out = loadtest("replay", str(missing), timeout=60)
    assert out.returncode == 2 and out.stderr.strip() == (
        f"{missing}: expected a readable recording file (No such file or directory)")

    garbled = tmp_path / "garbled.jsonl"
    raw = rec.read_bytes().splitlines()
    garbled.write_bytes(b"\n".join([*raw[:4], raw[4][: len(raw[4]) // 2], *raw[5:]]) + b"\n")
    out = loadtest("replay", str(garbled), timeout=60)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith(f"{garbled}:5: expected a JSON object (got not JSON:"), out.stderr

    headless = tmp_path / "headless.jsonl"
    headless.write_bytes(b"\n".join(raw[1:]) + b"\n")  # as recorded before the header existed
    out = loadtest("replay", str(headless), timeout=60)
    assert out.returncode == 2 and out.stderr.strip() == (
        f"{headless}: expected a header line naming the surveys (this recording has none); "
        "pass --survey FILE for each survey, or --target URL")
