"""`loadtest personas [SCENARIO]`: what each persona does, read from the persona classes themselves.

Per persona: the first paragraph of its docstring (the class's, else its script's), the outcomes
it expects, the scenario parameters it needs (`requires`) and takes (`parameters`, beyond the
ones every persona takes), and which of its expectations hold only when the target has a rule
(`needs_target_rules`: a speeder needs a quality rule to be terminated).
"""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from loadtest.bundled import builtin_personas, personas_dir
from loadtest.core.persona import Persona
from loadtest.scenario.file import Scenario
from loadtest.scenario.persona_loader import load_persona

__all__ = ["PersonaInfo", "builtin_catalog", "describe", "print_catalog"]


@dataclass(frozen=True)
class PersonaInfo:
    name: str
    summary: str
    expects: tuple[str, ...]
    requires: tuple[str, ...]
    parameters: tuple[tuple[str, str], ...]  # (name, what it is), beyond the common ones
    needs_target_rules: tuple[str, ...]
    source: str


def _params(cls: type[Persona], skip: set[str]) -> tuple[tuple[str, str], ...]:
    declared: dict[str, Any] = dict(getattr(cls, "parameters", {}) or {})
    return tuple((name, _param_text(p)) for name, p in declared.items() if name not in skip)


def _param_text(p: Any) -> str:
    """A declared parameter: its help and default when it has them (core's Param), else as written."""
    help_text = getattr(p, "help", None)
    if help_text is None:
        return str(p)
    default = getattr(p, "default", None)
    return f"{help_text}" + (f" (default {default!r})" if default not in (None, {}, []) else "")


def _summary(cls: type[Persona], name: str) -> str:
    doc = cls.__doc__ or getattr(sys.modules.get(cls.__module__), "__doc__", None) or ""
    first = " ".join(doc.strip().split("\n\n")[0].split())
    head, sep, rest = first.partition(": ")
    if sep and "".join(c for c in head.lower() if c.isalnum()) == "".join(c for c in name if c.isalnum()):
        first = rest  # "Quota chaser: always picks ..." -> "always picks ..."
    return first or "(no description)"


def describe(cls: type[Persona], name: str | None = None, source: str = "") -> PersonaInfo:
    name = name or cls.name
    common = set(getattr(Persona, "parameters", {}) or {})
    return PersonaInfo(
        name=name, summary=_summary(cls, name), expects=tuple(sorted(cls.expects)), requires=tuple(cls.requires),
        parameters=_params(cls, common), needs_target_rules=tuple(getattr(cls, "needs_target_rules", ()) or ()),
        source=source)


def builtin_catalog() -> list[PersonaInfo]:
    return [describe(load_persona(path), name, "built-in") for name, path in builtin_personas().items()]


PAD = " " * 20


def _say(text: str, out: IO[str], first: str = PAD) -> None:
    print(textwrap.fill(text, 100, initial_indent=first, subsequent_indent=PAD + "  "), file=out)


def _block(info: PersonaInfo, out: IO[str]) -> None:
    _say(info.summary, out, first=f"  {info.name:<18}")
    line = f"expects: {', '.join(info.expects)}"
    if info.requires:
        line += f"; needs: {', '.join(info.requires)}"
    _say(line, out)
    for name, text in info.parameters:
        _say(f"parameter {name}: {text}", out)
    if info.needs_target_rules:
        _say(f"depends on the target having: {'; '.join(info.needs_target_rules)}", out)


def print_catalog(sc: Scenario | None, out: IO[str] = sys.stdout) -> int:
    builtins = builtin_catalog()
    print(f"built-in personas ({len(builtins)}, in {personas_dir()}):", file=out)
    for info in builtins:
        _block(info, out)
    common = getattr(Persona, "parameters", {}) or {}
    if common:
        print("parameters every persona takes (in its [personas.NAME] table):", file=out)
        for k, v in common.items():
            _say(f"{k}: {_param_text(v)}", out, first="  ")
    if sc is None:
        return 0
    print(f"\n{sc.path}: {len(sc.personas)} personas", file=out)
    own = {Path(p).resolve() for p in builtin_personas().values()}
    for entry in sc.personas:
        source = Path(sys.modules[entry.cls.__module__].__file__ or "")
        info = describe(entry.cls, entry.name, "built-in" if source.resolve() in own else str(source))
        set_here = {k: v for k, v in entry.params.items() if k not in ("think_scale",) and v not in ({}, None)}
        script = f"script {entry.cls.name}" + ("" if info.source == "built-in" else f" from {info.source}")
        print(f"  {entry.name:<18}weight {entry.weight}, survey {entry.survey_id}, {script}", file=out)
        if set_here:
            _say("set here: " + ", ".join(f"{k} = {v!r}" for k, v in set_here.items()), out)
        if info.source != "built-in":
            _block(info, out)
    return 0
