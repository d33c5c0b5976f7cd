"""pyproject.toml lists the packages (a `find` cannot see the mapped personas/ and scenarios/
folders): a package folder added under loadtest/ and not listed would be missing from the wheel."""

from __future__ import annotations

import tomllib

from loadtest.bundled import builtin_personas, example_surveys, examples_dir
from tests.helpers import ROOT


def test_every_package_folder_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "loadtest").rglob("__init__.py")}
    missing = sorted(folders - set(config["packages"]))
    assert not missing, f"add to [tool.setuptools] packages: {missing}"
    assert config["package-dir"] == {"loadtest.builtin_personas": "personas", "loadtest.examples": "scenarios"}


def test_the_checkout_finds_its_built_ins() -> None:
    assert len(builtin_personas()) == 12 and all(p.parent == ROOT / "personas" for p in builtin_personas().values())
    assert examples_dir() == ROOT / "scenarios"
    assert [p.name for p in example_surveys()] == ["customer_satisfaction.toml", "store_visit.toml"]
