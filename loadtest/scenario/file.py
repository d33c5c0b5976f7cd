"""Scenario files (TOML): target, surveys, persona mix, load model, thresholds, seed.

A bad scenario fails with one line naming the file, the key and what was expected. Paths inside
a scenario (surveys, the personas folder) are relative to the scenario file. Secrets are never in
the file: it names the environment variable that holds the API key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtest.core.population import PersonaEntry
from loadtest.core.toml_reader import MISSING, TomlError, TomlReader
from loadtest.scenario.ingest import INGEST_STEP_NAMES, IngestStep, parse_ingest
from loadtest.scenario.persona_loader import PersonaScriptError, load_persona
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
class LoadModel:
    kind: str  # "closed" | "open"
    concurrency: int = 10  # closed: respondents in flight at once
    respondents: int | None = None  # closed: how many in all (None: until duration_s)
    duration_s: float = 60.0  # closed: cap on starting new respondents; open: the arrival window
    arrival_rate: float = 0.0  # open: respondents starting per second
    max_in_flight: int = 10_000  # open: arrivals beyond this are dropped, and counted


@dataclass(frozen=True)
class Thresholds:
    p95_ms: dict[str, float] = field(default_factory=dict)  # per step
    p99_ms: dict[str, float] = field(default_factory=dict)
    error_ratio: float | None = None  # max share of failed requests
    unexpected: int | None = None  # max respondents with an unexpected outcome or failed check
    dropped_arrivals: int | None = None
    outcome_share: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # min, max


@dataclass(frozen=True)
class Regression:
    """How much worse than a baseline run a run may be (`loadtest report RUN --baseline BASE`).
    Latency increases are fractions of the baseline's value and count only above `min_ms`."""

    p50_increase: float = 0.25
    p95_increase: float = 0.25
    p99_increase: float = 0.5
    min_ms: float = 1.0
    outcome_share_shift: float = 0.05  # absolute change in any outcome's share of respondents
    error_ratio_increase: float = 0.01  # absolute change in the share of failed requests


@dataclass(frozen=True)
class DataCheckSettings:
    """Read every completed respondent's stored answers back after the run (loadtest/control/readback.py)."""

    enabled: bool | None = None  # None: on against the embedded platform, off against others
    target: str | None = None  # the respondent data API's base URL; None: the survey target
    token_env: str = "LOADTEST_DATA_TOKEN"  # the variable holding its bearer token


@dataclass(frozen=True)
class PanelSettings:
    """Where and how completion callbacks go, and the panel set-up and reconciliation around a run."""

    mode: str = "postback"  # or "redirect"
    target: str | None = None  # the panel's base URL; None: the survey target (the embedded platform)
    api_key_env: str = "LOADTEST_PANEL_API_KEY"
    secret_env: str = "LOADTEST_PANEL_SECRET"
    algorithm: str = "sha3_256"
    encoding: str = "hex"
    hashed: tuple[str, ...] = ("url", "body", "secret")
    param: str = "enc"
    placement: str = "query"
    limit: str | None = "panel"  # the [limits] group every panel request passes
    setup: bool = True  # create the DIY survey and its quotas, and start it, before the run
    survey_id: str | None = None  # an existing DIY survey, when setup is false
    quotas: tuple[dict[str, Any], ...] = ()
    reconcile: bool = True


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    seed: int
    target: str  # "embedded" or a base URL
    surveys: tuple[Survey, ...]
    survey_files: tuple[Path, ...]
    survey_id: int
    api_key_env: str
    follow_redirects: tuple[str, ...]
    request_timeout_s: float
    load: LoadModel
    personas: tuple[PersonaEntry, ...]
    thresholds: Thresholds
    max_requests_per_respondent: int = 200
    limits: dict[str, float] = field(default_factory=dict)  # name -> requests per second
    panel: PanelSettings | None = None
    regression: Regression = field(default_factory=Regression)
    data_check: DataCheckSettings = field(default_factory=DataCheckSettings)
    faults: bool = False  # a [faults] table the embedded platform injects (checked here, applied there)
    ingest: tuple[IngestStep, ...] = ()  # [[ingest]] steps, run before the live respondents


