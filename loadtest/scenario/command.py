"""`loadtest init` (a starter project) and `loadtest personas` (what each persona does)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loadtest.core.usage import BadInput

__all__ = ["add_parser", "main_init", "main_personas"]

INIT_EXAMPLES = """examples:
  loadtest init x && loadtest run x/scenario.toml         a starter that passes against the embedded platform
  loadtest init staging --target https://api.example.com --survey-id 1234567
  LOADTEST_API_KEY=... loadtest run staging/scenario.toml
"""

PERSONAS_EXAMPLES = """examples:
  loadtest personas                        the built-in personas
  loadtest personas x/scenario.toml        and the scenario's own, with their weights and parameters
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = sub.add_parser("init", help="write a commented starter scenario (and survey) into DIR",
                          description="Write a commented starter project into DIR (made if missing).\n"
                          "Without --target: a scenario and a small survey that pass against the embedded\n"
                          "platform as written. With --target: a scenario for that survey on that platform.\n"
                          "Never overwrites a file.",
                          epilog=INIT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    init.add_argument("dir", nargs="?", type=Path, default=Path("."), metavar="DIR", help="default: here")
    init.add_argument("--target", default=None, metavar="URL", help="base URL of your survey platform's API")
    init.add_argument("--survey-id", type=int, default=None, metavar="N", help="the survey's id on the target")
    init.add_argument("--api-key-env", default="LOADTEST_API_KEY", metavar="NAME",
                      help="the environment variable that will hold the API key (default LOADTEST_API_KEY)")
    init.set_defaults(handler=main_init)
    per = sub.add_parser("personas", help="list the built-in personas (and a scenario's): what each does",
                         description="List the built-in personas, and a scenario's: what each does, the\n"
                         "outcomes it expects, its parameters, and what the target must have for them to hold.",
                         epilog=PERSONAS_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    per.add_argument("scenario", nargs="?", type=Path, default=None, metavar="SCENARIO")
    per.set_defaults(handler=main_personas)


def main_init(args: argparse.Namespace) -> int:
    from loadtest.scenario.starter import StarterError, write_starter

    if args.target is not None and not args.target.startswith(("http://", "https://")):
        raise BadInput(f"loadtest init: --target: expected an http(s) URL (got {args.target!r})")
    if args.survey_id is not None and args.survey_id < 1:
        raise BadInput(f"loadtest init: --survey-id: expected a survey id >= 1 (got {args.survey_id})")
    if args.dir.exists() and not args.dir.is_dir():
        raise BadInput(f"{args.dir}: expected a folder (it is a file)")
    try:
        written = write_starter(args.dir, args.target, args.survey_id, args.api_key_env)
    except StarterError as exc:
        raise BadInput(str(exc)) from None
    for path in written:
        print(f"wrote {path}")
    print(f"next: loadtest run {written[0]}" if args.target is None else
          f"next: edit {written[0]}, set {args.api_key_env}, then loadtest run {written[0]}")
    return 0


def main_personas(args: argparse.Namespace) -> int:
    from loadtest.scenario.catalog import print_catalog
    from loadtest.scenario.file import ScenarioError, load_scenario

    sc = None
    if args.scenario is not None:
        try:
            sc = load_scenario(args.scenario)
        except ScenarioError as exc:
            raise BadInput(str(exc)) from None
    return print_catalog(sc, sys.stdout)
