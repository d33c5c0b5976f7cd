"""The smaller tables of a scenario file: thresholds, regression tolerances, the read-back,
limits and the panel. Each parser refuses keys its table does not know (TomlReader.only)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from loadtest.core.toml_reader import MISSING, TomlReader
from loadtest.scenario.ingest import INGEST_STEP_NAMES

__all__ = ["DataCheckSettings", "PanelSettings", "Regression", "StageThresholds", "Thresholds", "data_check", "limits",
           "panel", "positive", "regression", "thresholds"]

STEPS = ("take", "submit-page", "previous-page", "redirect", *INGEST_STEP_NAMES.values())
_PANEL = ("mode", "target", "api_key_env", "secret_env", "algorithm", "encoding", "hashed", "param", "placement",
          "limit", "setup", "survey_id", "quotas", "reconcile")
_THRESHOLDS = ("error_ratio", "rate_limited", "unexpected", "dropped_arrivals", "p95_ms", "p99_ms", "outcome_share",
               "stage")
_STAGE_THRESHOLDS = ("p95_ms", "p99_ms", "error_ratio", "dropped_arrivals")


@dataclass(frozen=True)
class StageThresholds:
    """[thresholds.stage.NAME]: the same limits, judged on one stage's requests and arrivals."""

    p95_ms: dict[str, float] = field(default_factory=dict)
    p99_ms: dict[str, float] = field(default_factory=dict)
    error_ratio: float | None = None
    dropped_arrivals: int | None = None


@dataclass(frozen=True)
class Thresholds:
    p95_ms: dict[str, float] = field(default_factory=dict)  # per step
    p99_ms: dict[str, float] = field(default_factory=dict)
    error_ratio: float | None = None  # max share of failed requests (no reply, or any reply >= 400)
    rate_limited: float | None = None  # max share of requests answered 429
    unexpected: int | None = None  # max respondents with an unexpected outcome or failed check
    dropped_arrivals: int | None = None
    outcome_share: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # min, max
    stages: dict[str, StageThresholds] = field(default_factory=dict)  # by stage name


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


def data_check(r: TomlReader) -> DataCheckSettings:
    r.only(("enabled", "target", "token_env"))
    enabled = r._get("enabled", None)
    if enabled is not None and not isinstance(enabled, bool):
        raise r.fail("enabled", "true or false")
    target = r.str("target", None)
    if target is not None and not target.startswith(("http://", "https://")):
        raise r.fail("target", f"an http(s) URL (got {target!r})")
    return DataCheckSettings(enabled=enabled, target=target, token_env=r.str("token_env", "LOADTEST_DATA_TOKEN"))


def regression(r: TomlReader) -> Regression:
    base = Regression()
    r.only(base.__dataclass_fields__)
    values = {}
    for name in base.__dataclass_fields__:
        value = r.number(name, getattr(base, name))
        if value < 0:
            raise r.fail(name, "a number >= 0")
        values[name] = float(value)
    return Regression(**values)


def positive(r: TomlReader, key: str, default: Any) -> float:
    value = r.number(key, default)
    if value <= 0:
        raise r.fail(key, f"a number > 0 (got {value})")
    return float(value)


def thresholds(r: TomlReader, stage_names: tuple[str, ...] = ()) -> Thresholds:
    r.only(_THRESHOLDS)

    def per_step(key: str, r: TomlReader = r) -> dict[str, float]:
        t = r.table(key)
        out = {}
        for step in t.data:
            if step not in STEPS:
                close = difflib.get_close_matches(step, STEPS, n=1)
                raise t.fail(step, f"a step name: one of {', '.join(STEPS)}"
                             + (f" (did you mean {close[0]}?)" if close else ""))
            out[step] = positive(t, step, MISSING)
        return out

    shares: dict[str, tuple[float | None, float | None]] = {}
    table = r.table("outcome_share")
    for outcome in table.data:
        bounds = table.table(outcome)
        bounds.only(("min", "max"))
        low, high = bounds.number("min", None), bounds.number("max", None)
        if low is None and high is None:
            raise bounds.fail("min", "min and/or max (shares from 0 to 1)")
        shares[outcome] = (low, high)
    ratio = r.number("error_ratio", None)
    return Thresholds(
        p95_ms=per_step("p95_ms"),
        p99_ms=per_step("p99_ms"),
        error_ratio=ratio,
        rate_limited=_share(r, "rate_limited"),
        unexpected=r.int("unexpected", None, minimum=0),
        dropped_arrivals=r.int("dropped_arrivals", None, minimum=0),
        outcome_share=shares,
        stages=_stage_thresholds(r.table("stage"), stage_names, per_step),
    )


def _stage_thresholds(table: TomlReader, names: tuple[str, ...], per_step: Any) -> dict[str, StageThresholds]:
    out = {}
    for name in table.data:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            raise table.fail(name, f"the name of a [[load.stages]] stage ({', '.join(names)})"
                             + (f" (did you mean {close[0]}?)" if close else ""))
        t = table.table(name)
        t.only(_STAGE_THRESHOLDS)
        ratio = t.number("error_ratio", None)
        out[name] = StageThresholds(p95_ms=per_step("p95_ms", t), p99_ms=per_step("p99_ms", t),
                                    error_ratio=ratio, dropped_arrivals=t.int("dropped_arrivals", None, minimum=0))
    return out


def _share(r: TomlReader, key: str) -> float | None:
    value = r.number(key, None)
    if value is not None and not 0 <= value <= 1:
        raise r.fail(key, f"a share from 0 to 1 (got {value})")
    return None if value is None else float(value)


def limits(r: TomlReader) -> dict[str, float]:
    """`name = { rate = R }` (requests per second). "survey" gates respondent-flow requests,
    "panel" callbacks and DIY calls; both hold across all respondents of the process."""
    out = {}
    for name in r.data:
        limit = r.table(name)
        limit.only(("rate",))
        out[name] = positive(limit, "rate", MISSING)
    return out


def panel(top: TomlReader, limits: dict[str, float]) -> PanelSettings:
    p = top.table("panel")
    p.only(_PANEL)
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
        q.only(("name", "target_completes", "question_id", "answer_ids"))
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
