"""`loadtest explore`: map a survey from the outside, print the tree, write survey-map.json (and a scenario).

Where: `--target URL --survey-id N` (or a scenario naming a URL) explores that platform over HTTP,
with the scenario's headers, TLS settings and `survey` limit, and needs `--yes`: every exploring
respondent is a response there. A survey file, or a scenario whose target is "embedded", is
explored on the reference platform in this process: no socket, a virtual clock, a throwaway
database, and a budget large enough to fill its quota cells.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio

from loadtest.control.limiter import Limiters
from loadtest.core.flow import FlowPolicy
from loadtest.core.usage import BadInput
from loadtest.explore.console import print_tree
from loadtest.explore.explorer import Budget, Explorer, ExploreResult, Target
from loadtest.explore.offline import IN_PROCESS_BUDGET, explore_in_process
from loadtest.explore.scenario_writer import Origin, scenario_text
from loadtest.explore.survey_map import build_map, write_map
from loadtest.platform.in_process import HOST
from loadtest.scenario.file import Scenario, ScenarioError, load_scenario
from loadtest.survey.file import SurveyFileError, load_survey
from loadtest.survey.model import Survey
from loadtest.transport.http import HttpTransport
from loadtest.transport.tls import TlsSettingsError, client_context

__all__ = ["EXAMPLES", "add_parser", "main"]

EXAMPLES = """examples:
  loadtest explore scenarios/surveys/customer_satisfaction.toml --write explored.toml
  LOADTEST_API_KEY=... loadtest explore --target https://staging.example.com --survey-id 1234567 --yes
  loadtest explore staging.toml --yes --respondents 60 --write staging-explored.toml