_STEPS = ("take", "submit-page", "previous-page", "redirect", *INGEST_STEP_NAMES.values())


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
    head = top.table("scenario", required=True)
    base = path.parent
    files_raw = head._get("surveys", MISSING)
    if not isinstance(files_raw, list) or not files_raw or not all(isinstance(f, str) for f in files_raw):
        raise head.fail("surveys", "a non-empty array of survey file paths (relative to the scenario)")
    files = tuple((base / f).resolve() for f in files_raw)
    surveys = []
    for i, f in enumerate(files):
        try:
            surveys.append(load_survey(f))
        except SurveyFileError as exc:
            raise head.fail(f"surveys[{i}]", f"a valid survey file ({exc})") from None
    ids = [s.id for s in surveys]
    survey_id = head.int("survey_id", ids[0])
    if survey_id not in ids:
        raise head.fail("survey_id", f"one of the surveys' ids {ids} (got {survey_id})")
    target = head.str("target", "embedded")
    if target != "embedded" and not target.startswith(("http://", "https://")):
        raise head.fail("target", f'"embedded" or an http(s) URL (got {target!r})')
    follow = head._get("follow_redirects", [])
    if not isinstance(follow, list) or not all(isinstance(h, str) and h for h in follow):
        raise head.fail("follow_redirects", 'an array of host names ("target" means the target\'s host)')
    think_scale = head.number("think_scale", 1.0)
    if think_scale < 0:
        raise head.fail("think_scale", "a number >= 0")
    personas_dir = (base / head.str("personas_dir", "../personas")).resolve()
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
        load=_load_model(top.table("load", required=True)),
        personas=(personas := _personas(top, personas_dir, survey_id, ids, pinned, think_scale)),
        thresholds=_thresholds(top.table("thresholds")),
        max_requests_per_respondent=head.int("max_requests_per_respondent", 200, minimum=1),
        limits=(limits := _limits(top.table("limits"))),
        panel=_panel(top, limits) if "panel" in top.data else None,
        regression=_regression(top.table("regression")),
        data_check=_data_check(top.table("data_check")),
        faults=_faults(top, path),
        ingest=parse_ingest(top, ids, survey_id, personas, limits),
    )


def _faults(top: TomlReader, path: Path) -> bool:
    """Whether a [faults] table is there. Its contents are the embedded platform's language, so
    the drivers check them through platform.embedded.check_faults before anything starts."""
    if "faults" not in top.data:
        return False
    top.table("faults")  # a table, at least
    return True


def _data_check(r: TomlReader) -> DataCheckSettings:
    enabled = r._get("enabled", None)
    if enabled is not None and not isinstance(enabled, bool):
        raise r.fail("enabled", "true or false")
    target = r.str("target", None)
    if target is not None and not target.startswith(("http://", "https://")):
        raise r.fail("target", f"an http(s) URL (got {target!r})")
    return DataCheckSettings(enabled=enabled, target=target, token_env=r.str("token_env", "LOADTEST_DATA_TOKEN"))


def _regression(r: TomlReader) -> Regression:
    base = Regression()
    values = {}
    for name in base.__dataclass_fields__:
        value = r.number(name, getattr(base, name))
        if value < 0:
            raise r.fail(name, "a number >= 0")
        values[name] = float(value)
    return Regression(**values)


def _answers(r: TomlReader, key: str) -> dict[str, str]:
    raw = r.table(key)
    out = {}
    for qid, value in raw.data.items():
        if not qid.isdecimal() or not isinstance(value, (str, int)) or isinstance(value, bool):
            raise raw.fail(qid, "question id = answer id (e.g. 10001 = \"50001\")")
        out[qid] = str(value)
    return out


def _load_model(r: TomlReader) -> LoadModel:
    kind = r.str("model", choices=("closed", "open"))
    if kind == "closed":
        respondents = r.int("respondents", None, minimum=1)
        return LoadModel(
            kind=kind,
            concurrency=r.int("concurrency", 10, minimum=1),
            respondents=respondents,
            duration_s=_positive(r, "duration_s", 600.0 if respondents else MISSING),
        )
    return LoadModel(
        kind=kind,
        arrival_rate=_positive(r, "arrival_rate", MISSING),
        duration_s=_positive(r, "duration_s", MISSING),
        max_in_flight=r.int("max_in_flight", 10_000, minimum=1),
    )


def _positive(r: TomlReader, key: str, default: Any) -> float:
    value = r.number(key, default)
    if value <= 0:
        raise r.fail(key, f"a number > 0 (got {value})")
    return float(value)


_ENTRY_KEYS = {"script", "weight", "survey", "expects", "answers"}


