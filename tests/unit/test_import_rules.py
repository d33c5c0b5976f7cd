"""The import rules of loadtest/__init__.py, read from the source (every import, lazy ones too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "loadtest"

# A stage may import only stages of a lower rank (and itself). Equal ranks do not import each other.
RANK = {
    "local_defaults": 0, "gc_tuning": 0, "bundled": 0,
    "core": 1, "persona": 2,
    "survey": 2,
    "scenario": 3, "transport": 3, "checks": 3,
    "results": 4,
    "control": 5, "report": 5,
    "engine": 6, "locust_driver": 6, "replay": 6, "explore": 6,
    "cli": 7,
}
DRIVERS = {"engine", "locust_driver", "replay", "explore"}
PLATFORM_DOORS = {"loadtest.platform.embedded", "loadtest.platform.in_process"}
PLATFORM_MAY_IMPORT = {"core", "survey", "local_defaults", "bundled", "platform"}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, path))
    return out


def _imports(name: str, path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".")[: len(name.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join([*pkg, base] if base else pkg)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def _stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


MODULES = _modules()


def test_every_module_has_a_stage() -> None:
    unknown = {_stage(m) for m, _ in MODULES} - set(RANK) - {"platform", "__init__"}
    assert not unknown, f"add these to RANK and to loadtest/__init__.py's map: {unknown}"


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_follow_the_stages(module: str, path: Path) -> None:
    stage = _stage(module)
    problems = []
    for imported in sorted(_imports(module, path)):
        top = imported.split(".")[0]
        if top == "locust" and stage != "locust_driver":
            problems.append(f"imports {imported}: only locust_driver may import locust")
        if top != "loadtest" or imported == "loadtest":
            continue
        other = _stage(imported)
        if other == stage:
            continue
        if stage == "platform":
            if other not in PLATFORM_MAY_IMPORT:
                problems.append(f"imports {imported}: the platform imports core, survey, local_defaults and "
                                "bundled only")
            continue
        if other == "platform":
            if stage in DRIVERS and any(imported == d or imported.startswith(d + ".") for d in PLATFORM_DOORS):
                continue
            if stage == "cli" and imported in ("loadtest.platform", "loadtest.platform.command"):
                continue
            problems.append(f"imports {imported}: drivers reach the platform only through {sorted(PLATFORM_DOORS)}")
            continue
        if other in DRIVERS and stage != "cli":
            problems.append(f"imports {imported}: nothing imports a driver but cli")
            continue
        if stage == "core" and other != "core":
            problems.append(f"imports {imported}: core imports nothing of loadtest outside core")
            continue
        if RANK.get(other, 99) >= RANK.get(stage, -1):
            problems.append(f"imports {imported}: {stage} (rank {RANK.get(stage)}) may import only lower "
                            f"stages, not {other} (rank {RANK.get(other)})")
    assert not problems, f"{module}:\n  " + "\n  ".join(problems)


def test_the_checker_sees_a_violation() -> None:
    """The rules above are only worth something if a bad import is caught."""
    bad = _imports("loadtest.core.page", Path(__file__))  # this file imports pytest, not loadtest
    assert "pytest" in bad
    assert _stage("loadtest.engine.run") == "engine" and RANK["core"] < RANK["engine"]
