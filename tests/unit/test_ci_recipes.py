"""README's CI recipes (GitHub Actions, GitLab CI) stay runnable: both are valid YAML of the
shape each CI reads, every `loadtest` command in them parses with loadtest's own parser (so it
names real options), the scenario it names exists, and each publishes the JUnit file, compares
with a baseline and keeps the run folder."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from typing import Any

import pytest
import yaml

from loadtest.cli import _parser
from tests.helpers import ROOT

README = (ROOT / "README.md").read_text()
SECTION = README[README.index("## In CI: GitHub Actions and GitLab CI"):]
SECTION = SECTION[:SECTION.index("\n## ", 5)]
BLOCKS = re.findall(r"```yaml\n(.*?)```", SECTION, flags=re.S)


def recipes() -> dict[str, Any]:
    github, gitlab = (yaml.safe_load(block) for block in BLOCKS)
    return {"github": github, "gitlab": gitlab}


def shell_lines(ci: str, doc: dict[str, Any]) -> list[str]:
    if ci == "github":
        (job,) = doc["jobs"].values()
        scripts = [step["run"] for step in job["steps"] if "run" in step]
    else:
        scripts = doc["loadtest"]["script"]
    return [line.strip() for script in scripts for line in script.splitlines()]


def loadtest_commands(lines: list[str]) -> list[list[str]]:
    out = []
    for line in lines:
        if not line.startswith("loadtest "):
            continue
        line = line.split(" || ")[0]
        line = re.sub(r'"\$\(ls -d reports/\*/ \| head -n 1\)"', "reports/the-run", line)  # the run folder
        out.append(shlex.split(line)[1:])
    return out


def test_there_are_two_recipes() -> None:
    assert len(BLOCKS) == 2


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_every_loadtest_command_parses_and_names_real_files(ci: str) -> None:
    commands = loadtest_commands(shell_lines(ci, recipes()[ci]))
    assert [c[0] for c in commands] == ["run", "report"]
    for argv in commands:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                args = _parser(argv).parse_args(argv)
            except SystemExit:
                pytest.fail(f"{ci}: loadtest {' '.join(argv)}: {err.getvalue().strip()}")
        if argv[0] == "run":
            assert (ROOT / args.scenario).is_file() and str(args.reports) == "reports"
        else:
            assert args.baseline is not None


def test_github_publishes_junit_keeps_the_folder_and_fails_on_either_code() -> None:
    (job,) = recipes()["github"]["jobs"].values()
    uses = {step.get("uses", "").split("@")[0]: step for step in job["steps"]}
    assert uses["mikepenz/action-junit-report"]["with"]["report_paths"] == "reports/*/junit.xml"
    assert uses["actions/upload-artifact"]["with"]["path"] == "reports/"
    assert all(uses[u]["if"] == "always()" for u in ("mikepenz/action-junit-report", "actions/upload-artifact"))
    last = job["steps"][-1]["run"]
    assert "steps.run.outputs.code" in last and "steps.compare.outputs.code" in last


def test_gitlab_publishes_junit_keeps_the_folder_and_exits_with_the_code() -> None:
    job = recipes()["gitlab"]["loadtest"]
    assert job["artifacts"]["when"] == "always" and job["artifacts"]["paths"] == ["reports/"]
    assert job["artifacts"]["reports"]["junit"] == "reports/*/junit.xml"
    assert all(isinstance(line, str) for line in job["script"])  # a ": " in a plain scalar makes a mapping
    assert job["script"][-1].startswith('test "${run_code:-0}" = 0 && test "${compare_code:-0}" = 0')
