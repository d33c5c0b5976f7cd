"""Scenario files (TOML): target, surveys, persona mix, load model, thresholds, seed.

A bad scenario fails with one line naming the file, the key and what was expected; a key no table
knows is refused with the closest known one. Paths inside a scenario (surveys, the personas
folder) are relative to the scenario file. Secrets are never in the file: it names the
environment variable that holds the API key.

Survey files describe surveys for the embedded platform and the offline walk (ingestion); a
scenario against a URL needs only the survey id. Personas are found by name: a scenario's
`personas_dir` first, then the built-in scripts installed with the package.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtest.bundled import builtin_personas
from loadtest.core.flow_values import FlowPolicy
from loadtest.core.persona import Persona
from loadtest.core.population import PersonaEntry
from loadtest.core.toml_reader import TomlError, TomlReader
from loadtest.scenario import tables
from loadtest.scenario.http_settings import HTTP_KEYS, HttpSettings, parse_http_settings
from loadtest.scenario.ingest import IngestStep, parse_ingest
from loadtest.scenario.load import LoadModel, parse_load
from loadtest.scenario.persona_loader import PersonaScriptError, load_persona
from loadtest.scenario.tables import DataCheckSettings, PanelSettings, Regression, Thresholds
from loadtest.survey.file import SurveyFileError, load_survey
from loadtest.survey.model import Survey

__all__ = [
    "DataCheckSettings",
    "LoadModel",
    "PanelSettings",
    "Regression",
    "Scenario",
    "ScenarioError",
    "Thresholds",
    "load_scenario",
]


class ScenarioError(TomlError):
    """A scenario that cannot be run; str() is one line: file, key, what was expected."""


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    seed: int
    target: str  # "embedded" or a base URL
    surveys: tuple[Survey, ...]  # may be empty against a URL target: then only survey ids are known
    survey_files: tuple[Path, ...]
    survey_id: int
    api_key_env: str
    follow_redirects: tuple[str, ...]
    request_timeout_s: float
    load: LoadModel
    personas: tuple[PersonaEntry, ...]
    thresholds: Thresholds
    max_requests_per_respondent: int = 200
    policy: FlowPolicy = field(default_factory=FlowPolicy)  # what a respondent puts up with (both drivers)
    http: HttpSettings = field(default_factory=HttpSettings)  # extra headers and TLS for the target
    limits: dict[str, float] = field(default_factory=dict)  # name -> requests per second
    panel: PanelSettings | None = None
    regression: Regression = field(default_factory=Regression)
    data_check: DataCheckSettings = field(default_factory=DataCheckSettings)
    faults: bool = False  # a [faults] table the embedded platform injects (checked here, applied there)
    ingest: tuple[IngestStep, ...] = ()  # [[ingest]] steps, run before the live respondents
    # Every respondent's transaction id starts with it. None in the file: a run makes its own
    # (engine/pipeline.py, the Locust test), so runs never collide on a target that keeps state.
    transaction_prefix: str | None = None


def _policy(head: TomlReader, cap: int) -> FlowPolicy:
    wait = head.number("rate_limit_wait_s", 120.0)
    if wait < 0:
        raise head.fail("rate_limit_wait_s", f"seconds >= 0 (got {wait})")
    return FlowPolicy(max_requests=cap, rate_limit_budget_s=float(wait),
                      strict_extensions=head.bool("check_extensions", False))


_TOP = ("scenario", "load", "limits", "panel", "answers", "personas", "thresholds", "regression", "data_check",
        "faults", "ingest")
_HEAD = ("name", "seed", "target", "surveys", "survey_id", "api_key_env", "follow_redirects", "request_timeout_s",
         "think_scale", "personas_dir", "max_requests_per_respondent", "transaction_prefix",
         "rate_limit_wait_s", "check_extensions", *HTTP_KEYS)


def load_scenario(path: str | Path) -> Scenario:
    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ScenarioError(source, "<file>", f"a readable file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ScenarioError(source, "<file>", "UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, "<file>", f"valid TOML ({exc})") from None
    return _scenario(Path(path), TomlReader(source, data, error=ScenarioError))


def _scenario(path: Path, top: TomlReader) -> Scenario:
    top.only(_TOP)
    head = top.table("scenario", required=True)
    head.only(_HEAD)
    base = path.parent
    target = head.str("target", "embedded")
    if target != "embedded" and not target.startswith(("http://", "https://")):
        raise head.fail("target", f'"embedded" or an http(s) URL (got {target!r})')
    # A URL target needs only the survey id; survey files are for the embedded platform and the offline walk.
    if target == "embedded" and "surveys" not in head.data:
        raise head.fail("surveys", "survey files for the embedded platform to serve (or a URL target, with only "
                        "survey_id)")
    files_raw = head._get("surveys", [])
    if not isinstance(files_raw, list) or not all(isinstance(f, str) for f in files_raw) or (
            target == "embedded" and not files_raw):
        raise head.fail("surveys", "a non-empty array of survey file paths (relative to the scenario)"
                        + (" for the embedded platform to serve" if target == "embedded" else ""))
    files = tuple((base / f).resolve() for f in files_raw)
    surveys = []
    for i, f in enumerate(files):
        try:
            surveys.append(load_survey(f))
        except SurveyFileError as exc:
            raise head.fail(f"surveys[{i}]", f"a valid survey file ({exc})") from None
    ids = [s.id for s in surveys]
    if ids:
        survey_id = head.int("survey_id", ids[0])
        if survey_id not in ids:
            raise head.fail("survey_id", f"one of the surveys' ids {ids} (got {survey_id})")
    elif "survey_id" not in head.data:
        raise head.fail("survey_id", "the id of the survey on the target (no survey file names it)")
    else:
        survey_id = head.int("survey_id", minimum=1)
    follow = head._get("follow_redirects", [])
    if not isinstance(follow, list) or not all(isinstance(h, str) and h for h in follow):
        raise head.fail("follow_redirects", 'an array of host names ("target" means the target\'s host)')
    think_scale = head.number("think_scale", 1.0)
    if think_scale < 0:
        raise head.fail("think_scale", "a number >= 0")
    personas_dir = None
    if "personas_dir" in head.data:
        personas_dir = (base / head.str("personas_dir")).resolve()
        if not personas_dir.is_dir():
            raise head.fail("personas_dir", f"a folder of persona scripts, relative to the scenario (no folder "
                            f"{personas_dir})")
    prefix = head.str("transaction_prefix", None)
    if prefix is not None and (len(prefix) > 40 or not all(c.isascii() and (c.isalnum() or c in "-_.")
                                                            for c in prefix)):
        raise head.fail("transaction_prefix", f"up to 40 letters, digits, '-', '_' or '.' (got {prefix!r})")
    pinned = _answers(top, "answers")
    timeout = head.number("request_timeout_s", 10.0)
    if timeout <= 0:
        raise head.fail("request_timeout_s", "a number > 0")
    return Scenario(
        path=path,
        name=head.str("name", path.stem),
        seed=head.int("seed", 1),
        target=target,
        surveys=tuple(surveys),
        survey_files=files,
        survey_id=survey_id,
        api_key_env=head.str("api_key_env", "LOADTEST_API_KEY"),
        follow_redirects=tuple(follow),
        request_timeout_s=timeout,
        load=(load := parse_load(top.table("load", required=True))),
        personas=(personas := _personas(top, personas_dir, survey_id, ids, pinned, think_scale)),
        thresholds=tables.thresholds(top.table("thresholds"), tuple(st.name for st in load.plan().stages)),
        max_requests_per_respondent=(cap := head.int("max_requests_per_respondent", 200, minimum=1)),
        policy=_policy(head, cap),
        http=parse_http_settings(head, base),
        limits=(limits := tables.limits(top.table("limits"))),
        panel=tables.panel(top, limits) if "panel" in top.data else None,
        regression=tables.regression(top.table("regression")),
        data_check=tables.data_check(top.table("data_check")),
        faults=_faults(top, path),
        ingest=_ingest(top, ids, survey_id, personas, limits),
        transaction_prefix=prefix,
    )


def _ingest(top: TomlReader, ids: list[int], survey_id: int, personas: tuple[PersonaEntry, ...],
            limits: dict[str, float]) -> tuple[IngestStep, ...]:
    if "ingest" in top.data and not ids:
        raise top.fail("ingest", "scenario.surveys as well: an ingest step walks the survey's definition "
                       "offline to answer it, and this scenario names no survey file")
    return parse_ingest(top, ids, survey_id, personas, limits)


def _faults(top: TomlReader, path: Path) -> bool:
    """Whether a [faults] table is there. Its contents are the embedded platform's language, so
    the drivers check them through platform.embedded.check_faults before anything starts."""
    if "faults" not in top.data:
        return False
    top.table("faults")  # a table, at least
    return True


def _answers(r: TomlReader, key: str) -> dict[str, str]:
    raw = r.table(key)
    out = {}
    for qid, value in raw.data.items():
        if not qid.isdecimal() or not isinstance(value, (str, int)) or isinstance(value, bool):
            raise raw.fail(qid, "question id = answer id (e.g. 10001 = \"50001\")")
        out[qid] = str(value)
    return out


_ENTRY_KEYS = {"script", "weight", "survey", "expects", "answers"}


def _persona_class(e: TomlReader, script: str, folder: Path | None) -> type[Persona]:
    """The script named `script`: the scenario's personas_dir first, then the built-in ones."""
    builtin = builtin_personas()
    path = folder / f"{script}.py" if folder is not None else None
    if path is None or not path.is_file():
        path = builtin.get(script)
    if path is None:
        known = sorted({*builtin, *(p.stem for p in folder.glob("*.py"))} if folder else builtin)
        close = difflib.get_close_matches(script, known, n=1)
        where = f"in personas_dir ({folder}) or built in" if folder else "built in (or in a personas_dir)"
        hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(known)}"
        raise e.fail("script", f"a persona script {where}: there is no {script!r} ({hint})")
    try:
        return load_persona(path)
    except PersonaScriptError as exc:
        raise e.fail("script", f"a persona script that loads ({exc})") from None


