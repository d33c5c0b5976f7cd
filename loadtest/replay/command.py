"""`loadtest replay RECORDING`: read the recording, pick the target, replay, print the diff, exit.

Target: `--target URL`, or by default the reference platform started on a free loopback port
serving the surveys the recording names in its header (or the `--survey` files given, which win).
On the started platform the run's panel set-up is done again when the recorded scenario has one
(its DIY panel quotas bind like the survey's own cells); a target given by URL is left as it is.
Exit 0 when every respondent replayed identically, 3 on any divergence, 2 on bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import anyio
import orjson

from loadtest.control.panel_session import PanelSession
from loadtest.core.usage import BadInput
from loadtest.local_defaults import DEFAULT_API_KEY, DEFAULT_PANEL_API_KEY, DEFAULT_PANEL_SECRET
from loadtest.platform.embedded import PlatformStartError, embedded_platform
from loadtest.replay.diff import format_divergence, report_json, summary_line
from loadtest.replay.driver import ReplayOptions, replay_all
from loadtest.replay.script import Recording, RecordingError, read_recording
from loadtest.scenario.file import Scenario, ScenarioError, load_scenario
from loadtest.survey.file import SurveyFileError, load_survey

__all__ = ["ReplayCommand", "add_parser", "main", "replay"]

EXAMPLES = """examples:
  loadtest run scenarios/smoke.toml --record rec.jsonl && loadtest replay rec.jsonl
  loadtest replay rec.jsonl --order free --concurrency 16 --report out/
  LOADTEST_API_KEY=... loadtest replay rec.jsonl --target https://staging.example.com
