"""Load persona scripts by path, like a locustfile: each file defines one Persona subclass."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from loadtest.core.persona import Persona

__all__ = ["PersonaScriptError", "load_persona"]

_loaded: dict[Path, type[Persona]] = {}


class PersonaScriptError(ValueError):
    """A persona script that cannot be used (missing, does not import, no or several personas)."""


def load_persona(path: Path) -> type[Persona]:
    path = path.resolve()
    if path in _loaded:
        return _loaded[path]
    if not path.is_file():
        raise PersonaScriptError(f"no persona script at {path}")
    module_name = f"loadtest_persona_{path.stem}_{abs(hash(path)) & 0xFFFFFF:x}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PersonaScriptError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise PersonaScriptError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from None
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, Persona) and v.__module__ == module_name]
    if len(found) != 1:
        raise PersonaScriptError(f"{path}: expected exactly one Persona subclass, found {len(found)}")
    _loaded[path] = found[0]
    return found[0]