"""

URL_BUDGET = Budget(respondents=30, requests=600, duration_s=300.0)  # small: each is a response on the target


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("explore", help="map a survey from the outside and write a scenario that reaches each outcome",
                       description="Send exploring respondents that vary their answers systematically, print the "
                       "survey's map (pages, what each answer led to, screeners, quota cells, redirects, quality "
                       "rules, display logic), write survey-map.json, and with --write a scenario from it.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", nargs="?", type=Path, default=None, metavar="SCENARIO",
                   help="a scenario file, or a survey file (explored in process)")
    p.add_argument("--target", default=None, metavar="URL", help="base URL of the survey API to explore")
    p.add_argument("--survey-id", type=int, default=None, metavar="N", help="the survey's id on the target")
    p.add_argument("--survey", type=Path, action="append", default=[], metavar="FILE",
                   help="a survey file to explore in process (repeatable; the first is explored unless --survey-id)")
    p.add_argument("--respondents", type=int, default=None, metavar="N",
                   help=f"responses at most (default {URL_BUDGET.respondents} for a URL, "
                        f"{IN_PROCESS_BUDGET.respondents} in process)")
    p.add_argument("--requests", type=int, default=None, metavar="N",
                   help=f"requests at most (default {URL_BUDGET.requests} for a URL)")
    p.add_argument("--duration", type=float, default=None, metavar="S", dest="duration_s",
                   help=f"start no respondent after S seconds (default {URL_BUDGET.duration_s:g})")
    p.add_argument("-u", "--concurrency", type=int, default=None, metavar="N",
                   help="respondents at once (default 4 for a URL, 1 in process)")
    p.add_argument("--chase", type=int, default=25, metavar="N",
                   help="completes spent on each answer combination while looking for a quota cell that fills "
                        "(0: none)")
    p.add_argument("--think-scale", type=float, default=None, metavar="F",
                   help="times a human pace (default the scenario's think_scale, else 1)")
    p.add_argument("--seed", type=int, default=None, metavar="N", help="seeds every respondent (default 1)")
    p.add_argument("--password", default=None, help="the survey's own access code, if it asks for one")
    p.add_argument("--api-key-env", default=None, metavar="NAME",
                   help="the environment variable holding the API key (default the scenario's, else "
                        "LOADTEST_API_KEY)")
    p.add_argument("--map", type=Path, default=None, dest="map_path", metavar="FILE",
                   help="where survey-map.json goes (default REPORTS/explore-<survey>-<run>/survey-map.json)")
    p.add_argument("--reports", type=Path, default=Path("reports"), metavar="DIR")
    p.add_argument("--write", type=Path, default=None, metavar="FILE", help="write a scenario from the map")
    p.add_argument("--yes", action="store_true", help="go ahead and create responses on a URL target")
    p.add_argument("--quiet", action="store_true", help="print no tree")
    p.set_defaults(handler=main)


@dataclasses.dataclass
class _Setup:
    url: str | None  # None: in process
    survey_id: int
    surveys: tuple[Survey, ...] = ()
    files: tuple[Path, ...] = ()
    scenario: Scenario | None = None
    api_key_env: str = "LOADTEST_API_KEY"


def _positive(name: str, value: float | None, whole: bool = True) -> None:
    if value is not None and (value < 1 if whole else value <= 0):
        raise BadInput(f"{name}: expected {'a whole number >= 1' if whole else 'seconds > 0'} (got {value:g})")


def _setup(args: argparse.Namespace) -> _Setup:
    sc, surveys, files = None, [], list(args.survey)
    if args.source is not None:
        try:
            doc = tomllib.loads(args.source.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise BadInput(f"{args.source}: expected a readable TOML scenario or survey file ({exc})") from None
        if "survey" in doc and "scenario" not in doc:
            files.insert(0, args.source)
        else:
            try:
                sc = load_scenario(args.source)
            except ScenarioError as exc:
                raise BadInput(str(exc)) from None
    for f in files:
        try:
            surveys.append(load_survey(f))
        except SurveyFileError as exc:
            raise BadInput(str(exc)) from None
    url = args.target or (sc.target if sc is not None and sc.target != "embedded" else None)
    if url is not None and not url.startswith(("http://", "https://")):
        raise BadInput(f"--target: expected an http(s) URL (got {url!r})")
    if sc is not None and url is None and not surveys:
        surveys, files = list(sc.surveys), list(sc.survey_files)
    env = args.api_key_env or (sc.api_key_env if sc is not None else "LOADTEST_API_KEY")
    if url is None and not surveys:
        raise BadInput("explore: expected a SCENARIO, a survey file, or --target URL with --survey-id N")
    sid = args.survey_id or (sc.survey_id if sc is not None else None) or (surveys[0].id if url is None else None)
    if sid is None:
        raise BadInput(f"--survey-id: expected the id of the survey to explore on {url}")
    if url is None and sid not in [s.id for s in surveys]:
        raise BadInput(f"--survey-id: expected one of the survey files' ids {[s.id for s in surveys]} (got {sid})")
    return _Setup(url, sid, tuple(surveys), tuple(files), sc, env)


def main(args: argparse.Namespace) -> int:
    for name, value in (("--respondents", args.respondents), ("--requests", args.requests),
                        ("--concurrency", args.concurrency)):
        _positive(name, value)
    _positive("--duration", args.duration_s, whole=False)
    if args.chase < 0:
        raise BadInput(f"--chase: expected a whole number >= 0 (got {args.chase})")
    if args.think_scale is not None and args.think_scale < 0:
        raise BadInput(f"--think-scale: expected a number >= 0 (got {args.think_scale:g})")
    if args.write is not None and args.write.exists():
        raise BadInput(f"--write: {args.write} exists; expected a new file (explore never overwrites one)")
    setup = _setup(args)
    defaults = URL_BUDGET if setup.url else IN_PROCESS_BUDGET
    budget = Budget(args.respondents or defaults.respondents, args.requests or defaults.requests,
                    args.duration_s or defaults.duration_s)
    seed = args.seed if args.seed is not None else 1
    prefix = f"explore{seed}-{secrets.token_hex(3)}"
    if setup.url:
        print(f"explore: will create up to {budget.respondents} responses in survey {setup.survey_id} on {setup.url} "
              f"(transaction ids {prefix}-NNNNNN; at most {budget.requests} requests, {budget.duration_s:g} s)",
              flush=True)
        if not args.yes:
            raise BadInput(f"explore: {setup.url}: pass --yes to create up to {budget.respondents} responses there")
    else:
        print(f"explore: survey {setup.survey_id} in process ({', '.join(map(str, setup.files))}): up to "
              f"{budget.respondents} responses on a throwaway copy of the reference platform; nothing is sent "
              "anywhere", flush=True)
    think = args.think_scale if args.think_scale is not None else _think_scale(setup.scenario)
    result = _explore(args, setup, budget, seed, prefix, think)
    meta = {"survey_id": setup.survey_id, "target": setup.url or "in process: " + ", ".join(map(str, setup.files)),
            "mode": "http" if setup.url else "in_process", "explored_at": datetime.now(UTC).isoformat(),
            "target_host": urlsplit(setup.url).hostname if setup.url else HOST,
            "seed": seed, "transaction_prefix": prefix, "think_scale": think,
            "budget": dataclasses.asdict(budget)}
    doc = build_map(result, meta)
    map_path = args.map_path or args.reports / f"explore-{setup.survey_id}-{prefix.rsplit('-', 1)[1]}" / \
        "survey-map.json"
    write_map(map_path, doc)
    if not args.quiet:
        print_tree(doc, sys.stdout)
    print(f"map: {map_path}")
    if not result.knowledge.pages:
        first = result.knowledge.walks[0] if result.knowledge.walks else None
        why = f"{first.error['error']}: {first.error['message']}" if first and first.error else "no page came back"
        raise BadInput(f"explore: {setup.url or setup.files[0]}: survey {setup.survey_id} showed no page ({why})")
    if args.write is not None:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        origin = Origin(target=setup.url or "embedded", survey_id=setup.survey_id, survey_files=setup.files,
                        api_key_env=setup.api_key_env, think_scale=think, seed=seed, extra=_http_keys(setup.scenario))
        args.write.write_text(scenario_text(doc, origin, args.write), "utf-8")
        print(f"scenario: {args.write}  (run it: loadtest run {args.write})")
    return 0


def _think_scale(sc: Scenario | None) -> float:
    scales = [p.params.get("think_scale") for p in sc.personas] if sc is not None else []
    return float(next((s for s in scales if isinstance(s, (int, float))), 1.0))


def _password(args: argparse.Namespace, setup: _Setup) -> str | None:
    if args.password is not None:
        return str(args.password)
    if setup.scenario is not None:
        for p in setup.scenario.personas:
            if p.survey_id == setup.survey_id and p.params.get("password"):
                return str(p.params["password"])
    return None  # in process, the survey file's own (offline.py)


def _explore(args: argparse.Namespace, setup: _Setup, budget: Budget, seed: int, prefix: str,
             think: float) -> ExploreResult:
    sc = setup.scenario
    policy = dataclasses.replace(sc.policy, max_requests=min(sc.policy.max_requests, 100)) if sc else \
        FlowPolicy(max_requests=100)
    common: dict[str, Any] = {"seed": seed, "prefix": prefix, "policy": policy, "chase_cap": args.chase,
                              "think_scale": think, "password": _password(args, setup)}
    if setup.url is None:
        return explore_in_process(setup.surveys, setup.survey_id, budget, concurrency=args.concurrency or 1, **common)
    key = os.environ.get(setup.api_key_env)
    if not key:
        raise BadInput(f"explore: expected the environment variable {setup.api_key_env} to hold the API key for "
                       f"{setup.url} (it is not set; --api-key-env names another)")
    headers: tuple[tuple[str, str], ...] = sc.http.resolved_headers() if sc is not None else ()
    try:
        tls = client_context(sc.http.tls_ca_file, sc.http.tls_verify) if sc is not None else client_context()
    except TlsSettingsError as exc:
        raise BadInput(f"{sc.path if sc else '--target'}: scenario.tls_ca_file: {exc}") from None
    if sc is not None and not sc.http.tls_verify:
        print(f"loadtest explore: warning: tls_verify = false: any certificate {setup.url} shows is accepted",
              file=sys.stderr)
    limiter = Limiters.from_rates(sc.limits).get("survey") if sc is not None else None
    transport = HttpTransport(setup.url, timeout_s=sc.request_timeout_s if sc else 10.0, ssl_context=tls)
    target = Target(setup.survey_id, key, urlsplit(setup.url).hostname or "", setup.api_key_env, headers)
    explorer = Explorer(transport, target, budget, concurrency=args.concurrency or 4, limiter=limiter, **common)

    async def go() -> ExploreResult:
        try:
            return await explorer.run()
        finally:
            await transport.aclose()

    return anyio.run(go)


def _http_keys(sc: Scenario | None) -> dict[str, Any]:
    """The explored scenario's HTTP settings, for the written one (a CA file by its absolute path)."""
    if sc is None:
        return {}
    raw = tomllib.loads(sc.path.read_text("utf-8")).get("scenario", {})
    out = {k: raw[k] for k in ("request_timeout_s", "rate_limit_wait_s", "headers", "header_env", "tls_verify")
           if k in raw}
    if sc.http.tls_ca_file is not None:
        out["tls_ca_file"] = str(sc.http.tls_ca_file)
    return out
