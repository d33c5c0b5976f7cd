"""Where the built-in persona scripts and the example scenarios (with their surveys) are.

Installed, they are files inside the package: pyproject.toml maps `personas/` to
`loadtest/builtin_personas/` and `scenarios/` to `loadtest/examples/`. In a checkout (or an
editable install) they are the top-level `personas/` and `scenarios/` folders beside the package.
Either way they are found from any working directory, by name.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["builtin_personas", "example_surveys", "examples_dir", "personas_dir"]

PACKAGE = Path(__file__).resolve().parent


def _first(installed: Path, checkout: Path) -> Path:
    return installed if installed.is_dir() else checkout


def personas_dir() -> Path:
    """The folder of the built-in persona scripts, one file a persona."""
    return _first(PACKAGE / "builtin_personas", PACKAGE.parent / "personas")


def examples_dir() -> Path:
    """The folder of the example scenarios; their surveys are in its `surveys/`."""
    return _first(PACKAGE / "examples", PACKAGE.parent / "scenarios")


def example_surveys() -> list[Path]:
    return sorted((examples_dir() / "surveys").glob("*.toml"))


def builtin_personas() -> dict[str, Path]:
    """Persona name (the script's file name) -> script."""
    return {p.stem: p for p in sorted(personas_dir().glob("*.py")) if not p.stem.startswith("_")}