"""


@dataclass
class ReplayCommand:
    recording: Path
    target: str | None = None
    surveys: list[Path] = field(default_factory=list)
    report: Path | None = None
    concurrency: int = 8
    timeout_s: float = 10.0
    max_requests: int = 200
    think_scale: float = 1.0
    suffix: str | None = None
    order: str = "recorded"  # or "free"


def load(path: Path) -> Recording:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: expected a readable recording file ({exc.strerror or exc})") from None
    try:
        return read_recording(data.splitlines())
    except RecordingError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        got = f" (got {exc.got})" if exc.got else ""
        raise BadInput(f"{where}: expected {exc.expected}{got}") from None


def _check(cmd: ReplayCommand) -> None:
    if cmd.target is not None and not cmd.target.startswith(("http://", "https://")):
        raise BadInput(f"--target: expected an http(s) URL (got {cmd.target!r})")
    for name, value, low in (("--concurrency", cmd.concurrency, 1), ("--max-requests", cmd.max_requests, 1)):
        if value < low:
            raise BadInput(f"{name}: expected a whole number >= {low} (got {value})")
    if cmd.timeout_s <= 0:
        raise BadInput(f"--timeout: expected seconds > 0 (got {cmd.timeout_s})")
    if cmd.order not in ("recorded", "free"):
        raise BadInput(f"--order: expected recorded or free (got {cmd.order!r})")
    if cmd.think_scale < 0:
        raise BadInput(f"--think-scale: expected a number >= 0 (got {cmd.think_scale})")
    if cmd.suffix is not None and (not cmd.suffix or not all(c.isalnum() or c in "-_" for c in cmd.suffix)):
        raise BadInput(f"--suffix: expected letters, digits, '-' or '_' (got {cmd.suffix!r})")


def _survey_files(cmd: ReplayCommand, rec: Recording) -> list[Path]:
    """The survey files the embedded platform serves, checked to cover the recorded survey ids."""
    if cmd.surveys:
        files, source = cmd.surveys, "--survey"
    elif rec.header is not None and rec.header.surveys:
        files, source = [Path(f) for _, f in rec.header.surveys], f"{cmd.recording}:1: surveys"
    else:
        raise BadInput(f"{cmd.recording}: expected a header line naming the surveys (this recording has "
                       "none); pass --survey FILE for each survey, or --target URL")
    ids = set()
    for f in files:
        try:
            ids.add(load_survey(f).id)
        except SurveyFileError as exc:
            raise BadInput(f"{source}: expected a valid survey file ({exc})") from None
    missing = sorted(rec.survey_ids - ids)
    if missing:
        raise BadInput(f"{source}: expected surveys with the recorded ids {sorted(rec.survey_ids)} "
                       f"(missing {missing})")
    return files


@contextlib.contextmanager
def _target(cmd: ReplayCommand, rec: Recording, key_env: str) -> Iterator[str]:
    if cmd.target is not None:
        yield cmd.target
        return
    files = _survey_files(cmd, rec)
    try:
        with embedded_platform(files, extra=["--api-key-env", key_env]) as platform:
            yield platform.url
    except PlatformStartError as exc:
        raise BadInput(str(exc)) from None


def _panel_scenario(cmd: ReplayCommand, rec: Recording, out: IO[str]) -> Scenario | None:
    """The recorded scenario, when the started platform needs its panel set-up (DIY quotas)."""
    if cmd.target is not None or rec.header is None or not rec.header.scenario:
        return None
    try:
        sc = load_scenario(rec.header.scenario)
    except ScenarioError as exc:
        print(f"replay: note: no panel set-up, the recorded scenario does not load ({exc}); "
              "outcomes that depend on panel quotas may differ", file=out)
        return None
    if sc.panel is None or not sc.panel.setup or not sc.panel.quotas:
        return None
    return sc


async def _panel_set_up(sc: Scenario, url: str) -> None:
    """What `loadtest run` does before its respondents: one DIY survey per respondent survey, the
    scenario's panel quotas on the first, started (the embedded platform's panel, local keys)."""
    assert sc.panel is not None
    key = os.environ.get(sc.panel.api_key_env) or DEFAULT_PANEL_API_KEY
    secret = os.environ.get(sc.panel.secret_env) or DEFAULT_PANEL_SECRET
    used = [sc.survey_id, *sorted({p.survey_id for p in sc.personas if p.survey_id != sc.survey_id})]
    async with PanelSession(sc.panel, url, key, secret, None) as panel:
        await panel.set_up(f"replay of {sc.name} (seed {sc.seed})", url, used)


def replay(cmd: ReplayCommand, out: IO[str] = sys.stdout) -> int:
    _check(cmd)
    rec = load(cmd.recording)
    key_env = rec.header.api_key_env if rec.header else "LOADTEST_API_KEY"
    env_key = os.environ.get(key_env)
    if cmd.target is not None and not env_key:
        raise BadInput(f"{cmd.recording}: api_key_env: expected the environment variable {key_env} to hold "
                       "the API key for --target (it is not set)")
    suffix = cmd.suffix or "rp" + secrets.token_hex(3)
    panel = _panel_scenario(cmd, rec, out)
    with _target(cmd, rec, key_env) as url:
        opts = ReplayOptions(target_url=url, api_key=env_key or DEFAULT_API_KEY, suffix=suffix,
                             concurrency=cmd.concurrency, timeout_s=cmd.timeout_s,
                             max_requests=cmd.max_requests, think_scale=cmd.think_scale, order=cmd.order)
        if panel is not None:
            anyio.run(_panel_set_up, panel, url)
        how = "in the recorded order" if cmd.order == "recorded" else f"{cmd.concurrency} at a time"
        print(f"replay: {len(rec.scripts)} respondents, {rec.requests} requests from {cmd.recording} against "
              f"{'embedded ' + url if cmd.target is None else url}, {how}; transaction ids T -> T-{suffix}"
              + ("; panel quotas set up as in the run" if panel is not None else ""), file=out, flush=True)
        results = anyio.run(replay_all, rec.scripts, opts)
    for result in results:
        if not result.identical:
            print(format_divergence(result), file=out)
    print(summary_line(results), file=out, flush=True)
    if cmd.report is not None:
        cmd.report.mkdir(parents=True, exist_ok=True)
        doc = report_json(results, recording=str(cmd.recording),
                          target="embedded" if cmd.target is None else url,
                          transaction_suffix=suffix, order=cmd.order, think_scale=cmd.think_scale)
        path = cmd.report / "replay.json"
        path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        print(f"divergences written to {path}", file=out)
    return 0 if all(r.identical for r in results) else 3


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rp = sub.add_parser("replay", help="walk recorded respondents again against a target, diff the replies",
                        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    rp.add_argument("recording", type=Path, metavar="RECORDING", help="a file from `loadtest run --record`")
    rp.add_argument("--target", default=None, metavar="URL",
                    help="base URL of the survey API (default: the reference platform, recorded surveys)")
    rp.add_argument("--survey", action="append", type=Path, default=[], metavar="FILE",
                    help="survey TOML for the started platform (repeatable; default: the recorded files)")
    rp.add_argument("--report", type=Path, default=None, metavar="DIR",
                    help="write DIR/replay.json with every divergence")
    rp.add_argument("--concurrency", type=int, default=8, metavar="N",
                    help="--order free: respondents replayed at once (default 8)")
    rp.add_argument("--timeout", type=float, default=10.0, metavar="S", dest="timeout_s",
                    help="per-request timeout in seconds (default 10)")
    rp.add_argument("--max-requests", type=int, default=200, metavar="N",
                    help="cap on requests per respondent (default 200)")
    rp.add_argument("--think-scale", type=float, default=1.0, metavar="F",
                    help="times the recorded think times (default 1; 0: none, which a speeder check sees)")
    rp.add_argument("--suffix", default=None, metavar="S",
                    help="transaction ids become T-S (default: rp + 6 random hex digits)")
    rp.add_argument("--order", choices=("recorded", "free"), default="recorded",
                    help="recorded: one request at a time in the recorded order (default); "
                         "free: --concurrency respondents at once, each at its own pace")
    rp.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    return replay(ReplayCommand(
        recording=args.recording, target=args.target, surveys=args.survey, report=args.report,
        concurrency=args.concurrency, timeout_s=args.timeout_s, max_requests=args.max_requests,
        think_scale=args.think_scale, suffix=args.suffix, order=args.order))
