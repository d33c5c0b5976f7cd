"""Every package's `__init__.py` docstring is its map: it names each of its modules (`name.py`) and
each of its sub-packages (`name/`), so a new file cannot land without a line saying what it does.

Only that direction is checked: a docstring may name a file of another package (`results/checkpoint.py`)
or one that is gone; a name counts for this package only when it is not part of a path.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "loadtest"

# `name.py` / `name/` on its own: not the tail of a longer name, nor of a path (`results/checkpoint.py`).
_MODULE = re.compile(r"(?<![\w/.*-])[A-Za-z_]\w*\.py(?!\w)")
_SUBPACKAGE = re.compile(r"(?<![\w/.*-])[A-Za-z_]\w*/")


def _packages() -> list[Path]:
    return sorted(init.parent for init in PACKAGE.rglob("__init__.py"))


def _docstring(package: Path) -> str:
    return ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""


def _modules(package: Path) -> list[str]:
    return sorted(p.name for p in package.glob("*.py") if p.name != "__init__.py")


def _subpackages(package: Path) -> list[str]:
    return sorted(f"{p.parent.name}/" for p in package.glob("*/__init__.py"))


def _unnamed(pattern: re.Pattern[str], present: Callable[[Path], list[str]]) -> str:
    """One line per package whose docstring leaves some of `present(package)` unnamed; "" when none."""
    lines = []
    for package in _packages():
        named = set(pattern.findall(_docstring(package)))
        missing = [name for name in present(package) if name not in named]
        if missing:
            lines.append(f"  {package.relative_to(PACKAGE.parent).as_posix()}/__init__.py: {', '.join(missing)}")
    return "\n".join(lines)


def test_the_source_tree_is_found() -> None:
    packages = _packages()
    assert PACKAGE in packages and len(packages) > 5, packages


def test_every_module_is_named_in_its_package_docstring() -> None:
    missing = _unnamed(_MODULE, _modules)
    assert not missing, f"modules not named in their package's docstring (add `- name.py: its job`):\n{missing}"


def test_every_subpackage_is_named_in_its_parent_docstring() -> None:
    missing = _unnamed(_SUBPACKAGE, _subpackages)
    assert not missing, f"sub-packages not named in their parent's docstring (add `- name/: its job`):\n{missing}"
