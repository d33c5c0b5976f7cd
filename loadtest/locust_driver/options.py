"""The options the locustfile adds to Locust's command line, as data.

The locustfile adds them to Locust's own parser (some shown in the web UI's "Custom parameters");
`loadtest locust --help` shows them, before Locust's own options, without importing locust.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from loadtest.scenario.file import Scenario
from loadtest.scenario.overrides import limits_text, mix_text

__all__ = ["add_options", "option_specs"]

Spec = tuple[tuple[str, ...], dict[str, Any], bool]  # flags, argparse keywords, shown in the web UI


def option_specs(sc: Scenario | None) -> list[Spec]:
    """Our options; defaults come from the scenario when it is known (the web UI shows them)."""
    return [
        (("--scenario",), {"default": os.environ.get("LOADTEST_SCENARIO", ""),
                           "help": "loadtest scenario file (TOML); `loadtest locust SCENARIO` passes it"}, False),
        (("--reports",), {"default": "reports", "help": "where the run folder goes (default: reports)"}, False),
        (("--personas",), {"default": mix_text(sc) if sc else "",
                           "help": "persona mix: name=weight, comma separated (a persona not named keeps its "
                                   "weight; 0 leaves one out)"}, True),
        (("--limits",), {"default": limits_text(sc) if sc else "",
                         "help": "request-rate limits: name=requests per second, comma separated "
                                 "(0 removes one)"}, True),
        (("--survey-id",), {"default": str(sc.survey_id) if sc else "",
                            "help": "the survey personas without a survey of their own take"}, True),
        (("--prometheus-port",), {"type": int, "default": None,
                                  "help": "serve live metrics for Prometheus at http://HOST:N/metrics (on a master: "
                                          "the whole cluster's)"}, False),
        (("--prometheus-host",), {"default": "127.0.0.1",
                                  "help": "the address /metrics binds (default 127.0.0.1)"}, False),
        (("--panel-drain",), {"type": float, "default": 60.0,
                              "help": "seconds the completion callbacks still queued at the stop may take "
                                      "(default: 60)"}, False),
    ]


def add_options(parser: argparse._ActionsContainer | Any, sc: Scenario | None, web_ui: bool) -> None:
    """Add our options to `parser`: Locust's (which takes include_in_web_ui) or a plain one."""
    for flags, kw, shown in option_specs(sc):
        extra: dict[str, Any] = {"include_in_web_ui": shown} if web_ui else {}
        parser.add_argument(*flags, **kw, **extra)