def _personas(top: TomlReader, folder: Path, survey_id: int, ids: list[int], pinned: dict[str, str],
              think_scale: float) -> tuple[PersonaEntry, ...]:
    table = top.table("personas", required=True)
    if not table.data:
        raise top.fail("personas", "at least one [personas.NAME] table")
    entries = []
    for name in table.data:
        e = table.table(name)
        script = e.str("script", name)
        try:
            cls = load_persona(folder / f"{script}.py")
        except PersonaScriptError as exc:
            raise e.fail("script", f"a persona script in {folder} ({exc})") from None
        params: dict[str, Any] = {k: v for k, v in e.data.items() if k not in _ENTRY_KEYS}
        params["answers"] = {**pinned, **_answers(e, "answers")}
        params.setdefault("think_scale", think_scale)
        if "expects" in e.data:
            expects = e.data["expects"]
            if not isinstance(expects, list) or not expects or not all(isinstance(x, str) for x in expects):
                raise e.fail("expects", "a non-empty array of outcome names")
            params["expects"] = expects
        for required in cls.requires:
            if not params.get(required):
                raise e.fail(required, f"a value: persona {script!r} needs it")
        sid = e.int("survey", survey_id)
        if sid not in ids:
            raise e.fail("survey", f"one of the scenario's survey ids {ids} (got {sid})")
        entries.append(PersonaEntry(name=name, cls=cls, weight=e.int("weight", 1, minimum=0), survey_id=sid,
                                    params=params))
    if not any(p.weight for p in entries):
        raise top.fail("personas", "at least one persona with weight > 0")
    return tuple(entries)


def _thresholds(r: TomlReader) -> Thresholds:
    def per_step(key: str) -> dict[str, float]:
        t = r.table(key)
        out = {}
        for step in t.data:
            if step not in _STEPS:
                raise t.fail(step, f"a step name: one of {', '.join(_STEPS)}")
            out[step] = _positive(t, step, MISSING)
        return out

    shares: dict[str, tuple[float | None, float | None]] = {}
    table = r.table("outcome_share")
    for outcome in table.data:
        bounds = table.table(outcome)
        low, high = bounds.number("min", None), bounds.number("max", None)
        if low is None and high is None:
            raise bounds.fail("min", "min and/or max (shares from 0 to 1)")
        shares[outcome] = (low, high)
    ratio = r.number("error_ratio", None)
    return Thresholds(
        p95_ms=per_step("p95_ms"),
        p99_ms=per_step("p99_ms"),
        error_ratio=ratio,
        unexpected=r.int("unexpected", None, minimum=0),
        dropped_arrivals=r.int("dropped_arrivals", None, minimum=0),
        outcome_share=shares,
    )


def _limits(r: TomlReader) -> dict[str, float]:
    """`name = { rate = R }` (requests per second). "survey" gates respondent-flow requests,
    "panel" callbacks and DIY calls; both hold across all respondents of the process."""
    out = {}
    for name in r.data:
        out[name] = _positive(r.table(name), "rate", MISSING)
    return out


def _panel(top: TomlReader, limits: dict[str, float]) -> PanelSettings:
    p = top.table("panel")
    hashed = p._get("hashed", ["url", "body", "secret"])
    if not isinstance(hashed, list) or not hashed or any(h not in ("url", "body", "secret") for h in hashed):
        raise p.fail("hashed", 'an array of "url", "body", "secret" in the order they are hashed')
    limit = p.str("limit", "panel" if "panel" in limits else None)
    if limit is not None and limit not in limits:
        raise p.fail("limit", f"the name of a [limits] table ({', '.join(limits) or 'none defined'})")
    target = p.str("target", None)
    if target is not None and not target.startswith(("http://", "https://")):
        raise p.fail("target", f"an http(s) URL (got {target!r})")
    setup = p.bool("setup", True)
    survey_id = p.str("survey_id", None)
    if not setup and survey_id is None and p.bool("reconcile", True):
        raise p.fail("survey_id", "the panel's survey id, to reconcile against, when setup = false")
    quotas = []
    for q in p.tables("quotas", required=False):
        answers = q.ints("answer_ids")
        quotas.append({"name": q.str("name", None), "target_completes": q.int("target_completes", minimum=0),
                       "state": "active", "questions": [{"question_id": q.int("question_id"), "answer_ids": answers}]})
    return PanelSettings(
        mode=p.str("mode", "postback", choices=("postback", "redirect")),
        target=target,
        api_key_env=p.str("api_key_env", "LOADTEST_PANEL_API_KEY"),
        secret_env=p.str("secret_env", "LOADTEST_PANEL_SECRET"),
        algorithm=p.str("algorithm", "sha3_256", choices=("sha3_256", "sha256", "sha1")),
        encoding=p.str("encoding", "hex", choices=("hex", "base64url")),
        hashed=tuple(hashed),
        param=p.str("param", "enc"),
        placement=p.str("placement", "query", choices=("query", "header")),
        limit=limit,
        setup=setup,
        survey_id=survey_id,
        quotas=tuple(quotas),
        reconcile=p.bool("reconcile", True),
    )
