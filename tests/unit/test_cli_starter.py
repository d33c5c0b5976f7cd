"""`loadtest init`, `loadtest personas`, `--version` and every subcommand's help, through cli.main."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import pytest

from loadtest import __version__, cli
from loadtest.cli import COMMANDS, _parser, main
from loadtest.scenario.file import load_scenario

NAMES = ("abandoner", "backtracker", "completer", "gatecrasher", "opt_out", "polyglot", "quota_chaser", "returner",
         "screenout", "speeder", "straightliner", "validation_fixer")


def test_init_writes_a_starter_that_loads_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "x")]) == 0
    sc = load_scenario(tmp_path / "x" / "scenario.toml")
    assert sc.target == "embedded" and [s.id for s in sc.surveys] == [sc.survey_id]
    assert {"completer", "screenout", "quota_chaser", "speeder", "straightliner"} <= {p.name for p in sc.personas}
    survey = sc.surveys[0]
    assert survey.quality.speeder_min_seconds and survey.quotas and any(
        q.straightline_check for p in survey.pages for q in p.questions)
    assert "next: loadtest run" in capsys.readouterr().out


def test_init_for_a_target_names_the_key_and_respects_the_documented_rate(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path), "--target", "https://qp.example.test", "--survey-id", "1234567",
                 "--api-key-env", "QP_KEY"]) == 0
    text = (tmp_path / "scenario.toml").read_text()
    assert "export QP_KEY=" in text and "screener" in text and "quota" in text
    sc = load_scenario(tmp_path / "scenario.toml")
    assert sc.target == "https://qp.example.test" and sc.survey_id == 1234567 and sc.surveys == ()
    assert sc.api_key_env == "QP_KEY" and sc.limits["survey"] * 60 <= 300  # 300 calls per 60 s per key
    assert not (tmp_path / "surveys").exists()


@pytest.mark.parametrize(("argv", "says"), [
    (["init", "{d}"], "never overwrites"),
    (["init", "{d}", "--target", "https://x.test"], "--survey-id: expected the id of the survey on the target"),
    (["init", "{d}/new", "--target", "ftp://x.test", "--survey-id", "1"], "--target: expected an http(s) URL"),
])
def test_init_refuses_with_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                               says: str) -> None:
    (tmp_path / "scenario.toml").write_text("# mine\n")
    assert main([a.format(d=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err
    assert (tmp_path / "scenario.toml").read_text() == "# mine\n"  # untouched
    assert not (tmp_path / "surveys").exists()  # nothing written before the refusal


def test_personas_lists_all_twelve_with_what_they_need(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["personas"]) == 0
    out = capsys.readouterr().out
    assert "built-in personas (12, " in out
    for name in NAMES:
        assert f"\n  {name} " in out
    assert "expects: terminated" in out and "needs: answers" in out and "parameter max_pages" in out


def test_personas_of_a_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers import ROOT

    assert main(["personas", str(ROOT / "scenarios" / "smoke.toml")]) == 0
    out = capsys.readouterr().out
    assert "smoke.toml: 13 personas" in out and "chainer" in out and "expects = ['redirect']" in out


def test_personas_of_a_bad_scenario_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text("[scenario]\nsurveys = [")
    assert main(["personas", str(bad)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"loadtest {__version__}"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in _parser([])._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_subcommand_help_ends_with_examples(name: str) -> None:
    if name == "locust":  # its help is ours then Locust's (tests/e2e/test_cli_help.py)
        from loadtest.locust_driver.command import help_text

        text = help_text()
    else:
        text = _subcommands()[name].format_help()
    tail = text.rstrip().rsplit("examples:", 1)
    assert len(tail) == 2 and "loadtest " in tail[1], text
    assert all(line.startswith("  ") for line in tail[1].strip("\n").splitlines()), tail[1]


def test_run_help_shows_the_load_overrides() -> None:
    text = _subcommands()["run"].format_help()
    for option in ("-u N, --concurrency N", "--arrival-rate R", "--duration S", "--no-preflight"):
        assert option in text


def test_the_command_table_names_every_subcommand_each_module_adds() -> None:
    assert list(_subcommands()) == list(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_subcommand_builds_only_its_own_modules_parser(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    imported: list[str] = []
    real = importlib.import_module
    monkeypatch.setattr(cli.importlib, "import_module", lambda m: imported.append(m) or real(m))
    args = _parser([name]).parse_known_args([name, *REQUIRED.get(name, [])])[0]
    assert imported == [COMMANDS[name]] and args.command == name


REQUIRED = {"init": ["dir"], "run": ["s.toml"], "locust": ["s.toml"], "report": ["r"], "replay": ["r.jsonl"],
            "explore": ["s.toml"]}
