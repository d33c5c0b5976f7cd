"""README's test command is what CI runs; keep the two from drifting apart."""

from __future__ import annotations

from tests.helpers import ROOT


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_lines = [line for line in readme.splitlines() if "python3 -m venv" in line and "pytest" in line]
    assert len(test_lines) == 1
    assert test_lines[0] in ci.splitlines()


def test_the_test_command_runs_the_gates_after_the_install_and_before_the_tests() -> None:
    readme = (ROOT / "README.md").read_text()
    (command,) = [line for line in readme.splitlines() if "python3 -m venv" in line and "pytest" in line]
    steps = [step.strip() for step in command.split("&&")]
    order = [next(i for i, step in enumerate(steps) if step.startswith(prefix))
             for prefix in (".venv/bin/pip install", ".venv/bin/ruff check .", ".venv/bin/mypy loadtest personas",
                            ".venv/bin/python -m pytest")]
    assert order == sorted(order)
