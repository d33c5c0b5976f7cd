"""The package as a user gets it: the wheel, installed (not editable) into a fresh venv, used from a
folder outside the checkout. Its dependencies come from this venv's site-packages (a .pth line),
so nothing is downloaded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow

SKIP = shutil.ignore_patterns(".venv", ".git", "reports", "__pycache__", "build", "dist", "*.egg-info", "out",
                              ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.db", "*.db-*")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("installed")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=SKIP)  # builds leave build/ and *.egg-info: not in the shared checkout
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    built = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(src),
                  "-w", str(base / "dist")], base, env)
    assert built.returncode == 0, built.stderr
    (wheel,) = (base / "dist").glob("loadtest-*.whl")
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], base, env)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base,
                     env).stdout.strip())
    (site / "loadtest-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    put = _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], base, env)
    assert put.returncode == 0, put.stderr
    work = base / "elsewhere"
    work.mkdir()
    return venv, {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: tuple[Path, dict[str, str]]) -> None:
    venv, env = installed
    where = _run([str(venv / "bin" / "python"), "-c", "import loadtest; print(loadtest.__file__)"],
                 venv.parent / "elsewhere", env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where
    version = _run([str(venv / "bin" / "loadtest"), "--version"], venv.parent / "elsewhere", env)
    assert version.returncode == 0 and version.stdout.strip().startswith("loadtest "), version


def test_init_and_run_pass_from_an_empty_folder(installed: tuple[Path, dict[str, str]]) -> None:
    venv, env = installed
    work = venv.parent / "elsewhere"
    loadtest = str(venv / "bin" / "loadtest")
    init = _run([loadtest, "init", "x"], work, env)
    assert init.returncode == 0, init.stderr
    run = _run([loadtest, "run", "x/scenario.toml"], work, env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASSED" in run.stdout and "preflight: take of survey" in run.stderr
    assert list((work / "reports").glob("starter-*/summary.json"))
    again = _run([loadtest, "init", "x"], work, env)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "never overwrites" in again.stderr


def test_personas_lists_all_twelve_built_ins(installed: tuple[Path, dict[str, str]]) -> None:
    venv, env = installed
    out = _run([str(venv / "bin" / "loadtest"), "personas"], venv.parent / "elsewhere", env)
    assert out.returncode == 0, out.stderr
    assert "built-in personas (12, in " in out.stdout and "builtin_personas" in out.stdout
    for name in ("abandoner", "backtracker", "completer", "gatecrasher", "opt_out", "polyglot", "quota_chaser",
                 "returner", "screenout", "speeder", "straightliner", "validation_fixer"):
        assert f"\n  {name} " in out.stdout


def test_mock_serves_the_installed_example_surveys(installed: tuple[Path, dict[str, str]]) -> None:
    venv, env = installed
    proc = subprocess.Popen([str(venv / "bin" / "loadtest"), "mock", "--port", "0"], cwd=venv.parent / "elsewhere",
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("http://127.0.0.1:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "surveys 100001, 200002" in err