def _personas(top: TomlReader, folder: Path | None, survey_id: int, ids: list[int], pinned: dict[str, str],
              think_scale: float) -> tuple[PersonaEntry, ...]:
    table = top.table("personas", required=True)
    if not table.data:
        raise top.fail("personas", "at least one [personas.NAME] table")
    entries = []
    for name in table.data:
        e = table.table(name)
        cls = _persona_class(e, e.str("script", name), folder)
        script = e.str("script", name)
        params: dict[str, Any] = {k: v for k, v in e.data.items() if k not in _ENTRY_KEYS}
        for key, value in params.items():  # the persona declares what it takes (Persona.parameters)
            if key not in ("answers", "expects") and (expected := cls.check_parameter(key, value)) is not None:
                raise e.fail(key, expected)
        params["answers"] = {**pinned, **_answers(e, "answers")}
        params.setdefault("think_scale", think_scale)
        if "expects" in e.data:
            expects = e.data["expects"]
            if not isinstance(expects, list) or not expects or not all(isinstance(x, str) for x in expects):
                raise e.fail("expects", "a non-empty array of outcome names")
            params["expects"] = expects
        for required in cls.requires:
            # Its own answers: the scenario-wide [answers] steer every persona alike, so they cannot
            # be what makes a screenout screen out or a quota chaser chase its cell.
            given = e.data.get("answers") if required == "answers" else params.get(required)
            if not given:
                raise e.fail(required, f"a value: persona {script!r} needs it"
                             + (" in its own table (the scenario's [answers] pin every persona alike)"
                                if required == "answers" else ""))
        sid = e.int("survey", survey_id, minimum=1)
        if ids and sid not in ids:
            raise e.fail("survey", f"one of the scenario's survey ids {ids} (got {sid})")
        entries.append(PersonaEntry(name=name, cls=cls, weight=e.int("weight", 1, minimum=0), survey_id=sid,
                                    params=params))
    if not any(p.weight for p in entries):
        raise top.fail("personas", "at least one persona with weight > 0")
    return tuple(entries)


